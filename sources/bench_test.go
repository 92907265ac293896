package sources_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/sources"
	"github.com/leadmailer/leadmailer/store"
)

// BenchmarkHTTPJSONSource measures a scheduled run of a paged JSON API served in-process:
// 100 pages of 1,000 records, fetched, spooled, validated and written with provenance into
// a fresh SQLite file. Run with -benchtime=1x; rows/s covers the whole run.
func BenchmarkHTTPJSONSource(b *testing.B) {
	const pages, perPage = 100, 1000
	body := make([][]byte, pages+1)
	for p := 1; p <= pages; p++ {
		var buf bytes.Buffer
		buf.WriteString(`{"results": [`)
		for i := range perPage {
			if i > 0 {
				buf.WriteByte(',')
			}
			n := (p-1)*perPage + i
			fmt.Fprintf(&buf, `{"businessId": "%07d-%d", "name": "Company %d Oy", "contact": {"emails": ["info%d@company%d.fi"]}, "address": {"city": "Helsinki", "country": "Suomi"}}`,
				n, n%10, n, n, n%5000)
		}
		buf.WriteString(`]}`)
		body[p] = buf.Bytes()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if p >= 1 && p <= pages {
			w.Write(body[p])
			return
		}
		w.Write([]byte(`{"results": []}`))
	}))
	defer srv.Close()
	src := jsonSource(srv.URL + "/?page=1")
	src.Headers, src.PageParam, src.Rate = nil, "page", 1e6
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r := &sources.Runner{Store: db, Actor: "bench", TempDir: b.TempDir(), Sleep: func(context.Context, time.Duration) error { return nil }}
		start := time.Now()
		results, err := r.Run(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		run := results[0].Report.Run
		if run.Counts.Inserted != pages*perPage {
			b.Fatalf("inserted %d, want %d", run.Counts.Inserted, pages*perPage)
		}
		b.ReportMetric(float64(run.Counts.Read)/time.Since(start).Seconds(), "rows/s")
		db.Close()
	}
}
