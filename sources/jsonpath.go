package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

// decodeJSON decodes one JSON document, keeping numbers as written. Anything after the
// document other than white space is an error: a body with trailing garbage is not trusted.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the body is empty, not JSON")
		}
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed JSON: more data after the document")
	}
	return v, nil
}

// lookup follows a dotted path such as "contacts.0.email" through decoded JSON: a segment
// names a key of an object, or, when it is a number, an element of an array. The empty path
// is v itself.
func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// kindOf names a decoded JSON value's type for messages.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// text renders a JSON scalar as a lead value: strings as they are, numbers as written,
// booleans as true/false, null as nothing. Objects and arrays are not values.
func text(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("holds %s, not a value", kindOf(v))
}

// pageRecords returns the records array of a decoded JSON page. A page whose records path
// leads nowhere, or to something other than an array, means the source changed its format.
func pageRecords(root any, recordsPath string) ([]any, error) {
	v, ok := lookup(root, recordsPath)
	if !ok {
		if m, isObj := root.(map[string]any); isObj {
			return nil, fmt.Errorf("records = %q: the page has no such path; its top-level keys are %s", recordsPath, keysOf(m))
		}
		return nil, fmt.Errorf("records = %q: the page has no such path; the page is %s", recordsPath, kindOf(root))
	}
	recs, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil // "results": null on an empty last page
		}
		return nil, fmt.Errorf("records = %q: the path holds %s, not an array of records", recordsPath, kindOf(v))
	}
	return recs, nil
}

func keysOf(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	if len(keys) > 10 {
		keys = append(keys[:10], "...")
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// jsonRecord picks a source's fields out of one JSON record. A record that is not an object,
// or a mapped path holding an object or array, yields a record to reject with the reason.
func jsonRecord(v any, fields map[leadmailer.Field]string, idField string) *importer.Record {
	r := &importer.Record{}
	obj, ok := v.(map[string]any)
	if !ok {
		r.Err = fmt.Sprintf("the record is %s, not an object", kindOf(v))
		return r
	}
	if idField != "" {
		if id, ok := lookup(obj, idField); ok {
			s, err := text(id)
			if err != nil {
				r.Err = fmt.Sprintf("id_field %q %v", idField, err)
				return r
			}
			r.ID = s
		}
	}
	for f, path := range fields {
		val, ok := lookup(obj, path)
		if !ok {
			continue // an absent value supplies nothing, as an empty CSV cell
		}
		s, err := text(val)
		if err != nil {
			r.Err = fmt.Sprintf("fields.%s = %q %v", f, path, err)
			return r
		}
		r.Raw[f] = s
	}
	return r
}
