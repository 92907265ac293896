package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/webhooks"
)

// startWebhooks records the configuration's [[webhooks]] subscriptions in the database, so
// that every process queues their events from now on, and starts sending the queue until
// ctx ends. The returned wait waits for the deliveries in flight.
func startWebhooks(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger, e *env) (wait func(), err error) {
	subs := map[string][]string{}
	var endpoints []webhooks.Endpoint
	for _, h := range cfg.Webhooks {
		secret, err := h.ResolveSecret(func(name string) (string, bool) {
			v := e.getenv(name)
			return v, v != ""
		})
		if err != nil {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "%v", err)
		}
		subs[h.URL] = h.Events
		endpoints = append(endpoints, webhooks.Endpoint{URL: h.URL, Secret: []byte(secret), IncludeEmail: h.IncludeEmail})
	}
	// Written even when there are none, so that endpoints taken out of the file stop
	// getting events queued.
	if err := db.SetWebhookSubscriptions(ctx, subs); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	if len(endpoints) == 0 {
		close(done)
		return func() { <-done }, nil
	}
	s := &webhooks.Sender{Store: db, Endpoints: endpoints, Log: log}
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("webhooks", "err", err)
		}
	}()
	fmt.Fprintf(e.stdout, "Sending webhooks to %s\n", plural(len(endpoints), "endpoint", "endpoints"))
	return func() { <-done }, nil
}
