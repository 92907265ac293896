package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
)

// benchCSV returns n rows shaped like a CRM export.
func benchCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Email,First name,Last name,Company,Country,Job title,Phone,City,Notes\n")
	for i := range n {
		fmt.Fprintf(&b, "Person.Number%d@Example-%d.com,Päivi,Mäkinen,\"Company %d, Oy\",Suomi,CEO,+358 40 %07d,Helsinki,met at fair\n",
			i, i%5000, i/3, i)
	}
	return b.Bytes()
}

// BenchmarkImport measures the whole pipeline (decode, parse, normalise, write with
// provenance) into a real SQLite file: a fresh import of 100,000 rows, then a re-import of the
// same rows, per iteration. Rows/s is reported per phase.
func BenchmarkImport(b *testing.B) {
	const rows = 100_000
	data := benchCSV(rows)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, phase := range []string{"fresh", "reimport"} {
			rep, err := importer.Import(ctx, db, bytes.NewReader(data), importer.Options{Source: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rep.RowsPerS, phase+"-rows/s")
		}
		db.Close()
	}
}
