package importer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/leadmailer/leadmailer"
	"golang.org/x/text/unicode/norm"
)

// target is where one input column goes: a lead field, or one half of a name split in two.
type target int

// Targets below zero are not lead fields; 0 and up are leadmailer.Field values.
const (
	ignore    target = -1
	firstName target = -2
	lastName  target = -3
)

// aliases maps a folded header (see foldHeader) to its target. Headers come from CRMs, Excel
// sheets and registry exports in English, Finnish, Swedish and German.
var aliases = map[string]target{}

func init() {
	add := func(t target, names ...string) {
		for _, n := range names {
			aliases[foldHeader(n)] = t
		}
	}
	add(target(leadmailer.FieldEmail), "email", "e-mail", "email address", "e-mail address", "mail",
		"work email", "business email", "contact email", "sähköposti", "sähköpostiosoite", "säpo",
		"e-post", "e-postadress", "epost", "mejl", "e-mail-adresse", "emailadresse", "courriel")
	add(target(leadmailer.FieldName), "name", "full name", "contact name", "contact", "person",
		"nimi", "koko nimi", "yhteyshenkilö", "namn", "kontaktperson", "ansprechpartner")
	add(firstName, "first name", "firstname", "given name", "forename", "etunimi", "förnamn", "vorname")
	add(lastName, "last name", "lastname", "surname", "family name", "sukunimi", "efternamn", "nachname")
	add(target(leadmailer.FieldCompany), "company", "company name", "organisation", "organization",
		"organisation name", "organization name", "business name", "account", "account name", "employer",
		"yritys", "yrityksen nimi", "yhtiö", "toiminimi", "organisaatio", "företag", "företagsnamn",
		"bolag", "firma", "firmenname", "unternehmen")
	add(target(leadmailer.FieldCountry), "country", "country code", "country name", "maa", "valtio",
		"land", "landskod", "staat")
	add(target(leadmailer.FieldBusinessID), "business id", "businessid", "y-tunnus", "ytunnus",
		"vat id", "vat number", "company id", "registration number", "company number",
		"organisationsnummer", "org nr", "orgnr", "handelsregisternummer")
	add(target(leadmailer.FieldJobTitle), "job title", "title", "position", "role", "titteli",
		"tehtävänimike", "asema", "befattning", "titel", "position title")
	add(target(leadmailer.FieldWebsite), "website", "web site", "web", "url", "homepage", "www",
		"kotisivu", "verkkosivu", "verkkosivut", "webbplats", "hemsida", "webseite")
	add(target(leadmailer.FieldPhone), "phone", "phone number", "telephone", "tel", "mobile",
		"mobile phone", "puhelin", "puhelinnumero", "matkapuhelin", "telefon", "telefonnummer")
	add(target(leadmailer.FieldCity), "city", "town", "kaupunki", "paikkakunta", "kotipaikka", "ort",
		"stad", "stadt", "postitoimipaikka")
}

// foldHeader makes header matching ignore case, spaces, punctuation and diacritics, so that
// "E-mail", "EMAIL ADDRESS" and "Sähköposti" find their field however a tool spelled them.
func foldHeader(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// targetName names a target for messages and reports.
func targetName(t target) string {
	switch t {
	case firstName:
		return "name (first name)"
	case lastName:
		return "name (last name)"
	case ignore:
		return "-"
	}
	return leadmailer.Field(t).String()
}

// parseTarget reads the field side of --map.
func parseTarget(s string) (target, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "-", "ignore", "skip":
		return ignore, true
	case "first_name", "firstname":
		return firstName, true
	case "last_name", "lastname":
		return lastName, true
	}
	f, ok := leadmailer.ParseField(strings.ToLower(strings.TrimSpace(s)))
	return target(f), ok
}

// Column is one input column and where its values go.
type Column struct {
	Index  int    `json:"index"`
	Header string `json:"header"`
	Field  string `json:"field"` // "-" when not stored
}

// mapping says, per input column, where its values go.
type mapping struct {
	targets  []target
	columns  []Column
	unmapped []string
}

// ParseMap reads --map values of the form 'Header=field' into a map from header to field.
func ParseMap(specs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, spec := range specs {
		header, field, ok := strings.Cut(spec, "=")
		if !ok || strings.TrimSpace(header) == "" {
			return nil, fmt.Errorf("--map %q: write it as 'Header=field', e.g. 'Sähköposti=email'", spec)
		}
		if _, ok := parseTarget(field); !ok {
			return nil, fmt.Errorf("--map %q: unknown field %q; fields are %s, first_name, last_name, or - to skip the column",
				spec, field, strings.Join(fieldNames(), ", "))
		}
		m[strings.TrimSpace(header)] = field
	}
	return m, nil
}

func fieldNames() []string {
	var names []string
	for _, f := range leadmailer.AllFields() {
		names = append(names, f.String())
	}
	return names
}

// mapHeader decides where each column goes: --map overrides first, then the aliases. It fails
// when there is no e-mail column or two columns claim one field, naming the columns to fix.
func mapHeader(header []string, overrides map[string]string) (*mapping, error) {
	m := &mapping{targets: make([]target, len(header))}
	claimed := map[target]int{}
	folded := map[string]string{} // folded header -> field, from --map
	for h, field := range overrides {
		folded[foldHeader(h)] = field
	}
	used := map[string]bool{}
	for i, h := range header {
		key := foldHeader(h)
		t, ok := aliases[key]
		if field, over := folded[key]; over {
			t, _ = parseTarget(field)
			ok = true
			used[key] = true
		}
		if !ok || t == ignore {
			m.targets[i] = ignore
			m.columns = append(m.columns, Column{Index: i + 1, Header: h, Field: "-"})
			m.unmapped = append(m.unmapped, h)
			continue
		}
		if prev, dup := claimed[t]; dup {
			return nil, fmt.Errorf("columns %d (%q) and %d (%q) both map to %s; choose one with --map '%s=-'",
				prev+1, header[prev], i+1, h, targetName(t), h)
		}
		claimed[t] = i
		m.targets[i] = t
		m.columns = append(m.columns, Column{Index: i + 1, Header: h, Field: targetName(t)})
	}
	for h := range overrides {
		if !used[foldHeader(h)] {
			return nil, fmt.Errorf("--map names a column %q that the header does not have; the header is: %s",
				h, quoteAll(header))
		}
	}
	if _, ok := claimed[target(leadmailer.FieldEmail)]; !ok {
		return nil, fmt.Errorf("no e-mail column found; the header is: %s. Name the column with --map 'Header=email'",
			quoteAll(header))
	}
	_, hasName := claimed[target(leadmailer.FieldName)]
	_, hasFirst := claimed[firstName]
	_, hasLast := claimed[lastName]
	if hasName && (hasFirst || hasLast) {
		return nil, fmt.Errorf("the file has both a full-name column and first/last-name columns; skip one with --map 'Header=-'")
	}
	sort.Strings(m.unmapped)
	return m, nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
