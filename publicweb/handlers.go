package publicweb

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// Store is what the public endpoints need of the database.
type Store interface {
	// ObjectLead suppresses the lead's address for good; a missing lead is no error.
	ObjectLead(ctx context.Context, campaignID, leadID int64) error
	// RecordWebsiteQuery creates the lead or fills its empty fields, and stores the query
	// and the consent it asks for; a LeadID of 0 means the address is suppressed and
	// nothing was stored.
	RecordWebsiteQuery(ctx context.Context, row leadmailer.ImportRow, q store.WebsiteQuery) (store.WebsiteQueryResult, error)
	// ConfirmConsent records the consent a request asked for; an unknown request is an
	// ENOTFOUND error.
	ConfirmConsent(ctx context.Context, requestID int64, c store.ConsentConfirmation) (store.ConfirmedConsent, error)
	// TakeRate takes one event from key's token bucket, shared by every process on the
	// database, or says how long until the bucket holds one (see store.DB.TakeRate).
	TakeRate(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (time.Duration, error)
}

// Mailer sends the mails that confirm a consent; serve gives it the transport campaigns use
// (the outbox folder when no SMTP relay is configured).
type Mailer interface {
	Send(ctx context.Context, m *mailer.Message) (reply string, err error)
}

// Options configure the handlers. Signer is required.
type Options struct {
	// Signer checks unsubscribe tokens; it must use the same secret as the links in mail.
	Signer *unsubscribe.Signer
	// Now is the clock; default time.Now.
	Now func() time.Time
	// QueryBurst is how many queries one IP address may send at once, and QueryEvery how
	// often it earns another. Defaults: 5, and one a minute.
	QueryBurst int
	QueryEvery time.Duration
	// ClientIP says which address a request came from. The default is the connection's peer;
	// behind a reverse proxy, give a clientip.Resolver's IP, which believes the header the
	// proxy sets only from trusted proxies (serve gives the one the web app uses).
	ClientIP func(*http.Request) string
	// Confirm signs the links that confirm a consent ticked on the query form. Mail sends
	// the confirmation mails, From "Name <address>" and ReplyTo (optional) head them, and
	// PublicURL is where the links point (the configuration's public_url: never the Host
	// of a request, which the sender chooses). Without all of Confirm, Mail, From and
	// PublicURL, a ticked box is stored as a request that nobody is asked to confirm.
	Confirm   *ConfirmSigner
	Mail      Mailer
	From      string
	ReplyTo   string
	PublicURL string
	// Company names the sender in the confirmation mail and page, and on the unsubscribe
	// pages: the configuration's sender company, the name the mail's footer gives.
	Company string
	// ConfirmValid is how long a confirmation link works; default 7 days. ConfirmMailEvery
	// is how often one address may be sent a confirmation mail, so that the form cannot
	// be used to flood someone's inbox; default once a day.
	ConfirmValid     time.Duration
	ConfirmMailEvery time.Duration
	// QueryOrigins are the origins ("https://www.example.com") whose pages may post the
	// query form from the browser and read the answer: the company website's. A post from a
	// browser on any other site is refused, so that other sites cannot make their visitors
	// submit queries. Empty: none (posts without an Origin header, from plain clients, are
	// still accepted).
	QueryOrigins []string
	// Log receives objections and failures; default slog.Default().
	Log *slog.Logger
	// Audit, when set, records each objection, stored query and confirmed consent in the audit
	// trail. target names a lead by ID ("lead 12"), never by address.
	Audit func(ctx context.Context, action, target, detail, ip string)
}

// Audit actions of the public endpoints.
const (
	AuditObjection = "lead.objection"
	AuditQuery     = "lead.query"
	AuditConsent   = "lead.consent"
)

// Handlers serves the public endpoints.
type Handlers struct {
	store    Store
	signer   *unsubscribe.Signer
	now      func() time.Time
	clientIP func(*http.Request) string
	queries  rateLimit // per client address
	origins  map[string]bool
	confirm  confirmOptions
	mails    sync.WaitGroup // confirmation mails being sent
	company  string         // the sender company the pages name; "" names none
	log      *slog.Logger
	audit    func(ctx context.Context, action, target, detail, ip string)
}

// New returns the handlers.
func New(st Store, opts Options) *Handlers {
	h := &Handlers{store: st, signer: opts.Signer, now: opts.Now, clientIP: opts.ClientIP, log: opts.Log, audit: opts.Audit,
		company: strings.TrimSpace(opts.Company)}
	if h.audit == nil {
		h.audit = func(context.Context, string, string, string, string) {}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.clientIP == nil {
		h.clientIP = peerIP
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	burst, every := opts.QueryBurst, opts.QueryEvery
	if burst <= 0 {
		burst = 5
	}
	if every <= 0 {
		every = time.Minute
	}
	h.queries = rateLimit{key: "query client\x00", burst: burst, every: every}
	h.confirm = confirmOptions{signer: opts.Confirm, mail: opts.Mail, from: opts.From, replyTo: opts.ReplyTo,
		publicURL: strings.TrimRight(opts.PublicURL, "/"), company: opts.Company,
		valid: opts.ConfirmValid, every: opts.ConfirmMailEvery}
	if h.confirm.valid <= 0 {
		h.confirm.valid = 7 * 24 * time.Hour
	}
	if h.confirm.every <= 0 {
		h.confirm.every = 24 * time.Hour
	}
	if h.confirm.company == "" {
		h.confirm.company = "us"
	}
	h.confirm.perAddress = rateLimit{key: "consent mail\x00", burst: 1, every: h.confirm.every}
	h.origins = map[string]bool{}
	for _, o := range opts.QueryOrigins {
		h.origins[strings.TrimRight(strings.ToLower(o), "/")] = true
	}
	return h
}

// Mount mounts the endpoints with mount, which takes a ServeMux pattern: GET and POST
// /u/{token}, POST /query, GET and POST /query/confirm/{token}. Pass a mux's Handle, or the web server's mount for public
// endpoints (no login, no cross-origin check).
func (h *Handlers) Mount(mount func(pattern string, handler http.Handler)) {
	mount("GET /u/{token}", http.HandlerFunc(h.unsubscribe))
	mount("POST /u/{token}", http.HandlerFunc(h.unsubscribe))
	mount("POST /query", http.HandlerFunc(h.query))
	mount("GET /query/confirm/{token}", http.HandlerFunc(h.confirmConsent))
	mount("POST /query/confirm/{token}", http.HandlerFunc(h.confirmConsent))
}

// Wait waits for the confirmation mails being sent. Call it once the HTTP server has stopped
// taking requests.
func (h *Handlers) Wait() { h.mails.Wait() }

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rateLimit is a token bucket per key in the database, so that every serve process on it
// counts the same queries and mails: burst at once, then one per every. The store keeps a
// keyed hash of the key, never the address it names.
type rateLimit struct {
	key   string // prefix naming the limit
	burst int
	every time.Duration
}

// allow takes a token for key, or says how long until one is free.
func (h *Handlers) allow(ctx context.Context, l rateLimit, key string) (bool, time.Duration, error) {
	wait, err := h.store.TakeRate(ctx, l.key+key, h.now(), l.every, l.burst)
	return err == nil && wait == 0, wait, err
}
