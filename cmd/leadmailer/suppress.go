package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

func suppressCommand() *command {
	return &command{
		name:    "suppress",
		summary: "keep addresses, domains or organisations out of every import and every mailing",
		usage: `Usage:
  leadmailer suppress add ADDRESS|@DOMAIN [--reason R]
  leadmailer suppress add --business-id ID [--reason R]
  leadmailer suppress check ADDRESS [--business-id ID]
  leadmailer suppress list [--json]

The suppression list holds everyone who must never be mailed or imported again: people who
objected through an unsubscribe link, people whose data was erased, and entries an
administrator adds. It keeps keyed hashes (HMAC-SHA-256 under the data directory's
secret.key), never the address itself, so it survives erasure and reveals nobody.

  add     suppress one address, every address at a domain and its subdomains (@DOMAIN), or
          every lead with a business ID; leads it covers become inactive at once
  check   say whether an address (and optionally a business ID) is suppressed, and by what
  list    print every entry: hash, kind, origin, reason, date; never an address

Each add is recorded in the audit trail as suppression.add, under the entry's hash.

Examples:
  leadmailer suppress add anna@example.com --reason "asked by phone 2026-03-02"
  leadmailer suppress add @competitor.example --reason "no marketing to competitors"
  leadmailer suppress add --business-id FI1234567-8
  leadmailer suppress check anna@example.com
  leadmailer suppress list --json
`,
		run: runSuppress,
	}
}

func runSuppress(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say add, check or list")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	fs, dataDir := newFlags("suppress "+args[0], e)
	reason := fs.String("reason", "", "")
	businessID := fs.String("business-id", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "add":
		entry := store.SuppressionEntry{Reason: *reason, Origin: store.OriginAdmin}
		switch {
		case *businessID != "" && len(rest) == 0:
			entry.Kind, entry.Value = store.SuppressBusinessID, *businessID
		case *businessID == "" && len(rest) == 1 && strings.HasPrefix(rest[0], "@"):
			entry.Kind, entry.Value = store.SuppressDomain, rest[0]
		case *businessID == "" && len(rest) == 1:
			entry.Kind, entry.Value = store.SuppressAddress, rest[0]
		default:
			return usagef("give one address, one @domain, or --business-id ID")
		}
		db, err := openData(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer db.Close()
		hash, err := db.EntryHash(entry)
		if err != nil {
			return err
		}
		moved, err := db.Suppress(ctx, entry)
		if err != nil {
			return err
		}
		// Named by its hash, as in "suppress list": the trail must not hold the address.
		if err := recordAudit(ctx, e, db, leadmailer.AuditSuppressionAdd, entry.Kind+" "+hash[:16],
			plural(moved, "lead", "leads")+" made inactive"); err != nil {
			return err
		}
		what := map[string]string{store.SuppressAddress: "Address", store.SuppressDomain: "Domain",
			store.SuppressBusinessID: "Business ID"}[entry.Kind]
		fmt.Fprintf(e.stdout, "%s suppressed: it will not be imported or mailed again. %s made inactive.\n", what, plural(moved, "existing lead", "existing leads"))
		return nil
	case "check":
		if len(rest) != 1 {
			return usagef("give one address")
		}
		db, err := openData(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer db.Close()
		found, err := db.CheckSuppression(ctx, rest[0], *businessID)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(struct {
				Suppressed bool                `json:"suppressed"`
				By         []store.Suppression `json:"by"`
			}{len(found) > 0, append([]store.Suppression{}, found...)})
		}
		if len(found) == 0 {
			fmt.Fprintln(e.stdout, "Not suppressed.")
			return nil
		}
		fmt.Fprintln(e.stdout, "Suppressed by:")
		return printSuppressions(e, found)
	case "list":
		if len(rest) > 0 {
			return usagef("suppress list takes no arguments, got %q", rest)
		}
		db, err := openData(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer db.Close()
		if *asJSON {
			return writeJSONArray(e.stdout, func(emit func(any) error) error {
				return db.FindSuppressions(ctx, func(s *store.Suppression) error { return emit(s) })
			})
		}
		var all []store.Suppression
		if err := db.FindSuppressions(ctx, func(s *store.Suppression) error { all = append(all, *s); return nil }); err != nil {
			return err
		}
		if err := printSuppressions(e, all); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, plural(len(all), "entry", "entries"))
		return nil
	}
	return usagef("unknown suppress command %q: say add, check or list", args[0])
}

func printSuppressions(e *env, list []store.Suppression) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HASH\tKIND\tORIGIN\tCAMPAIGN\tDATE\tREASON")
	for _, s := range list {
		campaign := ""
		if s.CampaignID != 0 {
			campaign = fmt.Sprint(s.CampaignID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Hash[:16], s.Kind, s.Origin, campaign,
			s.CreatedAt.Format("2006-01-02"), s.Reason)
	}
	return tw.Flush()
}
