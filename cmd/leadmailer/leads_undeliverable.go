package main

import (
	"context"
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// runLeadsDeliverable withdraws a lead's undeliverable mark: one a relay fault wrote that
// the campaign's circuit breaker did not catch, or one for an address that works again.
func runLeadsDeliverable(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("leads deliverable", e)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("give one e-mail address")
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := db.FindLeadByEmail(ctx, rest[0])
	if err != nil {
		return err
	}
	reason, err := db.ClearUndeliverable(ctx, l.ID)
	if err != nil {
		return err
	}
	// The entry does not quote the mark's reason: a relay's reply often quotes the address,
	// and the trail must not hold addresses.
	if err := recordAudit(ctx, e, db, leadmailer.AuditLeadDeliverable, leadTarget(l.ID), "mark withdrawn"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Lead %d is no longer marked undeliverable (the mark said: %s); campaigns mail it again.\n", l.ID, reason)
	return nil
}
