package publicweb

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/store"
)

// ConfirmationVersion is the version of the confirmation's wording, the mail and the page,
// recorded with every consent confirmed. Change it whenever that wording changes.
const ConfirmationVersion = "2026-12"

// confirmOptions are the handlers' settings for double opt-in.
type confirmOptions struct {
	signer                   *ConfirmSigner
	mail                     Mailer
	from, replyTo, publicURL string
	company                  string
	valid, every             time.Duration
	perAddress               rateLimit // one mail per address per every
}

// ready reports whether confirmation mails can be sent at all.
func (c *confirmOptions) ready() bool {
	return c.signer != nil && c.mail != nil && c.from != "" && c.publicURL != ""
}

// mailConfirmation sends, in the background, the mail that asks the person at address to
// confirm consent request requestID. The query's answer does not wait for it: how long the
// answer took would tell whether a mail went, and so whether the address had objected or
// had been sent one recently.
//
// Nothing in the mail comes from the form except the address it goes to, which ParseQuery
// normalised and the mailer checks again: the form cannot be used to send someone words of
// its sender's choosing, not even in a name.
func (h *Handlers) mailConfirmation(ctx context.Context, address string, requestID int64) {
	c := &h.confirm
	if !c.ready() {
		h.log.Warn("consent confirmation not mailed: no transport, sender or public_url configured", "request", requestID)
		return
	}
	now := h.now()
	ok, _, err := h.allow(ctx, c.perAddress, address)
	if err != nil {
		// Unsure whether one went out recently, mail none: the request stays, and a new
		// query asks again.
		h.log.Error("consent confirmation not mailed: rate limit", "request", requestID, "err", err)
		return
	}
	if !ok {
		// The request stays; the link of the mail sent earlier confirms consent all the same.
		h.log.Info("consent confirmation not mailed: one went to the address recently", "request", requestID)
		return
	}
	// The request's context ends with the answer; the mail must still go, but a relay
	// that stalls must not hold the server's shutdown for RFC 5321's ten minutes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmationSendLimit)
	h.mails.Add(1)
	go func() {
		defer h.mails.Done()
		defer cancel()
		h.sendConfirmation(ctx, address, requestID, now)
	}()
}

// confirmationSendLimit bounds one confirmation mail's whole SMTP exchange. The visitor who
// gets no mail can send the form again; the request stays either way.
const confirmationSendLimit = time.Minute

func (h *Handlers) sendConfirmation(ctx context.Context, address string, requestID int64, now time.Time) {
	c := &h.confirm
	expires := now.Add(c.valid)
	link := c.publicURL + "/query/confirm/" + c.signer.Token(requestID, expires)
	domain := "leadmailer.invalid"
	if a, err := mail.ParseAddress(c.from); err == nil {
		domain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
	}
	msg := &mailer.Message{
		From: c.from, ReplyTo: c.replyTo, To: address,
		Subject:   "Please confirm that you want e-mail from " + c.company,
		MessageID: fmt.Sprintf("consent-%d.%d@%s", requestID, now.UnixNano(), domain),
		Date:      now,
		Language:  "en",
		Text: fmt.Sprintf(`Hello,

this address was entered on the website of %s with a request to receive news and
offers by e-mail. To confirm, open this link and press the button on the page:

%s

The link works until %s. If you did not ask for this, ignore this mail: without
your confirmation, no consent is recorded.
`, c.company, link, expires.UTC().Format("2 January 2006 15:04 MST")),
	}
	if _, err := c.mail.Send(ctx, msg); err != nil {
		h.log.Error("mail consent confirmation", "request", requestID, "err", err)
		return
	}
	h.log.Info("consent confirmation mailed", "request", requestID)
}

// confirmPage is the page behind the link in the confirmation mail. A GET only shows the
// button: mail scanners follow links, and a consent must be the person's act.
var confirmPage = template.Must(template.New("c").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Button}}<form method="post"><button type="submit">{{.Button}}</button></form>{{end}}
</body></html>
`))

func (h *Handlers) confirmConsent(w http.ResponseWriter, r *http.Request) {
	publicHeaders(w)
	show := func(status int, title, text, button string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		if err := confirmPage.Execute(w, pageData{Lang: "en", Title: title, Text: text, Button: button}); err != nil {
			h.log.Warn("write page", "err", err)
		}
	}
	invalid := func() {
		show(http.StatusNotFound, "This link is not valid",
			"The link is incomplete or was altered. Open the whole link from the mail we sent, or copy it into the address bar.", "")
	}
	if h.confirm.signer == nil {
		invalid()
		return
	}
	requestID, err := h.confirm.signer.Parse(r.PathValue("token"), h.now())
	if errors.Is(err, ErrExpiredToken) {
		show(http.StatusGone, "This link has expired",
			"Links to confirm work for a limited time, and this one is over. Send the form on our website again to get a new one.", "")
		return
	}
	if err != nil {
		invalid()
		return
	}
	if r.Method != http.MethodPost {
		show(http.StatusOK, "Confirm that you want e-mail from "+h.confirm.company,
			"Press the button to confirm that you want to receive news and offers by e-mail. You can withdraw at any time with the link in every mail.",
			"Confirm")
		return
	}
	ip := h.clientIP(r)
	got, err := h.store.ConfirmConsent(r.Context(), requestID, store.ConsentConfirmation{
		At: h.now().UTC(), IP: ip, Version: ConfirmationVersion})
	if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND {
		// The request went with its lead, erased or deleted since.
		invalid()
		return
	}
	if err != nil {
		h.log.Error("confirm consent", "request", requestID, "err", err)
		show(http.StatusInternalServerError, "Please try again",
			"Your confirmation could not be saved just now. Please open the link again in a minute.", "")
		return
	}
	if !got.Already {
		h.log.Info("consent confirmed", "request", requestID, "lead", got.LeadID)
		h.audit(r.Context(), AuditConsent, fmt.Sprintf("lead %d", got.LeadID),
			fmt.Sprintf("marketing consent, text %s, confirmed by mail (confirmation %s)", got.TextVersion, ConfirmationVersion), ip)
	}
	show(http.StatusOK, "Thank you: confirmed",
		"Your consent is recorded. You can withdraw it at any time with the unsubscribe link in every mail.", "")
}
