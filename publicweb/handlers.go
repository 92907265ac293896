package publicweb

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// Store is what the public endpoints need of the database.
type Store interface {
	// ObjectLead suppresses the lead's address for good; a missing lead is no error.
	ObjectLead(ctx context.Context, campaignID, leadID int64) error
	// RecordWebsiteQuery creates or updates the lead and stores the query; false means the
	// address is suppressed and nothing was stored.
	RecordWebsiteQuery(ctx context.Context, row leadmailer.ImportRow, q store.WebsiteQuery) (bool, error)
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
	// behind a reverse proxy, give a function that reads the header the proxy sets.
	ClientIP func(*http.Request) string
	// Log receives objections and failures; default slog.Default().
	Log *slog.Logger
}

// Handlers serves the public endpoints.
type Handlers struct {
	store    Store
	signer   *unsubscribe.Signer
	now      func() time.Time
	clientIP func(*http.Request) string
	limiter  *limiter
	log      *slog.Logger
}

// New returns the handlers.
func New(st Store, opts Options) *Handlers {
	h := &Handlers{store: st, signer: opts.Signer, now: opts.Now, clientIP: opts.ClientIP, log: opts.Log}
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
	h.limiter = newLimiter(burst, every)
	return h
}

// Register mounts the endpoints on mux: GET and POST /u/{token}, POST /query.
func (h *Handlers) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /u/{token}", h.unsubscribe)
	mux.HandleFunc("POST /u/{token}", h.unsubscribe)
	mux.HandleFunc("POST /query", h.query)
}

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
