// Package api serves leadmailer's JSON API under /api/v1/, for programs: a CRM pushing
// leads and uploading lists, a dashboard reading them and campaign reports, a privacy desk
// answering requests and keeping the suppression list. It is described by openapi.yaml,
// embedded and served at /api/v1/openapi.yaml. Each endpoint does what the web app's page
// for it does, through the same store calls and checks.
//
// A call carries "Authorization: Bearer TOKEN" with a token made by "leadmailer tokens add";
// the token's role is checked by the web app's rules (leadmailer.Role.Allows) before the
// handler runs. Nothing is kept in cookies, so there is nothing for another site to ride on:
// the API needs no cross-site request forgery check and sends no CORS headers, so browsers
// keep other sites' scripts from reading its answers. Every call a known token makes is
// recorded in the audit trail as "token:NAME": reads of personal data and changes with the
// same actions as the web app, anything else as "api.call" with its route and status, a
// call refused for the token's state or role as "token.refused". Calls over the token's rate
// limit are not recorded, so that a runaway script cannot fill the trail. Every error has
// one JSON shape (see errors.go).
//
// A Server is safe for concurrent use. A token's rate limit is counted in the database,
// shared by every serve process on it; the locks that keep two calls with one idempotency
// key from running at once live in memory, one process's worth. A CSV upload is imported while
// its call waits; imports at the same time take turns at the database's one writer, batch
// by batch, as the web app's do.
package api

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/store"
	"golang.org/x/time/rate"
)

// Options configure a Server. Zero values take the defaults shown.
type Options struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives internal errors. Default slog.Default().
	Logger *slog.Logger
	// Rate is how many calls a second one token may make on average, and Burst how many
	// at once after a pause. Defaults 20 and 40: enough to push a million leads in under a
	// minute in batches of 1,000, while a runaway script cannot keep the single database
	// writer busy for everyone else.
	Rate  rate.Limit
	Burst int
	// MaxBody is the largest request body, in bytes. Default 8 MiB, room for a batch of
	// MaxBatch leads with every field at its longest.
	MaxBody int64
	// MaxBatch is the most leads one POST /api/v1/leads may carry. Default 1,000.
	MaxBatch int

	// DataDir is the data folder: a CSV sent to POST /api/v1/imports is streamed to
	// DataDir/uploads while it is imported (the web app empties that folder when it starts,
	// removing what a crash left behind); its rejected rows are stored with the run. The
	// rejects of a run of an older version may be in a file of DataDir/rejects, which
	// GET /api/v1/imports/{id}/rejects answers from. Empty: the API takes no CSV files.
	DataDir string
	// MaxUpload is the largest CSV file, in bytes, as the web app's upload limit. Default
	// 200 MiB.
	MaxUpload int64
	// ReadTimeout and WriteTimeout are the HTTP server's: an upload, and the import that
	// follows it, extend their deadlines by these while they make progress. Default 1
	// minute each.
	ReadTimeout, WriteTimeout time.Duration

	// Mail checks, renders and test-sends campaign messages. nil: campaigns can be
	// created without their templates checked against the sender, and not previewed or
	// test-sent.
	Mail Mail
	// WakeCampaigns asks the campaign scheduler to start the campaigns that are due now;
	// nil: they start at its next turn.
	WakeCampaigns func()

	// Sources are the configured sources.
	Sources []Source
	// RunSource starts a run of the named source in the background, recorded as by actor,
	// and fails with ECONFLICT while one runs. nil: the API cannot run sources.
	RunSource func(name, actor string) error
	// SourceRunning reports whether a run of the named source is going. nil: never.
	SourceRunning func(name string) bool
}

// Mail is what the campaign endpoints need of the configuration: the sender, the wording,
// the transport. "leadmailer serve" gives the web app's campaign pages the same.
type Mail interface {
	// CheckTemplates compiles c's templates; a template error says its line and column.
	CheckTemplates(c *leadmailer.Campaign) error
	// Builder renders c's messages exactly as a send would.
	Builder(ctx context.Context, c *leadmailer.Campaign) (*campaign.Builder, error)
	// SendTest sends one message through the configured transport and returns the reply.
	SendTest(ctx context.Context, m *mailer.Message) (string, error)
	// AudienceRules are the sending rules that decide who a campaign mails.
	AudienceRules() store.AudienceRules
}

