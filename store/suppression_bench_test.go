package store

import (
	"fmt"
	"testing"

	"github.com/leadmailer/leadmailer"
)

// BenchmarkRowSuppressed measures the import's per-row suppression check: by address only
// (no domain or business-ID entry exists, the common case), and with such entries, for rows
// with 5,000 distinct domains and a business ID each.
func BenchmarkRowSuppressed(b *testing.B) {
	db := &DB{suppressionKey: []byte("bench-key-of-thirty-two-bytes-xx")}
	rows := make([]leadmailer.ImportRow, 10_000)
	for i := range rows {
		r := &rows[i]
		r.Values[leadmailer.FieldEmail] = fmt.Sprintf("person%d@company-%d.example", i, i%5000)
		r.Values[leadmailer.FieldBusinessID] = fmt.Sprintf("FI%07d-%d", i, i%10)
		r.EmailHash = db.SuppressionHash(r.Values[leadmailer.FieldEmail])
	}
	for _, org := range []bool{false, true} {
		b.Run(fmt.Sprintf("org=%v", org), func(b *testing.B) {
			w := &ImportWriter{db: db, suppressed: map[string]struct{}{db.SuppressionHash("x@y.example"): {}}, orgSuppressed: org}
			if org {
				w.suppressed[db.domainHash("blocked.example")] = struct{}{}
				w.suppressed[db.businessIDHash("FI1234567-8")] = struct{}{}
			}
			n := 0
			for b.Loop() {
				if w.rowSuppressed(&rows[n%len(rows)]) {
					b.Fatal("no row is suppressed")
				}
				n++
			}
		})
	}
}
