package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
	"github.com/leadmailer/leadmailer/webhooks"
)

const secret = "whsec-test-secret"

// received is one request a receiver accepted as signed by secret.
type received struct {
	event, id string
	body      map[string]any
}

// receiver is a real HTTP endpoint that checks every request's signature the way the
// documentation tells receivers to, and then lets answer decide the response to the n-th
// request (1, 2, ...).
type receiver struct {
	*httptest.Server
	t      *testing.T
	answer func(n int, w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	n    int
	got  []received
	seen map[string]bool // event ids, as a receiver dedupes
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{t: t, answer: answer, seen: map[string]bool{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("receiver: read body: %v", err)
		return
	}
	// t=UNIX,v1=HEX with HEX = HMAC-SHA256(secret, UNIX + "." + body), computed here by hand.
	sig := r.Header.Get(webhooks.HeaderSignature)
	var ts, v1 string
	for _, p := range strings.Split(sig, ",") {
		if v, ok := strings.CutPrefix(p, "t="); ok {
			ts = v
		}
		if v, ok := strings.CutPrefix(p, "v1="); ok {
			v1 = v
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	if want := hex.EncodeToString(m.Sum(nil)); v1 != want {
		rc.t.Errorf("receiver: signature %q does not match the body (want v1=%s)", sig, want)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if unix, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		rc.t.Errorf("receiver: signature time %q is not now", ts)
	}
	if err := webhooks.Verify([]byte(secret), sig, body, time.Now(), 5*time.Minute); err != nil {
		rc.t.Errorf("receiver: Verify: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		rc.t.Errorf("receiver: Content-Type %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		rc.t.Errorf("receiver: body is not JSON: %v\n%s", err, body)
	}
	rc.mu.Lock()
	rc.n++
	n := rc.n
	rc.got = append(rc.got, received{event: r.Header.Get(webhooks.HeaderEvent), id: r.Header.Get(webhooks.HeaderDelivery), body: doc})
	rc.seen[r.Header.Get(webhooks.HeaderDelivery)] = true
	rc.mu.Unlock()
	rc.answer(n, w, r)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

func ok(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// newStore returns a database whose endpoints are subscribed to every event.
func newStore(t *testing.T, endpoints ...string) *store.DB {
	t.Helper()
	db := storetest.Open(t, nil)
	subs := map[string][]string{}
	for _, e := range endpoints {
		subs[e] = leadmailer.EventTypes
	}
	if err := db.SetWebhookSubscriptions(t.Context(), subs); err != nil {
		t.Fatal(err)
	}
	return db
}

// importLead runs a real import of one lead, which queues its import.finished event.
func importLead(t *testing.T, db *store.DB, email string) *leadmailer.ImportRun {
	t.Helper()
	ctx := t.Context()
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	r := leadmailer.ImportRow{Row: 2}
	r.Values[leadmailer.FieldEmail], r.Received[leadmailer.FieldEmail] = email, email
	r.Supplied = r.Supplied.With(leadmailer.FieldEmail)
	r.EmailHash = w.SuppressionHash(email)
	if _, err := w.WriteBatch(ctx, []leadmailer.ImportRow{r}, leadmailer.ImportCounts{Read: 1}); err != nil {
		t.Fatal(err)
	}
	run, err := w.Finish(ctx, leadmailer.RunCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// start runs s until the test ends.
func start(t *testing.T, s *webhooks.Sender) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sender: %v", err)
		}
	})
}

// sender returns a sender to the endpoints that retries at once and looks at the queue
// often, so that tests need not wait for real backoff.
func sender(db *store.DB, endpoints ...webhooks.Endpoint) *webhooks.Sender {
	return &webhooks.Sender{Store: db, Endpoints: endpoints, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second,
		Backoff: func(int) time.Duration { return 0 }}
}

func endpoint(url string) webhooks.Endpoint {
	return webhooks.Endpoint{URL: url, Secret: []byte(secret)}
}

// waitFor polls the delivery of event id to url until it has status, and returns it.
func waitFor(t *testing.T, db *store.DB, url, eventID, status string) *store.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last *store.WebhookDelivery
	for time.Now().Before(deadline) {
		ds, err := db.FindWebhookDeliveries(t.Context(), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Endpoint == url && d.EventID == eventID {
				last = d
				if d.Status == status {
					return d
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("delivery of %s to %s did not become %s within 15s: %+v", eventID, url, status, last)
	return nil
}

func TestDeliverySigned(t *testing.T) {
	rc := newReceiver(t, ok)
	db := newStore(t, rc.URL)
	run := importLead(t, db, "anna@example.fi")
	start(t, sender(db, endpoint(rc.URL)))
	id := fmt.Sprintf("import-%d-finished", run.ID)
	d := waitFor(t, db, rc.URL, id, store.DeliveryDelivered)
	if d.Attempts != 1 || d.LastStatusCode != http.StatusNoContent || d.DeliveredAt == nil {
		t.Errorf("delivered %+v; want one attempt answered 204", d)
	}
	got := rc.requests()
	if len(got) != 1 || got[0].event != leadmailer.EventImportFinished || got[0].id != id {
		t.Fatalf("the receiver got %+v; want one import.finished with id %s", got, id)
	}
	body := got[0].body
	data, _ := body["data"].(map[string]any)
	if body["id"] != id || body["type"] != leadmailer.EventImportFinished || body["created_at"] == nil ||
		data["import_run_id"] != float64(run.ID) || data["status"] != "completed" || data["source"] != "crm" {
		t.Errorf("body = %v", body)
	}
}

func TestRetriedAfterServerError(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			http.Error(w, "database\nlocked", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	db := newStore(t, rc.URL)
	run := importLead(t, db, "anna@example.fi")
	start(t, sender(db, endpoint(rc.URL)))
	d := waitFor(t, db, rc.URL, fmt.Sprintf("import-%d-finished", run.ID), store.DeliveryDelivered)
	if d.Attempts != 2 || d.LastStatusCode != 200 {
		t.Errorf("delivered %+v; want the second attempt answered 200", d)
	}
	if got := rc.requests(); len(got) != 2 || got[0].id != got[1].id {
		t.Errorf("the receiver got %+v; want the same event twice", got)
	}
}

func TestFailureReasonKept(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database\nlocked", http.StatusServiceUnavailable)
	})
	db := newStore(t, rc.URL)
	run := importLead(t, db, "anna@example.fi")
	s := sender(db, endpoint(rc.URL))
	s.MaxAge = time.Nanosecond // the first failure is the last
	start(t, s)
	d := waitFor(t, db, rc.URL, fmt.Sprintf("import-%d-finished", run.ID), store.DeliveryFailed)
	if d.LastStatusCode != 503 || d.LastError != "gave up after 1 attempts: 503 Service Unavailable: database locked" {
		t.Errorf("failed %+v", d)
	}
}

// The receiver reads the whole delivery and then drops the connection without answering,
// as a receiver that crashed after storing the event would: the sender cannot know, so it
// sends again, and the receiver, deduping by event id, has the event once.
func TestConnectionDroppedMidDelivery(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	db := newStore(t, rc.URL)
	run := importLead(t, db, "anna@example.fi")
	start(t, sender(db, endpoint(rc.URL)))
	id := fmt.Sprintf("import-%d-finished", run.ID)
	d := waitFor(t, db, rc.URL, id, store.DeliveryDelivered)
	got := rc.requests()
	if len(got) != 2 || got[0].id != id || got[1].id != id || d.Attempts != 2 {
		t.Errorf("the receiver got %+v, delivery %+v; want the event twice, delivered at the second attempt", got, d)
	}
	if rc.distinct() != 1 {
		t.Errorf("the receiver saw %d distinct event ids, want 1", rc.distinct())
	}
}

func TestGoneStopsTheEndpoint(t *testing.T) {
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	rc.answer = func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) }
	db := newStore(t, rc.URL)
	first := importLead(t, db, "anna@example.fi")
	second := importLead(t, db, "bea@example.fi")
	s := sender(db, endpoint(rc.URL))
	s.Concurrency = 1 // one attempt at a time, so that the second follows the first's answer
	start(t, s)
	d := waitFor(t, db, rc.URL, fmt.Sprintf("import-%d-finished", first.ID), store.DeliveryFailed)
	if d.LastStatusCode != 410 || !strings.HasPrefix(d.LastError, "410 Gone") {
		t.Errorf("failed %+v; want 410 Gone", d)
	}
	// Give the sender turns to send the second, which it must not.
	time.Sleep(100 * time.Millisecond)
	later := waitFor(t, db, rc.URL, fmt.Sprintf("import-%d-finished", second.ID), store.DeliveryPending)
	if later.Attempts != 0 || len(rc.requests()) != 1 {
		t.Errorf("after a 410 the sender tried again: %d requests, second delivery %+v", len(rc.requests()), later)
	}
}

// An endpoint that answers 200 with an endless body is delivered to: only the start of an
// answer is read.
func TestEndlessAnswerBounded(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	db := newStore(t, rc.URL)
	run := importLead(t, db, "anna@example.fi")
	s := sender(db, endpoint(rc.URL))
	s.Timeout = time.Minute // reading it all would take longer than the test waits
	start(t, s)
	d := waitFor(t, db, rc.URL, fmt.Sprintf("import-%d-finished", run.ID), store.DeliveryDelivered)
	if d.Attempts != 1 {
		t.Errorf("delivered after %d attempts, want 1", d.Attempts)
	}
}

func TestConcurrencyBounded(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, most := 0, 0
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	db := newStore(t, rc.URL)
	var runs []*leadmailer.ImportRun
	for i := range 8 {
		runs = append(runs, importLead(t, db, fmt.Sprintf("lead%d@example.fi", i)))
	}
	s := sender(db, endpoint(rc.URL))
	s.Concurrency = 3
	start(t, s)
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := inFlight
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries in flight, want 3", n)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a sender without a bound would start the rest now
	close(release)
	for _, run := range runs {
		waitFor(t, db, rc.URL, fmt.Sprintf("import-%d-finished", run.ID), store.DeliveryDelivered)
	}
	if most != 3 {
		t.Errorf("at most %d deliveries were in flight at once, want 3", most)
	}
}

// A lead event names the lead by number; only an endpoint with include_email gets its
// address, read when the event is sent.
func TestIncludeEmail(t *testing.T) {
	plain := newReceiver(t, ok)
	withEmail := newReceiver(t, ok)
	db := newStore(t, plain.URL, withEmail.URL)
	importLead(t, db, "anna@example.fi")
	lead, err := db.FindLeadByEmail(t.Context(), "anna@example.fi")
	if err != nil {
		t.Fatal(err)
	}
	c := &leadmailer.Campaign{Name: "spring", Subject: "Hello", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := db.CreateCampaign(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := db.ObjectLead(t.Context(), c.ID, lead.ID); err != nil {
		t.Fatal(err)
	}
	withAddress := endpoint(withEmail.URL)
	withAddress.IncludeEmail = true
	start(t, sender(db, endpoint(plain.URL), withAddress))
	id := fmt.Sprintf("lead-%d-unsubscribed", lead.ID)
	waitFor(t, db, plain.URL, id, store.DeliveryDelivered)
	waitFor(t, db, withEmail.URL, id, store.DeliveryDelivered)
	find := func(rc *receiver) map[string]any {
		for _, r := range rc.requests() {
			if r.id == id {
				data, _ := r.body["data"].(map[string]any)
				return data
			}
		}
		t.Fatalf("%s got no %s", rc.URL, id)
		return nil
	}
	if data := find(plain); data["lead_id"] != float64(lead.ID) || data["campaign_id"] != float64(c.ID) || data["email"] != nil {
		t.Errorf("without include_email the data is %v; want the lead's and campaign's numbers, no address", data)
	}
	if data := find(withEmail); data["lead_id"] != float64(lead.ID) || data["email"] != "anna@example.fi" {
		t.Errorf("with include_email the data is %v; want the lead's number and address", data)
	}
}

// A lead erased after its event was queued is sent without its address, even to an endpoint
// with include_email: the address is read at delivery time, and it is gone.
func TestErasedLeadSentWithoutAddress(t *testing.T) {
	rc := newReceiver(t, ok)
	db := newStore(t, rc.URL)
	importLead(t, db, "anna@example.fi")
	lead, err := db.FindLeadByEmail(t.Context(), "anna@example.fi")
	if err != nil {
		t.Fatal(err)
	}
	c := &leadmailer.Campaign{Name: "spring", Subject: "Hello", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := db.CreateCampaign(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := db.ObjectLead(t.Context(), c.ID, lead.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EraseLead(t.Context(), "anna@example.fi", "asked to be forgotten"); err != nil {
		t.Fatal(err)
	}
	ep := endpoint(rc.URL)
	ep.IncludeEmail = true
	start(t, sender(db, ep))
	id := fmt.Sprintf("lead-%d-unsubscribed", lead.ID)
	waitFor(t, db, rc.URL, id, store.DeliveryDelivered)
	for _, r := range rc.requests() {
		if r.id != id {
			continue
		}
		if data, _ := r.body["data"].(map[string]any); data["lead_id"] != float64(lead.ID) || data["email"] != nil {
			t.Errorf("the erased lead's event carries %v; want its number only", data)
		}
		return
	}
	t.Fatalf("the receiver got no %s", id)
}
