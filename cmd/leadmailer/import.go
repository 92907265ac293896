package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
)

func importCommand() *command {
	return &command{
		name:    "import",
		summary: "import leads from a CSV file, recording where every value came from",
		usage: `Usage: leadmailer import FILE --source NAME [flags]

Imports the leads in a CSV file. Every row becomes (or updates) a lead matched by e-mail address,
case-insensitively, and leaves an observation saying which run, row and values it supplied.
A new non-empty value updates a field; an empty one never blanks it. A bad row is rejected on its
own with the reason, and the rest of the file is imported. Suppressed addresses are never re-added.

The file may be UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252 as Excel saves it;
the delimiter may be , ; tab or |. Both are detected. Headers are matched ignoring case, spaces and
punctuation, in English, Finnish, Swedish and German ("E-mail", "Sähköposti", "Company name",
"Yritys", "Maa", "First name" + "Last name", ...). Columns that match no field are not stored.
Use FILE "-" to read standard input.

Flags:
  --source NAME      where the file came from, e.g. "trade-fair-2026" (required)
  --kind KIND        upload (default) or public, for data from a public database
  --map 'HEADER=FIELD'
                     send a column to a field, or "-" to skip it; repeat for more columns.
                     Fields: email, name, first_name, last_name, company, country,
                     business_id, job_title, website, phone, city
  --delimiter C      force the delimiter: , ; | or tab
  --encoding E       force the encoding: utf-8, utf-16le, utf-16be, windows-1252,
                     iso-8859-1, iso-8859-15
  --dry-run          report what the import would do, without changing anything
  --rejects FILE     also write the rejected rows, with the reason for each, to FILE (created
                     only when a row is rejected); fix them and import the file again. They
                     are stored with the run in any case, unless --dry-run: get them with
                     "leadmailer imports rejects RUN"
  --json             print the report as one JSON object
  --data DIR         data directory (default ./leadmailer-data, or LEADMAILER_DATA)

Examples:
  leadmailer import contacts.csv --source crm-export
  leadmailer import fair.csv --source fair-2026 --map 'Sposti=email' --map 'Notes=-'
  leadmailer import registry.csv --source prh --kind public --dry-run
`,
		run: runImport,
	}
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("import", e)
	source := fs.String("source", "", "")
	kind := fs.String("kind", string(leadmailer.KindUpload), "")
	var maps multiFlag
	fs.Var(&maps, "map", "")
	delimiter := fs.String("delimiter", "", "")
	encoding := fs.String("encoding", "", "")
	dryRun := fs.Bool("dry-run", false, "")
	rejectsPath := fs.String("rejects", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("give exactly one FILE to import")
	}
	if strings.TrimSpace(*source) == "" {
		return usagef("--source is required: name where the file came from, e.g. --source crm-export")
	}
	k := leadmailer.SourceKind(*kind)
	if k != leadmailer.KindUpload && k != leadmailer.KindPublic {
		return usagef("--kind %q: use upload or public", *kind)
	}
	overrides, err := importer.ParseMap(maps)
	if err != nil {
		return usagef("%v", err)
	}

	in, name, size, err := openInput(rest[0], e)
	if err != nil {
		return err
	}
	defer in.Close()
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()

	opts := importer.Options{
		Source: *source, Kind: k, FileName: name, Actor: actor(e), Map: overrides,
		Delimiter: *delimiter, Encoding: *encoding, DryRun: *dryRun,
	}
	// The rejects are stored with the run; --rejects writes them to a file as well.
	rejects := &importer.RejectsFile{Path: *rejectsPath}
	defer rejects.Close()
	if *rejectsPath != "" {
		opts.Rejects = rejects
	}

	bar := newProgressBar(e)
	opts.Size, opts.Progress = size, bar.update
	rep, importErr := importer.Import(ctx, db, in, opts)
	bar.done()
	if err := rejects.Close(); err != nil && importErr == nil {
		importErr = fmt.Errorf("write rejects file %s (--rejects): %w", *rejectsPath, err)
	}
	if rep == nil {
		return importErr
	}
	if !rep.DryRun {
		if err := recordAudit(ctx, e, db, leadmailer.AuditImport, fmt.Sprintf("run %d", rep.Run.ID),
			importAuditDetail(rep.Run)); err != nil && importErr == nil {
			importErr = err
		}
	}
	if *asJSON {
		if err := writeImportJSON(e.stdout, rep, rejects.Created(), importErr); err != nil {
			return err
		}
	} else {
		printImportReport(e.stdout, rep, rejects.Created())
	}
	return importErr
}

