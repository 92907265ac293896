package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/unsubscribe"
	"github.com/leadmailer/leadmailer/webhooks"
)

// hookReceiver is a webhook endpoint in the test process that checks each delivery's
// signature. While hold is set it answers nothing: it keeps the request open, as a slow
// receiver does, so that the sender can be killed between its send and its mark.
type hookReceiver struct {
	*httptest.Server
	t       *testing.T
	secret  []byte
	arrived chan string // event ids, as they arrive

	mu   sync.Mutex
	hold bool
	got  []map[string]any
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	rc := &hookReceiver{t: t, secret: []byte(secret), arrived: make(chan string, 16), hold: true}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhooks.Verify(rc.secret, r.Header.Get(webhooks.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		rc.t.Errorf("receiver: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var doc map[string]any
	json.Unmarshal(body, &doc)
	rc.mu.Lock()
	rc.got = append(rc.got, doc)
	hold := rc.hold
	rc.mu.Unlock()
	rc.arrived <- r.Header.Get(webhooks.HeaderDelivery)
	if hold {
		<-r.Context().Done() // until the sender's connection goes
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *hookReceiver) answer() {
	rc.mu.Lock()
	rc.hold = false
	rc.mu.Unlock()
}

func (rc *hookReceiver) next(t *testing.T) string {
	t.Helper()
	select {
	case id := <-rc.arrived:
		return id
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery arrived within 30s")
		return ""
	}
}

// TestServeWebhooksSurviveKill queues events from a real CLI import and a real one-click
// unsubscribe, and kills serve with SIGKILL while the receiver holds the first delivery
// open: the delivery is not marked delivered, and the next serve sends it again with the
// same event id, so that a receiver deduping by id has it once.
func TestServeWebhooksSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	const secret = "whsec-serve-test"
	t.Setenv("TEST_HOOK_SECRET", secret)
	rc := newHookReceiver(t, secret)
	data := t.TempDir()
	lmIn(t, data, "admin password 1\n", "init", "--admin", "ada", "--password-stdin")
	conf := fmt.Sprintf("[[webhooks]]\nurl = %q\nevents = [\"import.finished\", \"lead.unsubscribed\"]\nsecret = \"${TEST_HOOK_SECRET}\"\n", rc.URL+"/hooks")
	if err := os.WriteFile(filepath.Join(data, "leadmailer.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	base := "http://" + addr
	first := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, first, base)
	lm(t, data, "import", writeFile(t, t.TempDir(), "leads.csv", "email,name,country\nanna@example.fi,Anna,FI\n"), "--source", "crm")
	id := rc.next(t)
	db := openTestData(t, data)
	runs, err := db.FindImportRuns(t.Context(), "crm", 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("import runs %v, %v", runs, err)
	}
	if want := fmt.Sprintf("import-%d-finished", runs[0].ID); id != want {
		t.Fatalf("the first delivery is %q, want %q", id, want)
	}

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	ds, err := db.FindWebhookDeliveries(t.Context(), 10)
	if err != nil || len(ds) != 1 || ds[0].Status != store.DeliverySending || ds[0].DeliveredAt != nil {
		t.Fatalf("after the kill: %+v, %v; want the one delivery still marked sending", ds, err)
	}

	rc.answer()
	second := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, second, base)
	if again := rc.next(t); again != id {
		t.Fatalf("after the restart the receiver got %q, want %q again", again, id)
	}
	waitDelivery(t, db, id)

	// A recipient objects through the one-click link of a campaign.
	lead, err := db.FindLeadByEmail(t.Context(), "anna@example.fi")
	if err != nil {
		t.Fatal(err)
	}
	c := &leadmailer.Campaign{Name: "spring", Subject: "Hello", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := db.CreateCampaign(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	key, err := loadSecret(filepath.Join(data, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(base+"/u/"+unsubscribe.NewSigner(key).Token(c.ID, lead.ID), "application/x-www-form-urlencoded",
		strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: status %d", res.StatusCode)
	}
	unsubscribed := fmt.Sprintf("lead-%d-unsubscribed", lead.ID)
	if got := rc.next(t); got != unsubscribed {
		t.Fatalf("after the unsubscribe the receiver got %q, want %q", got, unsubscribed)
	}
	waitDelivery(t, db, unsubscribed)
	rc.mu.Lock()
	last := rc.got[len(rc.got)-1]
	rc.mu.Unlock()
	data2, _ := last["data"].(map[string]any)
	if last["type"] != leadmailer.EventLeadUnsubscribed || data2["lead_id"] != float64(lead.ID) || data2["email"] != nil {
		t.Errorf("unsubscribe event %v; want the lead's number and no address", last)
	}

	second.cmd.Process.Signal(syscall.SIGTERM)
	if code := second.wait(t, 30*time.Second); code != exitOK {
		t.Errorf("serve exit %d after SIGTERM\nstderr:\n%s", code, second.stderr.String())
	}
	if !strings.Contains(second.stdout.String(), "Sending webhooks to 1 endpoint\n") {
		t.Errorf("serve did not say it sends webhooks:\n%s", second.stdout.String())
	}
}

// waitDelivery waits until the delivery of event id is marked delivered.
func waitDelivery(t *testing.T, db *store.DB, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ds, err := db.FindWebhookDeliveries(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.EventID == id && d.Status == store.DeliveryDelivered {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("event %s not delivered within 30s", id)
}
