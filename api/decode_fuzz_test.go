package api

import (
	"net/http"
	"testing"
)

// FuzzDecodeBatch feeds any body to the batch decoder: it must never panic, and must either
// refuse the body with an error in the one shape or give one record per lead, each refused
// lead listed once by an index inside the batch.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		`{"leads": [{"email": "anna@virta.fi", "name": "Anna"}]}`,
		`{"leads": [{"email": "a@b.fi", "nickname": 1}, "x", null, 12, [], {"name": {"a": 1}}]}`,
		`{"leads": {}}`, `{"leads": [], "x": 1}`, `[]`, `{"leads": [`, ``, `{"leads": []} 1`,
	} {
		f.Add([]byte(seed))
	}
	s := New(nil, Options{MaxBatch: 50})
	f.Fuzz(func(t *testing.T, body []byte) {
		res := upsertResult{}
		records, err := s.decodeBatch(body, &res)
		if err != nil {
			status, d := describe(err)
			if status != http.StatusBadRequest || d.Code != "invalid" || d.Message == "" {
				t.Fatalf("refusal %d %+v, want 400 invalid with a message", status, d)
			}
			return
		}
		if len(records) > 50 {
			t.Fatalf("%d records, more than MaxBatch", len(records))
		}
		seen := map[int]bool{}
		for _, e := range res.Errors {
			if e.Index < 0 || e.Index >= len(records) || seen[e.Index] || records[e.Index].Err == "" {
				t.Fatalf("row error %+v does not name one refused lead of %d", e, len(records))
			}
			seen[e.Index] = true
		}
	})
}
