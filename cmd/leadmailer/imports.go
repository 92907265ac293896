package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
)

func importsCommand() *command {
	return &command{
		name:    "imports",
		summary: "list import runs, show one run's report, or get the rows it rejected",
		usage: `Usage:
  leadmailer imports list [--source NAME] [--limit N] [--json]
  leadmailer imports show ID [--json]
  leadmailer imports rejects ID [--output FILE]

Every import is a run with its source, file, checksum, who ran it, when, its counts and its
status: completed, failed (with the error), running, or interrupted (a run whose process
stopped before it finished; importing the same file again completes the job).

imports rejects writes the rows run ID rejected as CSV, with the row number and the reason
for each and the values of the columns the import maps, to standard output or FILE: fix
them in a spreadsheet and import the file again. Whichever way the run was started (this
command, the web app, the API, a schedule), its rejects are in the database. They hold
personal data: each time they are read is recorded in the audit log (import.rejects).

Examples:
  leadmailer imports list --source crm-export
  leadmailer imports show 12 --json
  leadmailer imports rejects 12 --output rejects-12.csv
`,
		run: runImports,
	}
}

func runImports(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say list, show or rejects")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	fs, dataDir := newFlags("imports "+args[0], e)
	asJSON := fs.Bool("json", false, "")
	source := fs.String("source", "", "")
	limit := fs.Int("limit", 50, "")
	output := fs.String("output", "", "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if args[0] == "rejects" {
		return runImportRejects(ctx, e, *dataDir, rest, *output)
	}
	var runs []*leadmailer.ImportRun
	switch args[0] {
	case "list":
		if len(rest) > 0 {
			return usagef("imports list takes no arguments, got %q", rest)
		}
		db, err := openData(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer db.Close()
		if runs, err = db.FindImportRuns(ctx, *source, *limit); err != nil {
			return err
		}
	case "show":
		if len(rest) != 1 {
			return usagef("give one run ID")
		}
		db, run, err := openRun(ctx, *dataDir, rest[0])
		if err != nil {
			return err
		}
		defer db.Close()
		runs = append(runs, run)
	default:
		return usagef("unknown imports command %q: say list, show or rejects", args[0])
	}
	now := time.Now()
	for _, r := range runs {
		r.Status = r.EffectiveStatus(now)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if args[0] == "show" {
			return enc.Encode(runs[0])
		}
		if runs == nil {
			runs = []*leadmailer.ImportRun{}
		}
		return enc.Encode(runs)
	}
	if args[0] == "show" {
		printRun(e, runs[0])
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tSOURCE\tKIND\tFILE\tSTATUS\tREAD\tNEW\tUPDATED\tREJECTED")
	for _, r := range runs {
		c := r.Counts
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", r.ID, r.StartedAt.Format(time.DateTime),
			r.Source, r.Kind, r.FileName, r.Status, c.Read, c.Inserted, c.Updated, c.Rejected)
	}
	return tw.Flush()
}

func printRun(e *env, r *leadmailer.ImportRun) {
	w := e.stdout
	fmt.Fprintf(w, "Run %d: source %q (%s), %s\n", r.ID, r.Source, r.Kind, r.Status)
	if r.FileName != "" {
		fmt.Fprintf(w, "File:     %s\n", r.FileName)
	}
	if r.FileSHA256 != "" {
		fmt.Fprintf(w, "SHA-256:  %s\n", r.FileSHA256)
	}
	fmt.Fprintf(w, "By:       %s\n", r.Actor)
	fmt.Fprintf(w, "Started:  %s\n", r.StartedAt.Format(time.RFC3339))
	if r.FinishedAt != nil {
		fmt.Fprintf(w, "Finished: %s (%s)\n", r.FinishedAt.Format(time.RFC3339), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "Last batch committed: %s\n", r.HeartbeatAt.Format(time.RFC3339))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "Error:    %s\n", r.Error)
	}
	c := r.Counts
	fmt.Fprintf(w, "Rows: %d read, %d inserted, %d updated, %d unchanged, %s in file, %d suppressed, %d rejected\n",
		c.Read, c.Inserted, c.Updated, c.Unchanged, plural(c.Duplicates, "duplicate", "duplicates"), c.Suppressed, c.Rejected)
	if c.Skipped > 0 {
		fmt.Fprintf(w, "Skipped: %s\n", plural(c.Skipped, "record without an e-mail address whose business ID no lead has",
			"records without an e-mail address whose business ID no lead has"))
	}
	if len(r.Unmapped) > 0 {
		fmt.Fprintf(w, "Columns not stored: %s\n", importer.ListSome(r.Unmapped))
	}
}

// openRun opens the data directory's database and finds the import run whose ID is arg. The
// caller closes the database.
func openRun(ctx context.Context, dataDir, arg string) (*store.DB, *leadmailer.ImportRun, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return nil, nil, usagef("run ID %q is not a number", arg)
	}
	db, err := openData(ctx, dataDir)
	if err != nil {
		return nil, nil, err
	}
	run, err := db.FindImportRun(ctx, id)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, run, nil
}

// runImportRejects writes the rows a run rejected as a rejects file, streamed from the
// database a page at a time. A run of an older version's web app or API kept its rejects in
// a file in the data directory instead; that file is copied.
func runImportRejects(ctx context.Context, e *env, dataDir string, args []string, output string) error {
	if len(args) != 1 {
		return usagef("give one run ID: leadmailer imports rejects ID [--output FILE]")
	}
	db, run, err := openRun(ctx, dataDir, args[0])
	if err != nil {
		return err
	}
	defer db.Close()
	stored, err := db.CountImportRejects(ctx, run.ID)
	if err != nil {
		return err
	}
	var legacy *os.File
	if stored == 0 && run.Counts.Rejected > 0 {
		legacy, err = os.Open(importer.LegacyRejectsPath(dataDir, run.ID))
		if os.IsNotExist(err) {
			return leadmailer.Errorf(leadmailer.ENOTFOUND, "import run %d rejected %d rows, but none of them is stored any more: "+
				"retention deletes rejected rows after retention.rejects (30 days by default), erasure deletes a person's, "+
				"and an older version wrote them to a file under %s",
				run.ID, run.Counts.Rejected, filepath.Join(dataDir, "rejects"))
		}
		if err != nil {
			return err
		}
		defer legacy.Close()
	}
	to := "standard output"
	if output != "" {
		to = output
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditRejectsGet, fmt.Sprintf("run %d", run.ID), "to "+to); err != nil {
		return err
	}
	out := e.stdout
	var f *os.File
	if output != "" {
		// The rows hold personal data: the file is the user's alone.
		if f, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		defer f.Close()
		out = f
	}
	if legacy != nil {
		err = importer.CopyRejectsFile(csvsafe.NewWriter(out), legacy)
	} else {
		w := importer.NewRejectsCSV(out)
		if err = w.WriteHeader(); err == nil {
			err = db.EachImportReject(ctx, run.ID, w.Write)
		}
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}
	if err == nil && f != nil {
		err = f.Close()
	}
	if err != nil {
		return fmt.Errorf("write rejects of run %d to %s: %w", run.ID, to, err)
	}
	if output != "" {
		n := stored
		if legacy != nil {
			n = run.Counts.Rejected
		}
		fmt.Fprintf(e.stderr, "Wrote %s of run %d to %s\n", plural(n, "rejected row", "rejected rows"), run.ID, output)
	} else if stored == 0 && legacy == nil {
		fmt.Fprintf(e.stderr, "Run %d rejected no rows\n", run.ID)
	}
	return nil
}
