package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/health"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/metrics"
	"github.com/leadmailer/leadmailer/store"
)

// monitoring is what serve offers the team's operations tools: Prometheus metrics and the
// liveness and readiness probes.
type monitoring struct {
	metrics *metrics.Metrics
	srv     *http.Server // on [metrics] listen; nil when metrics share the web app's address
}

// startMonitoring mounts /healthz and /readyz on the web app, and /metrics there too or, with
// [metrics] listen, on a listener of its own that also answers the probes.
func startMonitoring(cfg *config.Config, db *store.DB, dataDir string, logger *slog.Logger, e *env,
	mount func(string, http.Handler)) (*monitoring, error) {
	m := &monitoring{metrics: metrics.New(db, metrics.Options{})}
	ready := &health.Checker{Store: db, Mail: func(ctx context.Context) error {
		tr, err := openTransport(cfg, dataDir, 1)
		if err != nil {
			return err
		}
		defer tr.Close()
		return mailer.Check(ctx, tr)
	}}
	mount("GET /healthz", http.HandlerFunc(health.Live))
	mount("GET /readyz", ready)
	if cfg.Metrics.Listen == "" {
		mount("GET /metrics", m.metrics.Handler())
		return m, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metrics.Handler())
	mux.HandleFunc("GET /healthz", health.Live)
	mux.Handle("GET /readyz", ready)
	ln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("[metrics] listen on %s: %w", cfg.Metrics.Listen, err)
	}
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := m.srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			logger.Error("metrics listener", "err", err)
		}
	}()
	fmt.Fprintf(e.stdout, "Serving metrics on http://%s/metrics\n", ln.Addr())
	return m, nil
}

// stop closes the metrics listener, if any.
func (m *monitoring) stop(ctx context.Context) error {
	if m.srv == nil {
		return nil
	}
	return m.srv.Shutdown(ctx)
}
