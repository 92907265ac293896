// Package web serves leadmailer's web app: server-rendered pages for the marketing team, behind
// personal logins with roles, and the endpoints other packages mount for the public (one-click
// unsubscribe, website queries).
//
// Every page route is registered with the role it needs; the check runs on the server before
// the handler. Every POST must come from our own origin (http.CrossOriginProtection) and carry
// the session's form token. Every view of personal data is recorded in the audit trail before
// the data is sent.
//
// A Server is safe for concurrent use. Imports started from the web run in the background, any
// number at once (the store serialises their writes); Shutdown cancels and waits for them.
// Campaigns and source runs are not run by the Server: the campaign pages change a campaign's
// state and wake the campaign scheduler of "leadmailer serve" (Options.WakeCampaigns), and
// "Run now" hands the source to serve's runner (Options.RunSource), which owns and stops them.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server. Zero values take the defaults shown.
type Options struct {
	// DataDir holds rejects files (DataDir/rejects), and the JSON API's CSV files while it
	// imports them (DataDir/uploads). Required. The web app's pending uploads are in the
	// database.
	DataDir string
	// PublicURL is where users reach the app; an https URL makes cookies Secure even when a
	// proxy in front terminates TLS.
	PublicURL string
	// MaxUpload is the largest CSV file accepted, in bytes. Default 200 MiB.
	MaxUpload int64
	// IdleTimeout ends a session not used for this long. Default 30 minutes.
	IdleTimeout time.Duration
	// SessionLifetime ends every session this long after login. Default 12 hours.
	SessionLifetime time.Duration
	// NameKey keys the hash that stands in the audit trail for the name typed at a failed
	// login when no user has that name: such a "name" is often a password typed into the
	// wrong field, and must not be kept as text. With the same key, the same name gives the
	// same hash, so repeated attempts can be told apart from different ones. Default: a
	// random key for the process.
	NameKey []byte
	// ReadTimeout and WriteTimeout are the HTTP server's (serve sets both from [web]): the
	// CSV upload and the download of rejected rows extend their deadlines by these while
	// data moves. Default 1 minute each.
	ReadTimeout, WriteTimeout time.Duration
	// ClientIP says which address a request came from, for the login throttle, sessions and
	// the audit trail. Default: the TCP peer. Behind a reverse proxy, give a
	// clientip.Resolver's IP, which believes the proxy's header only from trusted proxies.
	ClientIP func(*http.Request) string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives errors and background import outcomes. Default slog.Default().
	Logger *slog.Logger

	// Sources are the configured sources, for the sources pages.
	Sources []SourceInfo
	// RunSource starts a run of the named source in the background, recorded as by actor,
	// through the same code as "leadmailer sources run". It fails with ECONFLICT while the
	// source runs already. nil: the app cannot run sources.
	RunSource func(name, actor string) error
	// SourceRunning reports whether a run of the named source is going. nil: never.
	SourceRunning func(name string) bool
	// Mail checks, builds and test-sends campaign messages. nil: campaigns can be created
	// and scheduled, but not previewed or test-sent.
	Mail Mail
	// WakeCampaigns asks the campaign scheduler to start the campaigns that are due now,
	// after "Send now"; nil: they start at its next turn.
	WakeCampaigns func()
}

// SourceInfo is a configured source as the sources pages show it.
type SourceInfo struct {
	Name, Title, Kind, Location, Format, Licence string
	Public                                       bool
	Schedule, Timezone                           string
	// NextRun gives the source's next scheduled run after t; nil when it has no schedule.
	NextRun func(t time.Time) time.Time
}

// Mail is what campaign pages need of the configuration: the sender, the wording, the
// transport. "leadmailer serve" provides it.
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

// Server is the web app. It uses *store.DB directly rather than a narrow interface: the web
// app sits at the edge and uses most of the store, and its tests run against a real database.
type Server struct {
	db   *store.DB
	opts Options
	mux  *http.ServeMux
	cop  *http.CrossOriginProtection
	tmpl map[string]*pageTemplate

	logins *loginGuard
	swept  chan struct{} // closed when sweepRefusals has returned
	// verifyPassword is auth.VerifyPassword; tests wrap it to see which hash a login compared.
	verifyPassword func(hash, pw string) bool

	ctx    context.Context // cancelled by Shutdown; background imports run under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	reports reportCache

	mu   sync.Mutex
	jobs map[int64]*importJob
}

