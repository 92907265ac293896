package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// TestServeOffersMetricsAndProbes runs serve with [metrics] listen: the metrics listener
// reports the campaign serve sent and the web app's requests by route, both addresses answer
// the probes, and the web app's own address does not serve the metrics.
func TestServeOffersMetricsAndProbes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	smtp := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	metricsAddr := freeAddr(t)
	writeConfig(t, data, senderConfig(smtp.URL(), "\n[metrics]\nlisten = \""+metricsAddr+"\"\n"))
	csv := writeFile(t, t.TempDir(), "people.csv", "Email,Name,Company,Country\nanna@example.com,Anna Virtanen,Virtanen Oy,FI\nbo@example.com,Bo Ek,Ek Ab,SE\n")
	lm(t, data, "import", csv, "--source", "fair")
	id := createCampaign(t, data, "--at", time.Now().UTC().Format(time.RFC3339))

	c := startServing(t, data)
	base := c.base
	until := func(what string, cond func() bool) { t.Helper(); c.until(t, what, cond) }
	until("metrics address printed", func() bool {
		return strings.Contains(c.stdout.String(), "Serving metrics on http://"+metricsAddr+"/metrics")
	})
	until("campaign sent", func() bool { return smtp.Count() == 2 })

	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	get(base + "/login")
	for _, u := range []string{base + "/healthz", "http://" + metricsAddr + "/healthz"} {
		if code, body := get(u); code != http.StatusOK || body != "ok\n" {
			t.Errorf("GET %s: %d %q, want 200 ok", u, code, body)
		}
	}
	for _, u := range []string{base + "/readyz", "http://" + metricsAddr + "/readyz"} {
		if code, body := get(u); code != http.StatusOK || !strings.Contains(body, `"database":"ok"`) {
			t.Errorf("GET %s: %d %s, want ready", u, code, body)
		}
	}
	if code, _ := get(base + "/metrics"); code != http.StatusNotFound {
		t.Errorf("the web app's address serves /metrics (%d) although [metrics] listen is set", code)
	}

	// The campaign's outcomes are committed just after the relay accepts the messages.
	var text string
	until("the sends counted", func() bool {
		_, text = get("http://" + metricsAddr + "/metrics")
		return strings.Contains(text, `leadmailer_campaign_messages_total{campaign="`+strconv.FormatInt(id, 10)+`",outcome="sent"} 2`)
	})
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	for _, want := range []string{
		`leadmailer_import_rows_total{kind="upload",source="upload"} 2`,
		`leadmailer_leads{state="active"} 2`,
		`leadmailer_http_request_duration_seconds_count{code="200",method="GET",route="/login"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if families["process_resident_memory_bytes"] == nil {
		t.Error("/metrics lacks the process's own metrics")
	}

	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != exitOK {
		t.Fatalf("serve after SIGTERM: exit %d\nstderr:\n%s", code, c.stderr.String())
	}
}
