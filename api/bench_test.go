//go:build unix

package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"golang.org/x/time/rate"
)

// BenchmarkUpsertBatch pushes new leads through the API over real HTTP in batches of 1,000,
// one call after another as a CRM sync would, and reports leads stored per second and the
// process's peak RSS (which includes the test binary and the server):
//
//	go test -run '^$' -bench UpsertBatch -benchtime 50x ./api/
func BenchmarkUpsertBatch(b *testing.B) {
	const size = 1000
	a := start(b, api.Options{Rate: rate.Inf})
	tok := a.token("crm", leadmailer.RoleMarketer, nil)
	client := &http.Client{}
	n := 0
	for b.Loop() {
		b.StopTimer()
		body, err := json.Marshal(leadBatch(n*size, size))
		if err != nil {
			b.Fatal(err)
		}
		n++
		req, _ := http.NewRequest("POST", a.url+"/api/v1/leads", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		b.StartTimer()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("batch %d: %d %s", n, resp.StatusCode, out)
		}
	}
	b.ReportMetric(float64(n*size)/b.Elapsed().Seconds(), "leads/s")
	b.ReportMetric(0, "ns/op")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB") // Maxrss is in KiB on Linux
	}
	if got, err := a.db.CountLeads(b.Context()); err != nil || got != int64(n*size) {
		b.Fatalf("stored %d leads, %v; want %d", got, err, n*size)
	}
}
