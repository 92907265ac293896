// Package leadmailer holds the domain types shared by every part of leadmailer: leads, the
// fields they are made of, import runs and the provenance observations that say where each
// value came from, and the error type that carries a code. It imports nothing of ours, so every
// other package can depend on it; it holds no state and is safe for concurrent use.
package leadmailer

import (
	"strings"
	"time"
)

// Field names one piece of data a lead holds. The order is fixed: it is the order of the
// values in an encoded observation, so new fields go at the end.
type Field int

// The lead fields. The privacy policy needs only e-mail, name, company and country; the rest
// are optional business contact details that marketing teams commonly keep.
const (
	FieldEmail Field = iota
	FieldName
	FieldCompany
	FieldCountry
	FieldBusinessID
	FieldJobTitle
	FieldWebsite
	FieldPhone
	FieldCity
	NumFields int = iota
)

var fieldNames = [NumFields]string{
	"email", "name", "company", "country", "business_id", "job_title", "website", "phone", "city",
}

// fieldMaxLen bounds each field so that one bad row cannot store a megabyte in a name.
var fieldMaxLen = [NumFields]int{254, 200, 200, 2, 64, 200, 500, 50, 100}

// String returns the field's name as used in CSV headers, --map, JSON and the database.
func (f Field) String() string {
	if f < 0 || int(f) >= NumFields {
		return "unknown"
	}
	return fieldNames[f]
}

// MaxLen is the longest value, in characters, the field accepts.
func (f Field) MaxLen() int { return fieldMaxLen[f] }

// ParseField returns the field called name (as String returns it).
func ParseField(name string) (Field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// AllFields lists every field in their fixed order.
func AllFields() []Field {
	fs := make([]Field, NumFields)
	for i := range fs {
		fs[i] = Field(i)
	}
	return fs
}

// FieldSet is a set of fields, for example the fields one imported row supplied.
type FieldSet uint32

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return s&(1<<f) != 0 }

// With returns the set with f added.
func (s FieldSet) With(f Field) FieldSet { return s | 1<<f }

// Fields lists the set's fields in their fixed order.
func (s FieldSet) Fields() []Field {
	var fs []Field
	for i := range NumFields {
		if s.Has(Field(i)) {
			fs = append(fs, Field(i))
		}
	}
	return fs
}

// Names lists the set's field names in their fixed order.
func (s FieldSet) Names() []string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.String())
	}
	return names
}

// Values holds one value per field, indexed by Field.
type Values [NumFields]string

// receivedSep separates values in an encoded observation. A unit separator is a control
// character, which validation never lets into a stored value, so it cannot collide.
const receivedSep = "\x1f"

// Encode joins the values of the fields in set into one compact string: provenance keeps one
// observation per imported row, so a JSON object per row would double the database's size.
func (v *Values) Encode(set FieldSet) string {
	var b strings.Builder
	first := true
	for i := range NumFields {
		if !set.Has(Field(i)) {
			continue
		}
		if !first {
			b.WriteString(receivedSep)
		}
		first = false
		b.WriteString(v[i])
	}
	return b.String()
}

// DecodeValues reverses Encode.
func DecodeValues(set FieldSet, s string) Values {
	var v Values
	parts := strings.Split(s, receivedSep)
	for i, f := range set.Fields() {
		if i < len(parts) {
			v[f] = parts[i]
		}
	}
	return v
}

// LeadState says whether a lead may be used for marketing.
type LeadState string

// Lead states. An inactive lead is kept but never mailed; erasure deletes the lead outright.
const (
	LeadActive   LeadState = "active"
	LeadInactive LeadState = "inactive"
)

// Lead is a representative of a company that marketing may contact.
type Lead struct {
	ID         int64     `json:"id"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Company    string    `json:"company"`
	Country    string    `json:"country"`
	BusinessID string    `json:"business_id,omitempty"`
	JobTitle   string    `json:"job_title,omitempty"`
	Website    string    `json:"website,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	City       string    `json:"city,omitempty"`
	State      LeadState `json:"state"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`

	// FirstRunID is the import run that created the lead; it never changes.
	FirstRunID int64 `json:"first_run_id"`
	// FieldRuns holds, per field, the import run that supplied the current value (0: none).
	FieldRuns [NumFields]int64 `json:"-"`
}

// Value returns the lead's value of f.
func (l *Lead) Value(f Field) string { return *l.field(f) }

// SetValue sets the lead's value of f.
func (l *Lead) SetValue(f Field, v string) { *l.field(f) = v }

func (l *Lead) field(f Field) *string {
	switch f {
	case FieldEmail:
		return &l.Email
	case FieldName:
		return &l.Name
	case FieldCompany:
		return &l.Company
	case FieldCountry:
		return &l.Country
	case FieldBusinessID:
		return &l.BusinessID
	case FieldJobTitle:
		return &l.JobTitle
	case FieldWebsite:
		return &l.Website
	case FieldPhone:
		return &l.Phone
	case FieldCity:
		return &l.City
	}
	panic("leadmailer: unknown field " + f.String())
}

// FirstName is the first word of the lead's name, for greetings; empty when the name is.
func (l *Lead) FirstName() string {
	name := strings.TrimSpace(l.Name)
	if i := strings.IndexAny(name, " \t"); i >= 0 {
		return name[:i]
	}
	return name
}
