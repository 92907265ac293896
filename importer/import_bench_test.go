package importer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"testing"

	"github.com/gocarina/gocsv"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store/storetest"
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
// provenance) into each database, a new one per iteration (on SQLite a real file): a fresh
// import of 100,000 rows, then a re-import of the same rows. Rows/s is reported per phase;
// ns/row and cpu-ns/row (user + system CPU time of this process, both goroutines) per row
// imported. On PostgreSQL cpu-ns/row is leadmailer's own share only, the server's CPU is not in
// it: the figure to watch when the client's work changes. On a machine shared with other work,
// compare designs by cpu-ns/row: wall time depends on what else runs.
func BenchmarkImport(b *testing.B) {
	const rows = 100_000
	data := benchCSV(rows)
	ctx := context.Background()
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpu0 := processCPU()
			for b.Loop() {
				b.StopTimer()
				db := backend.Open(b, nil)
				b.StartTimer()
				for _, phase := range []string{"fresh", "reimport"} {
					rep, err := importer.Import(ctx, db, bytes.NewReader(data), importer.Options{Source: "bench"})
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(rep.RowsPerS, phase+"-rows/s")
				}
				db.Close()
			}
			imported := float64(b.N * 2 * rows)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/imported, "ns/row")
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/imported, "cpu-ns/row")
			}
		})
	}
}

// csvRow is the struct gocsv would map the benchmark rows into.
type csvRow struct {
	Email     string `csv:"Email"`
	FirstName string `csv:"First name"`
	LastName  string `csv:"Last name"`
	Company   string `csv:"Company"`
	Country   string `csv:"Country"`
	JobTitle  string `csv:"Job title"`
	Phone     string `csv:"Phone"`
	City      string `csv:"City"`
}

// BenchmarkReadCSV compares reading the import rows with gocsv's struct mapping against
// encoding/csv with a reused record, which the importer uses: headers are matched at run time
// through aliases and --map, which struct tags cannot express, and the plain reader is faster.
func BenchmarkReadCSV(b *testing.B) {
	data := benchCSV(100_000)
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r := csv.NewReader(bytes.NewReader(data))
			r.ReuseRecord = true
			n := 0
			for {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n += len(rec)
			}
		}
	})
	b.Run("gocsv-callback", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			n := 0
			err := gocsv.UnmarshalToCallback(bytes.NewReader(data), func(r csvRow) { n += len(r.Email) })
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