// Source is a configured source, as GET /api/v1/sources lists it.
type Source struct {
	Name     string `json:"name"`
	Title    string `json:"title,omitempty"`
	Kind     string `json:"kind"` // http or file
	Location string `json:"location"`
	Format   string `json:"format,omitempty"`
	Licence  string `json:"licence,omitempty"`
	Public   bool   `json:"public"`
	Schedule string `json:"schedule,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	// NextRun gives the source's next scheduled run after t; nil when it has no schedule.
	NextRun func(t time.Time) time.Time `json:"-"`
}

// Server is the JSON API. Like the web app it uses *store.DB directly: it sits at the edge,
// and its tests run against a real database.
type Server struct {
	db   *store.DB
	opts Options
	mux  *http.ServeMux

	mu   sync.Mutex
	keys map[string]*keyLock // idempotency keys being answered, by token ID and key
}

// New returns a Server serving db.
func New(db *store.DB, opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	if opts.Burst <= 0 {
		opts.Burst = 40
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 8 << 20
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = 200 << 20
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Minute
	}
	s := &Server{db: db, opts: opts, mux: http.NewServeMux(), keys: map[string]*keyLock{}}
	s.routes()
	return s
}

// Prefix is where the API is mounted: every route starts with it.
const Prefix = "/api/"

func (s *Server) routes() {
	s.mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(OpenAPI)
	})
	s.route("GET /api/v1/leads", leadmailer.RoleViewer, s.leadList, "q", "country", "source", "state", "after", "limit")
	s.route("POST /api/v1/leads", leadmailer.RoleMarketer, s.leadUpsert)
	s.route("GET /api/v1/leads/{id}", leadmailer.RoleViewer, s.leadShow)
	s.route("GET /api/v1/leads/{id}/export", leadmailer.RoleAdmin, s.leadExport)
	s.route("DELETE /api/v1/leads/{id}", leadmailer.RoleAdmin, s.leadErase, "reason")

	s.routeLimit("POST /api/v1/imports", leadmailer.RoleMarketer, s.uploadLimit(), s.importCreate)
	s.route("GET /api/v1/imports/{id}", leadmailer.RoleViewer, s.importShow)
	s.route("GET /api/v1/imports/{id}/rejects", leadmailer.RoleMarketer, s.importRejects, "after", "limit")

	// Campaigns are the marketer's, as in the web app.
	s.route("GET /api/v1/campaigns", leadmailer.RoleMarketer, s.campaignList, "state")
	s.route("POST /api/v1/campaigns", leadmailer.RoleMarketer, s.campaignCreate)
	s.route("GET /api/v1/campaigns/{id}", leadmailer.RoleMarketer, s.campaignShow)
	s.route("GET /api/v1/campaigns/{id}/preview", leadmailer.RoleMarketer, s.campaignPreview, "lead")
	s.route("POST /api/v1/campaigns/{id}/test", leadmailer.RoleMarketer, s.campaignTest)
	s.route("POST /api/v1/campaigns/{id}/schedule", leadmailer.RoleMarketer, s.campaignSchedule)
	s.route("POST /api/v1/campaigns/{id}/send", leadmailer.RoleMarketer, s.campaignSend)
	s.route("POST /api/v1/campaigns/{id}/pause", leadmailer.RoleMarketer, s.campaignPause)
	s.route("POST /api/v1/campaigns/{id}/resume", leadmailer.RoleMarketer, s.campaignResume)
	s.route("POST /api/v1/campaigns/{id}/cancel", leadmailer.RoleMarketer, s.campaignCancel)
	s.route("GET /api/v1/campaigns/{id}/report", leadmailer.RoleMarketer, s.campaignReport)
	s.route("GET /api/v1/campaigns/{id}/recipients", leadmailer.RoleMarketer, s.campaignRecipients, "status", "after", "limit")

	// Anyone who mails may add to the suppression list and check it; taking an entry off it
	// is an admin's decision.
	s.route("POST /api/v1/suppressions", leadmailer.RoleMarketer, s.suppressionAdd)
	s.route("GET /api/v1/suppressions/check", leadmailer.RoleMarketer, s.suppressionCheck, "address", "business_id")
	s.route("DELETE /api/v1/suppressions", leadmailer.RoleAdmin, s.suppressionRemove, "address", "domain", "business_id", "reason")

	s.route("GET /api/v1/sources", leadmailer.RoleViewer, s.sourceList)
	s.route("POST /api/v1/sources/{name}/run", leadmailer.RoleMarketer, s.sourceRun)
	s.route("GET /api/v1/sources/{name}/runs", leadmailer.RoleViewer, s.sourceRuns, "limit")
}

// Handler returns the API's handler, for mounting at Prefix. A path or method the API does
// not have is answered in the API's error shape, not the mux's plain text.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern != "" {
			s.mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer says whether the path exists with other methods (405 and
		// its Allow header) or not at all.
		rec := &statusRecorder{header: http.Header{}}
		s.mux.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: CodeMethodNotAllowed,
				Message: r.URL.Path + " does not take " + r.Method + "; it takes " + allow}})
			return
		}
		s.writeError(w, r, leadmailer.Errorf(leadmailer.ENOTFOUND, "no endpoint %s %s; /api/v1/openapi.yaml lists them", r.Method, r.URL.Path))
	})
}

// statusRecorder keeps the status and headers of an answer and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) WriteHeader(status int)      { r.status = status }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }

// call is what the API knows about an authenticated call.
type call struct {
	token *leadmailer.APIToken
	ip    string
	// audited is set once the call has left an entry in the audit trail.
	audited bool
}

// handlerFunc is an endpoint; an error it returns is answered by writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// route registers h at pattern for tokens whose role allows need, with bodies up to
// Options.MaxBody, taking the query parameters named by query and refusing any other by its
// name, as a JSON body's unknown fields are: a misspelt filter would otherwise be ignored
// and the call answered as if it were not there.
func (s *Server) route(pattern string, need leadmailer.Role, h handlerFunc, query ...string) {
	s.routeLimit(pattern, need, s.opts.MaxBody, func(w http.ResponseWriter, r *http.Request, c *call) error {
		var unknown []string
		for name := range r.URL.Query() {
			if !slices.Contains(query, name) {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return fieldErrorf(unknown[0], "unknown parameter %q: see /api/v1/openapi.yaml for the parameters this call takes", unknown[0])
		}
		return h(w, r, c)
	})
}

// MaxBody is the largest body any call may send: the larger of Options.MaxBody and
// Options.MaxUpload with room for a form's other fields. Mount the handler where bodies up
// to this size reach it; each route then sets its own bound.
func (s *Server) MaxBody() int64 { return max(s.opts.MaxBody, s.uploadLimit()) }

// uploadLimit bounds the body of a CSV upload: the file and, in a multipart form, its
// other fields.
func (s *Server) uploadLimit() int64 { return s.opts.MaxUpload + 1<<20 }

// routeLimit registers h at pattern for tokens whose role allows need, with bodies up to
// limit bytes.
func (s *Server) routeLimit(pattern string, need leadmailer.Role, limit int64, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(w, r, need)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		sw := &statusWriter{ResponseWriter: w}
		if err := h(sw, r, c); err != nil {
			_, d := describe(err)
			sw.code = d.Code
			s.writeError(sw, r, err)
		}
		if !c.audited {
			// Send the answer before recording the call, which waits for the database's
			// writer (on SQLite, as long as an import's batch): net/http would hold a small
			// answer in its buffer until the handler returns. An error means the client is
			// gone; the call is recorded all the same.
			http.NewResponseController(sw).Flush()
			s.auditCall(r, c, sw)
		}
	})
}

// auditCall records a call whose handler recorded nothing, as AuditAPICall: a read of
// something other than personal data, an answer replayed for an idempotency key, or a
// call refused for what it asked. Every call a token makes within its rate limit is then
// in the audit trail.
// routeLimit has sent the answer by now, so a failure to record it can only be logged.
func (s *Server) auditCall(r *http.Request, c *call, sw *statusWriter) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	detail := strconv.Itoa(status)
	if sw.code != "" {
		detail += " " + sw.code
	}
	if sw.Header().Get("Idempotent-Replayed") == "true" {
		detail += ", replayed"
	}
	err := s.db.RecordAudit(context.WithoutCancel(r.Context()), &leadmailer.AuditEntry{Actor: c.token.Actor(),
		Action: leadmailer.AuditAPICall, Target: s.callTarget(r), Detail: detail, IP: c.ip})
	if err != nil {
		s.opts.Logger.Error("record API call", slog.String("token", c.token.Name), slog.String("route", r.Pattern), slog.Any("err", err))
	}
}

// callTarget names the call for the audit trail: its route with the path's values that
// name something of ours, "GET /api/v1/campaigns/7/report". A value that does not (an
// {id} that is not a number, a {name} that is no configured source) stays a wildcard,
// since the caller may have put anything there, an address included. The query is left
// out for the same reason.
func (s *Server) callTarget(r *http.Request) string {
	method, path, _ := strings.Cut(r.Pattern, " ")
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		v := r.PathValue(name)
		switch name {
		case "id":
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				segs[i] = v
			}
		case "name":
			if _, err := s.findSource(r); err == nil {
				segs[i] = v
			}
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// statusWriter keeps the status of an answer, and its error code when it is one, for the
// audit trail. Unwrap lets http.ResponseController reach the connection underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authenticate finds the call's token and checks its state, rate and role, recording a
// refusal of a known token in the audit trail. Calls with no token or an unknown one are
// not recorded: they name no one, and anyone can make any number of them.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, need leadmailer.Role) (*call, error) {
	c := &call{ip: clientIP(r)}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadmailer"`)
		return nil, errUnauthorized("give a token in the header \"Authorization: Bearer TOKEN\"; \"leadmailer tokens add\" makes one")
	}
	t, err := s.db.FindAPITokenByHash(r.Context(), auth.HashToken(strings.TrimSpace(token)))
	if leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadmailer", error="invalid_token"`)
		return nil, errUnauthorized("the token is not known; check that it was copied whole")
	}
	if err != nil {
		return nil, err
	}
	c.token = t
	now := s.opts.Now()
	if status := t.Status(now); status != leadmailer.TokenActive {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadmailer", error="invalid_token"`)
		if err := s.audit(r, c, leadmailer.AuditTokenRefused, t.Name, status); err != nil {
			return nil, err
		}
		return nil, errUnauthorized("token " + t.Name + " is " + status + "; ask an admin for a new one")
	}
	wait, err := s.reserve(r.Context(), t.ID, now)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return nil, &apiError{status: http.StatusTooManyRequests, code: CodeRateLimited,
			msg: "too many calls with token " + t.Name + "; wait as long as Retry-After says"}
	}
	if !t.Role.Allows(need) {
		if err := s.audit(r, c, leadmailer.AuditTokenRefused, t.Name, "needs role "+string(need)+": "+r.Method+" "+r.URL.Path); err != nil {
			return nil, err
		}
		return nil, &apiError{status: http.StatusForbidden, code: CodeForbidden,
			msg: "this call needs the " + string(need) + " role; token " + t.Name + " has " + string(t.Role)}
	}
	// A write on every call would make every read a write transaction; like a session's
	// last-seen time, a minute's precision is plenty.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		if err := s.db.TouchAPIToken(r.Context(), t.ID, now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// reserve takes one call from token id's allowance at now and returns how long the caller
// must wait before the call would be allowed, or 0 when it is allowed now. The allowance is
// a token bucket in the database (store.TakeRate), one per token whichever process answers,
// so that running several serve processes does not multiply a token's rate. A refused call
// does not use up the allowance.
func (s *Server) reserve(ctx context.Context, id int64, now time.Time) (time.Duration, error) {
	if s.opts.Rate == rate.Inf {
		return 0, nil
	}
	every := time.Duration(float64(time.Second) / float64(s.opts.Rate))
	return s.db.TakeRate(ctx, "api token\x00"+strconv.FormatInt(id, 10), now, max(every, 1), s.opts.Burst)
}

// audit records an action of the call's token. Endpoints that answer with personal data
// call it before answering and fail if it fails, as the web app does.
func (s *Server) audit(r *http.Request, c *call, action, target, detail string) error {
	c.audited = true
	return s.db.RecordAudit(r.Context(), &leadmailer.AuditEntry{Actor: c.token.Actor(), Action: action,
		Target: target, Detail: detail, IP: c.ip})
}

// clientIP is the address the call came from, without the port; see the web app's clientIP
// for why a proxy's headers are not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