// New returns a Server serving db. It removes the files a previous process on the data
// directory left in DataDir/uploads: the JSON API's, which live only while their call does.
func New(db *store.DB, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("web: Options.DataDir is required")
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = 200 << 20
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = 12 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.NameKey) == 0 {
		opts.NameKey = make([]byte, 32)
		rand.Read(opts.NameKey)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = time.Minute
	}
	if opts.ClientIP == nil {
		opts.ClientIP = peerIP
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(filepath.Join(opts.DataDir, "uploads")); err != nil {
		return nil, err
	}
	s := &Server{
		db: db, opts: opts, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection(), tmpl: tmpl,
		logins:         newLoginGuard(db, opts.Now),
		verifyPassword: auth.VerifyPassword,
		jobs:           map[int64]*importJob{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.swept = make(chan struct{})
	go s.sweepRefusals()
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	// Browsers ask for /favicon.ico whatever the page links; the SVG is the same picture.
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	s.mux.HandleFunc("GET /login", s.loginShow)
	s.mux.HandleFunc("POST /login", s.loginCheck)
	s.route("POST /logout", leadmailer.RoleViewer, s.logout)

	s.route("GET /{$}", leadmailer.RoleViewer, s.dashboardShow)
	s.route("GET /leads", leadmailer.RoleViewer, s.leadList)
	s.route("GET /leads/{id}", leadmailer.RoleViewer, s.leadShow)
	s.route("GET /imports", leadmailer.RoleViewer, s.importList)
	s.route("GET /imports/{id}", leadmailer.RoleViewer, s.importShow)
	s.route("GET /imports/{id}/progress", leadmailer.RoleViewer, s.importProgress)
	s.route("GET /imports/{id}/rejects.csv", leadmailer.RoleMarketer, s.importRejects)

	s.route("GET /upload", leadmailer.RoleMarketer, s.uploadShow)
	s.routeUpload("POST /upload", leadmailer.RoleMarketer, s.uploadCreate)
	s.route("GET /uploads/{id}", leadmailer.RoleMarketer, s.uploadPreview)
	s.route("POST /uploads/{id}", leadmailer.RoleMarketer, s.uploadImport)

	s.route("GET /sources", leadmailer.RoleViewer, s.sourceList)
	s.route("GET /sources/{name}", leadmailer.RoleViewer, s.sourceShow)
	s.route("POST /sources/{name}/run", leadmailer.RoleMarketer, s.sourceRun)

	s.route("GET /campaigns", leadmailer.RoleMarketer, s.campaignList)
	s.route("GET /campaigns/new", leadmailer.RoleMarketer, s.campaignNew)
	s.routeLimit("POST /campaigns", leadmailer.RoleMarketer, campaignBodyLimit, s.campaignCreate)
	s.route("GET /campaigns/{id}", leadmailer.RoleMarketer, s.campaignShow)
	s.route("GET /campaigns/{id}/progress", leadmailer.RoleMarketer, s.campaignProgress)
	s.route("GET /campaigns/{id}/recipients", leadmailer.RoleMarketer, s.campaignRecipients)
	s.route("GET /campaigns/{id}/preview", leadmailer.RoleMarketer, s.campaignPreview)
	s.route("GET /campaigns/{id}/preview.html", leadmailer.RoleMarketer, s.campaignPreviewHTML)
	s.route("POST /campaigns/{id}/test", leadmailer.RoleMarketer, s.campaignTest)
	s.route("POST /campaigns/{id}/schedule", leadmailer.RoleMarketer, s.campaignSchedule)
	s.route("POST /campaigns/{id}/send", leadmailer.RoleMarketer, s.campaignSend)
	s.route("POST /campaigns/{id}/pause", leadmailer.RoleMarketer, s.campaignPause)
	s.route("POST /campaigns/{id}/resume", leadmailer.RoleMarketer, s.campaignResume)
	s.route("POST /campaigns/{id}/cancel", leadmailer.RoleMarketer, s.campaignCancel)

	s.route("POST /leads/{id}/export", leadmailer.RoleAdmin, s.leadExport)
	s.route("GET /leads/{id}/erase", leadmailer.RoleAdmin, s.leadEraseConfirm)
	s.route("POST /leads/{id}/erase", leadmailer.RoleAdmin, s.leadErase)
	s.route("POST /leads/{id}/deliverable", leadmailer.RoleAdmin, s.leadDeliverable)

	s.route("GET /users", leadmailer.RoleAdmin, s.userList)
	s.route("POST /users", leadmailer.RoleAdmin, s.userCreate)
	s.route("POST /users/{name}/password", leadmailer.RoleAdmin, s.userPassword)
	s.route("POST /users/{name}/disable", leadmailer.RoleAdmin, s.userDisable)
	s.route("GET /audit", leadmailer.RoleAdmin, s.auditList)
	s.route("GET /webhook-deliveries", leadmailer.RoleAdmin, s.webhookList)
	s.route("POST /webhook-deliveries/{id}/replay", leadmailer.RoleAdmin, s.webhookReplay)
}

// Handler returns the app's handler with its security layers: headers on every response, and
// refusal of cross-origin state-changing requests.
func (s *Server) Handler() http.Handler {
	return securityHeaders(s.cop.Handler(http.HandlerFunc(s.serveMux)))
}

// MountPublic serves h at pattern without a login and without the cross-origin check, for
// endpoints the public reaches from elsewhere: a one-click unsubscribe POST comes from a mail
// client, a website query from the company's website. Such handlers must do their own
// checking (signed links, rate limits) and record their own audit entries. Their bodies are
// bounded by publicBodyLimit; a handler that reads its body sets a tighter bound of its own.
func (s *Server) MountPublic(pattern string, h http.Handler) {
	s.MountPublicLimit(pattern, publicBodyLimit, h)
}

// MountPublicLimit is MountPublic with bodies bounded by limit instead, for a handler that
// takes larger bodies on some of its routes (the JSON API's CSV upload) and bounds each
// route itself.
func (s *Server) MountPublicLimit(pattern string, limit int64, h http.Handler) {
	s.cop.AddInsecureBypassPattern(pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	}))
}

// Shutdown cancels running imports, which end as failed runs that a re-import completes, and
// waits for them, or for ctx. The counts of refused logins whose windows have not ended stay
// in the database, for whichever process sweeps after they end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-s.swept
	return os.RemoveAll(filepath.Join(s.opts.DataDir, "uploads"))
}

// secureCookies reports whether cookies must be Secure for r.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.opts.PublicURL), "https://")
}

// securityHeaders sets the headers every response carries. The policy allows only our own
// scripts, styles and images, no inline script, no framing of our pages by others (a
// campaign preview frames our own preview URL, which sets its own stricter policy), and forms
// posting only to us.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Pages show personal data: keep them out of shared and browser caches.
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
