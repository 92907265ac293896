package publicweb_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/publicweb"
)

// chromiumPath is Debian's headless-capable Chromium.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium, or skips the test when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests need Chromium at %s (Debian package chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// website serves a blank page: a site that a form could be posted from.
func website(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>site</title><p>site</p>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserQueryOriginsAndConfirmation drives a real browser. A script on the company
// website posts the form and reads the answer; the same script on another site is refused
// and can read nothing. Then the person opens the confirmation link, which records nothing
// until the button is pressed.
func TestBrowserQueryOriginsAndConfirmation(t *testing.T) {
	ctx := browser(t)
	company, other := website(t), website(t)
	cs := newConsentServer(t, publicweb.Options{QueryOrigins: []string{company.URL}})
	cs.importFile(t, "testdata/crm.csv")

	post := func(site, email string, consent bool) string {
		t.Helper()
		fields := fmt.Sprintf(`{email: %q}`, email)
		if consent {
			fields = fmt.Sprintf(`{email: %q, consent: "yes", consent_version: "2026-01"}`, email)
		}
		script := fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Accept": "application/json"}, body: new URLSearchParams(%s)})
			.then(r => r.text()).then(t => "read: " + t, e => "blocked: " + e)`, cs.srv.URL+"/query", fields)
		if err := chromedp.Do(ctx, chromedp.Navigate(site)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	if got := post(other.URL, "victim@example.org", false); !strings.HasPrefix(got, "blocked: ") {
		t.Errorf("script on another site: %q, want the browser to block reading the answer", got)
	}
	if _, err := cs.db.FindLeadByEmail(context.Background(), "victim@example.org"); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Errorf("the other site's post was stored: %v", err)
	}
	if got := post(company.URL, "dora@delta.example", true); got != `read: {"status":"received"}`+"\n" {
		t.Errorf("script on the company website: %q, want the answer readable", got)
	}

	dora := cs.lead(t, "dora@delta.example")
	if err := chromedp.Do(ctx, chromedp.Navigate(cs.link(t, 0)), chromedp.WaitVisible(chromedp.CSS("button"))); err != nil {
		t.Fatal(err)
	}
	if why := cs.mailable(t, dora.ID); why != leadmailer.SkipNoConsent {
		t.Fatalf("opening the link confirmed: %q", why)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("button")), chromedp.WaitNotPresent(chromedp.CSS("button"))); err != nil {
		t.Fatal(err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "Your consent is recorded") {
		t.Errorf("page after pressing the button: %q", page)
	}
	if why := cs.mailable(t, dora.ID); why != "" {
		t.Errorf("after pressing the button: %q, want mailable", why)
	}
}
