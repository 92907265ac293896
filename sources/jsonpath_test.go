package sources

import (
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

func TestLookup(t *testing.T) {
	root, err := decodeJSON([]byte(`{"data": {"items": [{"id": 7, "contact": {"emails": ["a@x.fi", "b@x.fi"]}, "ok": true, "none": null}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		want   string
		found  bool
		errHas string
	}{
		{"data.items.0.id", "7", true, ""},
		{"data.items.0.contact.emails.1", "b@x.fi", true, ""},
		{"data.items.0.ok", "true", true, ""},
		{"data.items.0.none", "", true, ""},
		{"data.items.0.contact", "", true, "holds an object"},
		{"data.items.0.contact.emails", "", true, "holds an array"},
		{"data.items.1.id", "", false, ""},
		{"data.items.-1.id", "", false, ""},
		{"data.items.x", "", false, ""},
		{"data.items.0.id.deeper", "", false, ""},
		{"missing", "", false, ""},
	}
	for _, tc := range tests {
		v, ok := lookup(root, tc.path)
		if ok != tc.found {
			t.Errorf("lookup(%q) found = %v, want %v", tc.path, ok, tc.found)
			continue
		}
		if !ok {
			continue
		}
		got, err := text(v)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("text(%q) error = %v, want %q", tc.path, err, tc.errHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("text(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}

func TestDecodeJSONRejectsTrailingData(t *testing.T) {
	for _, body := range []string{``, `{"a": 1} x`, `{"a": 1}{"b": 2}`, `{"a": `, `<html>`} {
		if _, err := decodeJSON([]byte(body)); err == nil {
			t.Errorf("decodeJSON(%q): no error", body)
		}
	}
	if _, err := decodeJSON([]byte(" {\"a\": 1}\n\n")); err != nil {
		t.Errorf("white space after the document: %v", err)
	}
}

// FuzzJSONRecords feeds arbitrary bodies and paths through the record extraction: it must
// never panic, and every record it yields either has an error or holds only values.
func FuzzJSONRecords(f *testing.F) {
	f.Add([]byte(`{"results": [{"id": "1", "c": {"e": ["a@x.fi"]}}]}`), "results", "c.e.0", "id")
	f.Add([]byte(`[{"id": 1}, 2, null, "x", [1]]`), "", "id", "id")
	f.Add([]byte(`{"a": {"b": [[{"c": 1.5e3}]]}}`), "a.b.0", "c", "c")
	f.Add([]byte(`{"results": null}`), "results", "x", "")
	f.Add([]byte(`{"results": {"0": []}}`), "results.0", "..", "0.0")
	f.Fuzz(func(t *testing.T, body []byte, recordsPath, fieldPath, idPath string) {
		root, err := decodeJSON(body)
		if err != nil {
			return
		}
		recs, err := pageRecords(root, recordsPath)
		if err != nil {
			return
		}
		fields := map[leadmailer.Field]string{leadmailer.FieldEmail: fieldPath, leadmailer.FieldCompany: "name"}
		for _, v := range recs {
			r := jsonRecord(v, fields, idPath)
			if r.Err != "" {
				continue
			}
			if _, isObj := v.(map[string]any); !isObj {
				t.Fatalf("a %s record was accepted", kindOf(v))
			}
			if want, ok := lookup(v, fieldPath); ok {
				s, err := text(want)
				if err != nil || s != r.Raw[leadmailer.FieldEmail] {
					t.Fatalf("email = %q, but the path holds %v", r.Raw[leadmailer.FieldEmail], want)
				}
			} else if r.Raw[leadmailer.FieldEmail] != "" {
				t.Fatalf("email = %q from a path that does not exist", r.Raw[leadmailer.FieldEmail])
			}
		}
	})
}
