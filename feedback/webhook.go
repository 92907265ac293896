package feedback

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer/bounce"
)

// Webhooks receives the sending providers' bounce and complaint events over HTTP. Each
// provider's route is served only when its secret is set, and every request's signature
// (or credentials) is checked before its body is read as events.
type Webhooks struct {
	Processor *Processor
	// SES checks Amazon SNS deliveries; nil: no SES route. Its TopicARNs must be set.
	SES *bounce.SNSVerifier
	// SendGridPublicKey is the Signed Event Webhook's verification key; empty: no route.
	SendGridPublicKey string
	// PostmarkUser and PostmarkPassword are the basic-auth credentials of the Postmark
	// webhook URL; empty: no route.
	PostmarkUser, PostmarkPassword string
	// MailgunSigningKey is Mailgun's webhook signing key; empty: no route.
	MailgunSigningKey string
	// MaxBytes bounds a request body; default 5 MiB (SendGrid posts up to a few thousand
	// events at once).
	MaxBytes int64
	// Now is the clock for signature freshness; default time.Now.
	Now func() time.Time
}

// Mount registers the configured routes (POST /webhooks/ses, /webhooks/sendgrid,
// /webhooks/postmark, /webhooks/mailgun) with handle, and returns their paths.
func (w *Webhooks) Mount(handle func(pattern string, h http.Handler)) []string {
	var paths []string
	add := func(path string, f func(http.ResponseWriter, *http.Request, []byte)) {
		handle("POST "+path, w.handler(path, f))
		paths = append(paths, path)
	}
	if w.SES != nil {
		add("/webhooks/ses", w.ses)
	}
	if w.SendGridPublicKey != "" {
		add("/webhooks/sendgrid", w.sendgrid)
	}
	if w.PostmarkUser != "" && w.PostmarkPassword != "" {
		add("/webhooks/postmark", w.postmark)
	}
	if w.MailgunSigningKey != "" {
		add("/webhooks/mailgun", w.mailgun)
	}
	return paths
}

// handler reads the body within the limit and hands it to f.
func (w *Webhooks) handler(path string, f func(http.ResponseWriter, *http.Request, []byte)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		max := w.MaxBytes
		if max <= 0 {
			max = 5 << 20
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, max))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			w.Processor.log().Warn("webhook refused: body too large", "path", path, "limit", max)
			http.Error(rw, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(rw, "cannot read the request body", http.StatusBadRequest)
			return
		}
		f(rw, r, body)
	})
}

func (w *Webhooks) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// deliver records verified reports. A database fault answers 503, so that the provider
// retries; reports recorded before the fault are recognised on the retry.
func (w *Webhooks) deliver(rw http.ResponseWriter, r *http.Request, via string, reps []bounce.Report, err error) {
	p := w.Processor
	if errors.Is(err, bounce.ErrSignature) {
		p.log().Warn("webhook refused: signature does not verify", "via", via, "remote", r.RemoteAddr, "err", err)
		http.Error(rw, "signature does not verify", http.StatusUnauthorized)
		return
	}
	if err != nil {
		p.log().Warn("webhook refused: unreadable", "via", via, "remote", r.RemoteAddr, "err", err)
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	for i := range reps {
		if _, err := p.Handle(r.Context(), &reps[i], Origin{Via: via, Verified: true}); err != nil && !errors.Is(err, ErrForged) {
			p.log().Error("webhook not recorded; the provider will retry", "via", via, "err", err)
			http.Error(rw, "cannot record the events now", http.StatusServiceUnavailable)
			return
		}
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *Webhooks) ses(rw http.ResponseWriter, r *http.Request, body []byte) {
	m, err := bounce.ParseSNS(body)
	if err != nil {
		w.deliver(rw, r, "webhook:ses", nil, err)
		return
	}
	if err := w.SES.Verify(r.Context(), m); err != nil {
		w.deliver(rw, r, "webhook:ses", nil, err)
		return
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		// Confirming is a GET of the signed link, on an SNS host only.
		if err := w.confirmSNS(r.Context(), m.SubscribeURL); err != nil {
			w.Processor.log().Error("SNS subscription not confirmed", "topic", m.TopicArn, "err", err)
			http.Error(rw, "cannot confirm the subscription", http.StatusBadGateway)
			return
		}
		w.Processor.log().Info("SNS subscription confirmed", "topic", m.TopicArn)
		rw.WriteHeader(http.StatusNoContent)
		return
	case "UnsubscribeConfirmation":
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	reps, err := bounce.ParseSES([]byte(m.Message))
	w.deliver(rw, r, "webhook:ses", reps, err)
}

func (w *Webhooks) confirmSNS(ctx context.Context, link string) error {
	if err := w.SES.CheckURL(link); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return err
	}
	client := w.SES.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("SNS answered " + resp.Status)
	}
	return nil
}

func (w *Webhooks) sendgrid(rw http.ResponseWriter, r *http.Request, body []byte) {
	err := bounce.VerifySendGrid(w.SendGridPublicKey, r.Header.Get("X-Twilio-Email-Event-Webhook-Signature"),
		r.Header.Get("X-Twilio-Email-Event-Webhook-Timestamp"), body, w.now())
	var reps []bounce.Report
	if err == nil {
		reps, err = bounce.ParseSendGrid(body)
	}
	w.deliver(rw, r, "webhook:sendgrid", reps, err)
}

func (w *Webhooks) postmark(rw http.ResponseWriter, r *http.Request, body []byte) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(w.PostmarkUser)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(w.PostmarkPassword)) != 1 {
		rw.Header().Set("WWW-Authenticate", `Basic realm="leadmailer webhooks"`)
		w.deliver(rw, r, "webhook:postmark", nil, bounce.ErrSignature)
		return
	}
	reps, err := bounce.ParsePostmark(body)
	w.deliver(rw, r, "webhook:postmark", reps, err)
}

func (w *Webhooks) mailgun(rw http.ResponseWriter, r *http.Request, body []byte) {
	reps, err := bounce.ParseMailgun(body, w.MailgunSigningKey, w.now())
	w.deliver(rw, r, "webhook:mailgun", reps, err)
}