// writeImportJSON prints an import's report as one JSON object, with the rejects file and
// the error of a failed run.
func writeImportJSON(w io.Writer, rep *importer.Report, rejectsFile string, importErr error) error {
	out := struct {
		*importer.Report
		RejectsFile string `json:"rejects_file,omitempty"`
		Error       string `json:"error,omitempty"`
	}{Report: rep, RejectsFile: rejectsFile}
	if importErr != nil {
		out.Error = importErr.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// openInput opens FILE, or standard input for "-".
func openInput(path string, e *env) (io.ReadCloser, string, int64, error) {
	if path == "-" {
		return io.NopCloser(e.stdin), "stdin", 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", 0, err
	}
	if st.IsDir() {
		f.Close()
		return nil, "", 0, fmt.Errorf("%s is a directory; give a CSV file", path)
	}
	return f, filepath.Base(path), st.Size(), nil
}

func printImportReport(w io.Writer, rep *importer.Report, rejectsFile string) {
	run := rep.Run
	verb := "Imported"
	if rep.DryRun {
		verb = "Dry run (nothing was changed) of"
	}
	fmt.Fprintf(w, "%s %s as source %q: run %d %s in %s (%.0f rows/s)\n", verb, run.FileName, run.Source,
		run.ID, run.Status, rep.Duration.Round(time.Millisecond), rep.RowsPerS)
	switch {
	case rep.Delimiter != "":
		fmt.Fprintf(w, "Encoding %s, delimiter %s\n", rep.Encoding, rep.Delimiter)
	case rep.Encoding != "":
		fmt.Fprintf(w, "Encoding %s\n", rep.Encoding)
	}
	var cols []string
	for _, c := range rep.Columns {
		if c.Field != "-" {
			cols = append(cols, fmt.Sprintf("%s -> %s", c.Header, c.Field))
		}
	}
	if len(cols) > 0 {
		fmt.Fprintf(w, "Columns: %s\n", strings.Join(cols, ", "))
	}
	if len(rep.Unmapped) > 0 {
		fmt.Fprintf(w, "Not stored (no matching field): %s\n", importer.ListSome(rep.Unmapped))
	}
	c := run.Counts
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	type line struct {
		label string
		n     int64
	}
	lines := []line{
		{"rows read", c.Read}, {"inserted", c.Inserted}, {"updated", c.Updated},
		{"unchanged", c.Unchanged}, {"duplicates in file", c.Duplicates},
		{"suppressed", c.Suppressed}, {"rejected", c.Rejected},
	}
	if c.Skipped > 0 { // only scheduled sources skip records
		lines = append(lines, line{"skipped (no e-mail, no lead)", c.Skipped})
	}
	for _, l := range lines {
		fmt.Fprintf(tw, "  %s\t%d\t\n", l.label, l.n)
	}
	tw.Flush()
	printRejects(w, rep, rejectsFile)
}

// printRejects tells what the run rejected: the first rows with their reasons, and where
// all of them are.
func printRejects(w io.Writer, rep *importer.Report, rejectsFile string) {
	c := rep.Run.Counts
	if c.Rejected == 0 {
		return
	}
	fmt.Fprintf(w, "%s rejected:\n", plural(c.Rejected, "row", "rows"))
	for _, r := range rep.FirstRejects {
		fmt.Fprintf(w, "  row %d: %s\n", r.Row, r.Reason)
	}
	if more := c.Rejected - int64(len(rep.FirstRejects)); more > 0 {
		fmt.Fprintf(w, "  and %d more\n", more)
	}
	if rejectsFile != "" {
		fmt.Fprintf(w, "All rejected rows, with the reason for each, are in %s\n", rejectsFile)
	}
	switch {
	case rep.DryRun && rejectsFile == "":
		fmt.Fprintf(w, "A dry run stores nothing: give --rejects FILE to get all rejected rows in a file\n")
	case !rep.DryRun:
		fmt.Fprintf(w, "Get all rejected rows, with the reason for each: leadmailer imports rejects %d --output rejects.csv\n", rep.Run.ID)
	}
}
