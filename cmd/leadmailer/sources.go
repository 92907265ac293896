package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/sources"
	"github.com/leadmailer/leadmailer/store"
)

func sourcesCommand() *command {
	return &command{
		name:    "sources",
		summary: "list the public databases leadmailer imports from, or run one now",
		usage: `Usage:
  leadmailer sources list [--json] [--config FILE] [--data DIR]
  leadmailer sources run NAME [--json] [--config FILE] [--data DIR]

Sources are the public databases declared as [[sources]] in the configuration file: HTTP APIs
or downloads answering JSON or CSV, and files dropped into a folder. "leadmailer serve" runs each
on its schedule; "sources run" runs one now. Every run is an import run of kind public (or
upload, for a source with public = false): its records go through the same checks as a CSV
import, and each stored value remembers the source, the record's ID there, the URL or file and
the time it was retrieved. A record without an e-mail address enriches the leads with the same
business ID and is counted as skipped when there is none.

  list   each source with its schedule, next run, and its last run's status and counts
  run    fetch and import one source now, printing the same report as "leadmailer import";
         an unchanged source (HTTP 304, or no new file) makes a run with status unchanged

Each import run of "sources run" is recorded in the audit trail as source.run, with its counts.

Run "leadmailer config example" for a commented source declaration.

Examples:
  leadmailer sources list
  leadmailer sources run prh
  leadmailer sources run opendata-bulk --json
`,
		run: runSources,
	}
}

func runSources(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say list or run")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	fs, dataDir := newFlags("sources "+args[0], e)
	configPath := configFlag(fs, e)
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		if len(rest) > 0 {
			return usagef("sources list takes no arguments, got %q", rest)
		}
	case "run":
		if len(rest) != 1 {
			return usagef("give the NAME of one source to run")
		}
	default:
		return usagef("unknown sources command %q: say list or run", args[0])
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
	if args[0] == "list" {
		return listSources(ctx, e, db, cfg, *asJSON)
	}
	src := findSource(cfg, rest[0])
	if src == nil {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "no source %q in %s: %s", rest[0], configName(cfg), sourceNames(cfg))
	}
	runner := newRunner(e, db, actor(e), slog.LevelWarn)
	results, runErr := runner.Run(ctx, src)
	// Every run is recorded, failed or not, before its report is printed.
	for _, res := range results {
		if res.Report == nil || res.Report.Run == nil {
			continue
		}
		detail := importAuditDetail(res.Report.Run)
		if res.Err != nil {
			detail += ": " + res.Err.Error()
		}
		if err := recordAudit(ctx, e, db, leadmailer.AuditSourceRun, fmt.Sprintf("run %d", res.Report.Run.ID), detail); err != nil {
			return err
		}
	}
	for _, res := range results {
		if *asJSON {
			if err := writeImportJSON(e.stdout, res.Report, "", res.Err); err != nil {
				return err
			}
			continue
		}
		run := res.Report.Run
		switch {
		case run.Status == leadmailer.RunUnchanged:
			fmt.Fprintf(e.stdout, "Source %q: run %d unchanged: %s has not changed since the last run; nothing to import.\n",
				run.Source, run.ID, run.FileName)
		case run.Status == leadmailer.RunFailed && run.Counts.Read == 0:
			fmt.Fprintf(e.stdout, "Source %q: run %d failed before importing anything; the leads are as they were.\n",
				run.Source, run.ID)
		default:
			printImportReport(e.stdout, res.Report, "")
		}
	}
	return runErr
}

// newRunner returns a source runner that logs to standard error from level on. API keys in headers never reach the log.
func newRunner(e *env, db *store.DB, actor string, level slog.Level) *sources.Runner {
	dataDir := db.DataDir()
	return &sources.Runner{
		Store: db, Getenv: e.getenv, Actor: actor,
		LockDir: locksDir(dataDir),
		Log:     slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),
	}
}

func findSource(cfg *config.Config, name string) *config.Source {
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == name {
			return &cfg.Sources[i]
		}
	}
	return nil
}

func configName(cfg *config.Config) string {
	if cfg.Path == "" {
		return "the configuration (there is no configuration file)"
	}
	return cfg.Path
}

func sourceNames(cfg *config.Config) string {
	if len(cfg.Sources) == 0 {
		return "no source is declared; see \"leadmailer config example\""
	}
	names := "the sources are"
	for i, s := range cfg.Sources {
		if i > 0 {
			names += ","
		}
		names += " " + s.Name
	}
	return names
}

// sourceInfo is one line of "sources list".
type sourceInfo struct {
	Name     string                `json:"name"`
	Title    string                `json:"title"`
	Kind     string                `json:"kind"`
	Location string                `json:"location"`
	Format   string                `json:"format"`
	Public   bool                  `json:"public"`
	Licence  string                `json:"licence,omitempty"`
	Schedule string                `json:"schedule,omitempty"`
	Timezone string                `json:"timezone,omitempty"`
	NextRun  *time.Time            `json:"next_run,omitempty"`
	LastRun  *leadmailer.ImportRun `json:"last_run,omitempty"`
}

func listSources(ctx context.Context, e *env, db *store.DB, cfg *config.Config, asJSON bool) error {
	now := time.Now()
	infos := []sourceInfo{}
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		info := sourceInfo{Name: s.Name, Title: s.Title, Kind: s.Kind, Location: s.URL, Format: s.Format,
			Public: s.IsPublic(), Licence: s.Licence, Schedule: s.Schedule, Timezone: s.Timezone}
		if s.Kind == "file" {
			info.Location = s.Path
		}
		if s.Schedule != "" {
			if sched, err := config.ParseSchedule(s.Schedule, s.Timezone); err == nil {
				next := sched.Next(now)
				info.NextRun = &next
			}
		}
		runs, err := db.FindImportRuns(ctx, s.Name, 1)
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			info.LastRun = runs[0]
			info.LastRun.Status = info.LastRun.EffectiveStatus(now)
		}
		infos = append(infos, info)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintf(e.stdout, "No sources in %s; see \"leadmailer config example\" to declare one.\n", configName(cfg))
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tKIND\tSCHEDULE\tNEXT RUN\tLAST RUN\tSTATUS\tREAD\tNEW\tUPDATED\tREJECTED\tSKIPPED")
	for _, in := range infos {
		schedule, next := "manual", "-"
		if in.Schedule != "" {
			schedule = in.Schedule
			if in.Timezone != "" {
				schedule += " " + in.Timezone
			}
		}
		if in.NextRun != nil {
			next = in.NextRun.Local().Format("2006-01-02 15:04")
		}
		last := "never\t-\t-\t-\t-\t-\t-"
		if r := in.LastRun; r != nil {
			c := r.Counts
			last = fmt.Sprintf("%d, %s\t%s\t%d\t%d\t%d\t%d\t%d", r.ID, r.StartedAt.Local().Format("2006-01-02 15:04"),
				r.Status, c.Read, c.Inserted, c.Updated, c.Rejected, c.Skipped)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", in.Name, in.Kind, in.Format, schedule, next, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, in := range infos {
		if in.LastRun != nil && in.LastRun.Error != "" && in.LastRun.Status == leadmailer.RunFailed {
			fmt.Fprintf(e.stdout, "%s, run %d: %s\n", in.Name, in.LastRun.ID, in.LastRun.Error)
		}
	}
	return nil
}
