package store_test

import (
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestRemoveSuppression removes an administrator's entries and refuses to remove an
// objection, a complaint and an erasure's entry, which must outlive any change of mind on
// the sender's side.
func TestRemoveSuppression(t *testing.T) {
	ctx := t.Context()
	db := storetest.Open(t, nil)
	importRows(t, db, "crm", false, []leadmailer.ImportRow{row(2, "email", "erased@virta.fi")})
	for _, e := range []store.SuppressionEntry{
		{Kind: store.SuppressDomain, Value: "partner.example", Reason: "a partner"},
		{Kind: store.SuppressBusinessID, Value: "FI 1234567-8", Reason: "asked by phone"},
		{Kind: store.SuppressAddress, Value: "objector@virta.fi", Origin: store.OriginObjection, Reason: "objected to direct marketing"},
		{Kind: store.SuppressAddress, Value: "complainer@virta.fi", Origin: store.OriginObjection, Reason: "complaint"},
	} {
		if _, err := db.Suppress(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.EraseLead(ctx, "erased@virta.fi", "erasure request"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		entry store.SuppressionEntry
		want  string // error code; "" removes it
	}{
		{"domain", store.SuppressionEntry{Kind: store.SuppressDomain, Value: "@Partner.Example"}, ""},
		{"business ID written otherwise", store.SuppressionEntry{Kind: store.SuppressBusinessID, Value: "fi1234567-8"}, ""},
		{"removed already", store.SuppressionEntry{Kind: store.SuppressDomain, Value: "partner.example"}, leadmailer.ENOTFOUND},
		{"objection", store.SuppressionEntry{Kind: store.SuppressAddress, Value: "objector@virta.fi"}, leadmailer.ECONFLICT},
		{"complaint", store.SuppressionEntry{Kind: store.SuppressAddress, Value: "Complainer@virta.fi"}, leadmailer.ECONFLICT},
		{"erasure", store.SuppressionEntry{Kind: store.SuppressAddress, Value: "erased@virta.fi"}, leadmailer.ECONFLICT},
		{"not a domain", store.SuppressionEntry{Kind: store.SuppressDomain, Value: "not a domain"}, leadmailer.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hash, err := db.EntryHash(tc.entry)
			if tc.want == leadmailer.EINVALID {
				hash = ""
			} else if err != nil {
				t.Fatal(err)
			}
			_, existed := db.FindSuppression(ctx, hash)
			removed, err := db.RemoveSuppression(ctx, tc.entry)
			if got := leadmailer.ErrorCode(err); got != tc.want {
				t.Fatalf("remove: code %q (%v), want %q", got, err, tc.want)
			}
			_, after := db.FindSuppression(ctx, hash)
			switch {
			case tc.want == "" && (removed.Hash != hash || leadmailer.ErrorCode(after) != leadmailer.ENOTFOUND):
				t.Errorf("removed %+v, then found: %v; want the entry gone", removed, after)
			case tc.want == leadmailer.ECONFLICT && (existed != nil || after != nil):
				t.Errorf("a refused removal: before %v, after %v; want the entry kept", existed, after)
			}
		})
	}
}
