package publicweb

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// Limits of the query form.
const (
	// MaxQueryBody is the largest request body accepted, in bytes.
	MaxQueryBody = 32 << 10
	// MaxMessage is the longest message, in characters.
	MaxMessage = 5000
	// maxUserAgent is how much of the User-Agent header is kept.
	maxUserAgent = 500
)

// HoneypotField is the form field people never see and bots fill in: a query that has it
// filled is answered as if received and then dropped.
const HoneypotField = "homepage"

// formFields are the fields of the query form that become lead fields.
var formFields = []struct {
	name  string
	field leadmailer.Field
}{
	{"email", leadmailer.FieldEmail},
	{"name", leadmailer.FieldName},
	{"company", leadmailer.FieldCompany},
	{"country", leadmailer.FieldCountry},
}

var consentVersionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// Query is a parsed query form.
type Query struct {
	Row            leadmailer.ImportRow
	Message        string
	ConsentVersion string // empty: the box was not ticked
	Honeypot       bool   // a bot filled the hidden field
}

// ParseQuery reads and validates a query form's values. Errors are leadmailer.EINVALID
// errors naming the field and what to fix, written for the person filling in the form.
func ParseQuery(form url.Values) (*Query, error) {
	q := &Query{Honeypot: strings.TrimSpace(form.Get(HoneypotField)) != ""}
	for _, ff := range formFields {
		vs := form[ff.name]
		if len(vs) > 1 {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "%s is given %d times: send it once", ff.name, len(vs))
		}
		if len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		raw := vs[0]
		var v string
		var err error
		switch ff.field {
		case leadmailer.FieldEmail:
			v, err = leadmailer.NormalizeEmail(raw)
		case leadmailer.FieldCountry:
			code, ok := leadmailer.NormalizeCountry(raw)
			if !ok || len(raw) > 100 {
				err = leadmailer.Errorf(leadmailer.EINVALID, "country %q is not a country we know: choose one from the list", truncate(raw, 40))
			}
			v = code
		default:
			v, err = leadmailer.CleanText(ff.field, raw)
		}
		if err != nil {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "%s: %v", ff.name, err)
		}
		q.Row.Values[ff.field], q.Row.Received[ff.field] = v, raw
		q.Row.Supplied = q.Row.Supplied.With(ff.field)
	}
	if !q.Row.Supplied.Has(leadmailer.FieldEmail) {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "email: give your e-mail address so that we can answer")
	}
	msg := form.Get("message")
	if !utf8.ValidString(msg) {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "message is not valid text")
	}
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\r\n", "\n"))
	if n := utf8.RuneCountInString(msg); n > MaxMessage {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "message is %d characters long: shorten it to %d", n, MaxMessage)
	}
	for _, r := range msg {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "message contains a control character")
		}
	}
	q.Message = msg
	switch consent := form.Get("consent"); consent {
	case "", "no", "off":
	case "yes", "on", "1", "true":
		v := form.Get("consent_version")
		if !consentVersionRE.MatchString(v) {
			return nil, leadmailer.Errorf(leadmailer.EINVALID,
				"consent_version %q: the form must send the version of the consent text it shows, such as \"2026-01\"", truncate(v, 40))
		}
		q.ConsentVersion = v
	default:
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "consent %q: a ticked box sends \"yes\"", truncate(consent, 20))
	}
	return q, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

var queryPage = template.Must(template.New("q").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

func (h *Handlers) query(w http.ResponseWriter, r *http.Request) {
	publicHeaders(w)
	w.Header().Add("Vary", "Origin")
	// Browsers name the page's origin on every cross-origin post. Only the configured
	// origins may post from a browser and read the answer: a wildcard would let any site
	// submit queries in its visitors' names, from their addresses, past the per-IP limit.
	if origin := r.Header.Get("Origin"); origin != "" {
		if !h.origins[strings.ToLower(origin)] {
			h.log.Info("website query refused: origin not in the configured query origins", "origin", truncate(origin, 100))
			h.queryAnswer(w, r, http.StatusForbidden, "Your query could not be sent",
				"This form may not be sent from this site.")
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	ip := h.clientIP(r)
	ok, wait, err := h.allow(r.Context(), h.queries, ip)
	if err != nil {
		h.log.Error("website query: rate limit", "err", err)
		h.queryAnswer(w, r, http.StatusServiceUnavailable, "Your query could not be sent",
			"Something went wrong on our side. Please try again in a few minutes.")
		return
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		h.queryAnswer(w, r, http.StatusTooManyRequests, "Too many queries",
			"You have sent several queries in a short time. Please wait a few minutes and try again.")
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		h.queryAnswer(w, r, http.StatusBadRequest, "Your query could not be sent", err.Error())
		return
	}
	q, err := ParseQuery(form)
	if err != nil {
		h.queryAnswer(w, r, http.StatusBadRequest, "Your query could not be sent", err.Error())
		return
	}
	const received = "Thank you: we received your query and will answer soon."
	if q.Honeypot {
		h.log.Info("website query dropped: honeypot filled", "ip", ip)
		h.queryAnswer(w, r, http.StatusOK, "Thank you", received)
		return
	}
	ua := r.UserAgent()
	if !utf8.ValidString(ua) {
		ua = strings.ToValidUTF8(ua, "?")
	}
	res, err := h.store.RecordWebsiteQuery(r.Context(), q.Row, store.WebsiteQuery{
		ReceivedAt: h.now().UTC(), IP: ip, UserAgent: truncate(ua, maxUserAgent),
		Message: q.Message, ConsentVersion: q.ConsentVersion,
	})
	if err != nil {
		h.log.Error("record website query", "err", err)
		h.queryAnswer(w, r, http.StatusInternalServerError, "Please try again",
			"Your query could not be saved just now. Please try again in a minute.")
		return
	}
	if res.LeadID == 0 {
		// The answer does not say so: it would tell anyone whether an address objected.
		h.log.Info("website query from a suppressed address not stored")
	} else {
		h.audit(r.Context(), AuditQuery, fmt.Sprintf("lead %d", res.LeadID), "", ip)
	}
	if res.ConsentRequestID != 0 {
		h.mailConfirmation(r.Context(), q.Row.Values[leadmailer.FieldEmail], res.ConsentRequestID)
	}
	if q.ConsentVersion != "" {
		// Said whether or not a mail went, as the answer must not tell whether an address
		// objected, or was sent a confirmation recently.
		h.queryAnswer(w, r, http.StatusOK, "Thank you", received+
			" To confirm that you want our news and offers by e-mail, open the link in the mail we send to your address.")
		return
	}
	h.queryAnswer(w, r, http.StatusOK, "Thank you", received)
}

// readForm reads a urlencoded or multipart form of at most MaxQueryBody bytes.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxQueryBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	case "multipart/form-data":
		err = r.ParseMultipartForm(MaxQueryBody)
	default:
		return nil, fmt.Errorf("send the form as application/x-www-form-urlencoded (a plain HTML form), not %q", ct)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("the query is larger than %d KiB: shorten the message", MaxQueryBody>>10)
	}
	if err != nil {
		return nil, fmt.Errorf("the form could not be read: %v", err)
	}
	return r.PostForm, nil
}

// queryAnswer answers a form post with a short page, or a script with JSON when it asks for it.
func (h *Handlers) queryAnswer(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		body := map[string]string{"status": "received"}
		if status != http.StatusOK {
			body = map[string]string{"error": text}
		}
		json.NewEncoder(w).Encode(body)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := queryPage.Execute(w, pageData{Lang: "en", Title: title, Text: text}); err != nil {
		h.log.Warn("write page", "err", err)
	}
}
