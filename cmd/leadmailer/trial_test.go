package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

// TestTrialOnThisMachineSends: a public_url of plain http on this machine, which the
// configuration accepts with a warning to try leadmailer out, sends the campaign to the
// outbox. Every message used to fail, and the breaker paused the campaign blaming a relay
// that was not there.
func TestTrialOnThisMachineSends(t *testing.T) {
	const n = 30
	data := filepath.Join(t.TempDir(), "data")
	conf := strings.Replace(senderConfig("", ""), `public_url = "https://leads.focus.example"`, `public_url = "http://127.0.0.1:8080"`, 1)
	writeConfig(t, data, conf)
	bulkLeads(t, data, n)
	id := fmt.Sprint(createCampaign(t, data))
	out := lm(t, data, "campaigns", "send", id).stdout
	mustContain(t, "campaigns send", out, fmt.Sprintf("%d sent, 0 failed", n))
	var v campaignView
	lmJSON(t, data, &v, "campaigns", "show", id, "--json")
	if v.State != leadmailer.CampaignFinished {
		t.Errorf("campaign %s (%q), want finished", v.State, v.Reason)
	}
	emls, _ := filepath.Glob(filepath.Join(data, "outbox", "*.eml"))
	if len(emls) != n {
		t.Fatalf("%d messages in the outbox, want %d", len(emls), n)
	}
	b, err := os.ReadFile(emls[0])
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, emls[0], string(b), "List-Unsubscribe: <http://127.0.0.1:8080/")
}
