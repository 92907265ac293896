package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/retention"
	"github.com/leadmailer/leadmailer/store"
)

func retentionCommand() *command {
	return &command{
		name:    "retention",
		summary: "make unused leads inactive and delete long-inactive ones, as the policy says",
		usage: `Usage: leadmailer retention run [--dry-run] [--json] [--config FILE]

Applies the retention policy of the configuration's [retention] section:

  - an active lead with no activity for inactive_after (default 730d) becomes inactive and is
    never mailed; activity is an import observing it, a website query, a send, or a
    reactivation, and an observation from a source counts for that source's period
    ([retention.sources.NAME]);
  - an inactive lead is deleted delete_after (default 365d) after it became inactive, with its
    provenance, website queries and consents; its send records keep their status (campaign
    totals stay) but lose the mail server's replies. Its address is not suppressed, but the
    unsubscribe link of a message sent to it before still suppresses it when used.

Each run is recorded in the audit trail as retention.run, with its counts.

serve runs this on retention.schedule (default daily at 02:30 UTC). "leadmailer leads
end-relationship EMAIL" makes one lead inactive now; "leads reactivate EMAIL" undoes it.

  --dry-run   report what would happen, change nothing
  --json      print the report as JSON, with the IDs of the leads moved and deleted

Examples:
  leadmailer retention run --dry-run
  leadmailer retention run --json
`,
		run: runRetention,
	}
}

func runRetention(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say run")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	if args[0] != "run" {
		return usagef("unknown retention command %q: say run", args[0])
	}
	fs, dataDir := newFlags("retention run", e)
	configPath := configFlag(fs, e)
	dryRun := fs.Bool("dry-run", false, "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("retention run takes no arguments, got %q", rest)
	}
	cfg, err := loadConfig(*dataDir, *configPath, e)
	if err != nil {
		return err
	}
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	r := &retention.Runner{Store: db, Policy: retention.PolicyFromConfig(cfg.Retention)}
	rep, err := r.Apply(ctx, *dryRun)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("checked %d, made inactive %d, deleted %s (%s)",
		rep.Checked, len(rep.Deactivated), plural(rep.Removed.Leads, "lead", "leads"),
		removedCounts(rep.Removed.Observations, rep.Removed.WebsiteQueries, rep.Removed.Consents, ", "))
	if rep.DryRun {
		detail = fmt.Sprintf("dry run: checked %d, would make inactive %d, would delete %s",
			rep.Checked, len(rep.Deactivated), plural(len(rep.Deleted), "lead", "leads"))
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditRetentionRun, "", detail); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	verb, deleted := "", rep.Removed.Leads
	if rep.DryRun {
		verb, deleted = "would be ", int64(len(rep.Deleted))
	}
	fmt.Fprintf(e.stdout, "Checked %s: %d %smade inactive, %d %sdeleted.\n",
		plural(rep.Checked, "lead", "leads"), len(rep.Deactivated), verb, deleted, verb)
	if !rep.DryRun && deleted > 0 {
		fmt.Fprintf(e.stdout, "Deleted with them: %s.\n",
			removedCounts(rep.Removed.Observations, rep.Removed.WebsiteQueries, rep.Removed.Consents, ", "))
	}
	if rep.DryRun {
		fmt.Fprintln(e.stdout, "Dry run: nothing was changed.")
	}
	return nil
}
