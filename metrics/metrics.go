// Package metrics serves leadmailer's numbers in the Prometheus text format: what the send
// ledger and the import runs have counted, read from the database at each scrape so that
// sends by the command line count as well as sends by serve, and the latency of the web
// app's routes, measured in this process.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadmailer/leadmailer"
)

// Counter is where the numbers come from: the store.
type Counter interface {
	Activity(ctx context.Context, since time.Time) (*leadmailer.Activity, error)
}

// Options tune what is reported.
type Options struct {
	// Recent is how long a finished campaign stays in the metrics after its last send;
	// default 30 days. Running and paused campaigns are always there.
	Recent time.Duration
	// ScrapeTimeout bounds the database reads of one scrape; default 10 s.
	ScrapeTimeout time.Duration
	Now           func() time.Time
}

// Metrics is the registry behind /metrics.
type Metrics struct {
	reg     *prometheus.Registry
	latency *prometheus.HistogramVec
}

// New returns the metrics of counter, with the Go runtime's and the process's own.
func New(counter Counter, opts Options) *Metrics {
	if opts.Recent <= 0 {
		opts.Recent = 30 * 24 * time.Hour
	}
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "leadmailer_http_request_duration_seconds",
			Help: "Time to answer a request of the web app, by route (the pattern it matched, \"none\" when it matched none), method and status code.",
			// Pages answer in milliseconds; exports and uploads take seconds.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(m.latency, newActivityCollector(counter, opts),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics. A failed database read is reported as a scrape error with the
// metrics that could be read, rather than as an empty page.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is where further collectors register.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Instrument measures each request next answers. The route label is the ServeMux pattern
// the request matched, so that /leads/17 and /leads/18 count as one route.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.latency.WithLabelValues(routeOf(r), r.Method, strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
	})
}

// routeOf is the path part of the pattern r matched: "GET /leads/{id}" is "/leads/{id}".
func routeOf(r *http.Request) string {
	p := r.Pattern
	if p == "" {
		return "none"
	}
	if _, path, ok := strings.Cut(p, " "); ok {
		return path
	}
	return p
}

// statusRecorder notes the status code written through it. Unwrap lets
// http.ResponseController reach the connection for flushes and deadlines.
type statusRecorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.code, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	s.written = true
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
