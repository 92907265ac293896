package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer/web"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "serve the web app for the marketing team",
		usage: `Usage: leadmailer serve [--listen ADDR] [--public-url URL] [--max-upload MIB]

Serves the web app: log in, see the dashboard, search leads and see where every value came
from, upload CSV files with a preview of how they will be read, follow imports, manage users
and read the audit trail. Create the first user with "leadmailer init --admin NAME".

It listens on 127.0.0.1:8080 unless told otherwise. To reach it from other machines, put it
behind a reverse proxy that terminates HTTPS and give --public-url https://...: cookies are then
marked Secure. SIGINT or SIGTERM stops it cleanly: requests in flight finish, and imports still
running end as failed runs that importing the file again completes.

Flags:
  --listen ADDR       address to listen on (default 127.0.0.1:8080; :0 picks a free port)
  --public-url URL    the address users reach the app at, e.g. https://leads.example.com
  --max-upload MIB    largest CSV upload, in MiB (default 200)
  --data DIR          data directory (default ./leadmailer-data, or LEADMAILER_DATA)

Examples:
  leadmailer serve
  leadmailer serve --listen 0.0.0.0:8080 --public-url https://leads.example.com
`,
		run: runServe,
	}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("serve", e)
	listen := fs.String("listen", "127.0.0.1:8080", "")
	publicURL := fs.String("public-url", "", "")
	maxUpload := fs.Int64("max-upload", 200, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve takes no arguments, got %q", rest)
	}
	if *maxUpload <= 0 {
		return usagef("--max-upload %d: give a size in MiB, such as 200", *maxUpload)
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	app, err := web.New(db, web.Options{DataDir: *dataDir, PublicURL: *publicURL, MaxUpload: *maxUpload << 20, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	fmt.Fprintf(e.stdout, "Serving the web app on http://%s (stop with Ctrl-C)\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stdout, "Stopping: finishing requests in flight…")
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(stopCtx)
	if aerr := app.Shutdown(stopCtx); err == nil {
		err = aerr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(e.stdout, "Stopped.")
	return nil
}
