package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/rejectfiles"
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
    unsubscribe link of a message sent to it before still suppresses it when used;
  - the rows imports rejected are deleted rejects (default 30d) after the import, from the
    database and, as whole files, from DATA/rejects.

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
	r := &retention.Runner{Store: db, Policy: retention.PolicyFromConfig(cfg.Retention),
		RejectsDir: rejectfiles.Dir(*dataDir)}
	rep, err := r.Apply(ctx, *dryRun)
	if err != nil {
		return err
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditRetentionRun, "", retentionAuditDetail(rep)); err != nil {
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
	fmt.Fprintf(e.stdout, "Rejected import rows older than %s: %s and %s %sdeleted.\n", config.Duration(r.Policy.Rejects),
		plural(rep.Rejects.Rows, "row", "rows"), plural(rep.Rejects.Files, "rejects file", "rejects files"), verb)
	if rep.DryRun {
		fmt.Fprintln(e.stdout, "Dry run: nothing was changed.")
	}
	return nil
}

// retentionAuditDetail sums up a retention run for its audit entry.
func retentionAuditDetail(rep *retention.Report) string {
	rejects := fmt.Sprintf("%s and %s", plural(rep.Rejects.Rows, "rejected import row", "rejected import rows"),
		plural(rep.Rejects.Files, "rejects file", "rejects files"))
	if rep.DryRun {
		return fmt.Sprintf("dry run: checked %d, would make inactive %d, would delete %s; would delete %s",
			rep.Checked, len(rep.Deactivated), plural(len(rep.Deleted), "lead", "leads"), rejects)
	}
	return fmt.Sprintf("checked %d, made inactive %d, deleted %s (%s); deleted %s",
		rep.Checked, len(rep.Deactivated), plural(rep.Removed.Leads, "lead", "leads"),
		removedCounts(rep.Removed.Observations, rep.Removed.WebsiteQueries, rep.Removed.Consents, ", "), rejects)
}
