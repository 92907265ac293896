package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

func leadsCommand() *command {
	return &command{
		name:    "leads",
		summary: "list, show, export or erase leads; end or renew a relationship",
		usage: `Usage:
  leadmailer leads list [--country CC] [--source NAME] [--state active|inactive] [--json]
  leadmailer leads show EMAIL [--json]
  leadmailer leads export EMAIL [--format json|csv]
  leadmailer leads erase EMAIL [--reason R]
  leadmailer leads end-relationship EMAIL
  leadmailer leads reactivate EMAIL
  leadmailer leads deliverable EMAIL

list prints every lead matching the filters, in the order they were created; --json prints a
JSON array. show prints one lead: each field's value with the import run and source that
supplied it, then its whole provenance history, one entry per imported row, with the values as
they were received.

export answers an access request: everything held about the address (every field with the
source and date that supplied it, every source with its dates and the fields it supplied,
the provenance, website queries with IP address and browser, consents, campaigns sent, the
rows imports rejected that carried the address, and whether the address is suppressed), as
JSON or as CSV with one row per item.

erase answers an erasure request: it deletes the lead, its provenance, website queries and
consents, the rows imports rejected that carried the address (in the database and in the
rejects files of DATA/rejects that older versions wrote), and the mail server's replies in
its send records (the rows stay, so campaign totals stay right), and keeps only a keyed hash
of the address on the suppression list, so that no later import brings the person back. It
cannot be undone; an address with no lead is still suppressed, and its rejected rows go.

export, erase, end-relationship and reactivate are recorded in the audit trail ("leadmailer
audit --action lead."), naming the lead by its ID, never by its address.

end-relationship makes a lead inactive now: it is no longer mailed and is deleted when the
retention period (retention.delete_after) runs out. reactivate makes it active again, unless
the address is suppressed.

deliverable withdraws the lead's undeliverable mark (written when a relay answered 5.1.x to
it), so that campaigns mail it again; it is recorded in the audit trail.

Examples:
  leadmailer leads list --country FI
  leadmailer leads show anna@example.fi --json
  leadmailer leads export anna@example.fi > anna-access-request.json
  leadmailer leads export anna@example.fi --format csv > anna.csv
  leadmailer leads erase anna@example.fi --reason "request by e-mail 2026-03-02"
  leadmailer leads end-relationship anna@example.fi
`,
		run: runLeads,
	}
}

func runLeads(ctx context.Context, e *env, args []string) error {
	const say = "say list or show, or export, erase, end-relationship, reactivate or deliverable"
	if len(args) == 0 {
		return usagef("%s", say)
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	switch args[0] {
	case "list":
		return runLeadsList(ctx, e, args[1:])
	case "show":
		return runLeadsShow(ctx, e, args[1:])
	case "export":
		return runLeadsExport(ctx, e, args[1:])
	case "erase":
		return runLeadsErase(ctx, e, args[1:])
	case "end-relationship", "reactivate":
		return runLeadsState(ctx, e, args[0], args[1:])
	case "deliverable":
		return runLeadsDeliverable(ctx, e, args[1:])
	}
	return usagef("unknown leads command %q: %s", args[0], say)
}

func runLeadsList(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("leads list", e)
	country := fs.String("country", "", "")
	source := fs.String("source", "", "")
	state := fs.String("state", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("leads list takes no arguments, got %q", rest)
	}
	filter := store.LeadFilter{Source: *source, State: leadmailer.LeadState(*state)}
	if *country != "" {
		code, ok := leadmailer.NormalizeCountry(*country)
		if !ok {
			return usagef("--country %q is not a country; use an ISO code such as FI", *country)
		}
		filter.Country = code
	}
	if *state != "" && filter.State != leadmailer.LeadActive && filter.State != leadmailer.LeadInactive {
		return usagef("--state %q: use active or inactive", *state)
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := recordAudit(ctx, e, db, leadmailer.AuditLeadList, "", strings.TrimSpace(strings.Join([]string{
		flagDetail("country", *country), flagDetail("source", *source), flagDetail("state", *state)}, " "))); err != nil {
		return err
	}

	if *asJSON {
		return writeJSONArray(e.stdout, func(emit func(any) error) error {
			return db.FindLeads(ctx, filter, func(l *leadmailer.Lead) error { return emit(l) })
		})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tE-MAIL\tNAME\tCOMPANY\tCOUNTRY\tSTATE")
	n := 0
	err = db.FindLeads(ctx, filter, func(l *leadmailer.Lead) error {
		n++
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", l.ID, l.Email, l.Name, l.Company, l.Country, l.State)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, plural(n, "lead", "leads"))
	return nil
}

// writeJSONArray streams a JSON array, one element at a time.
func writeJSONArray(w io.Writer, each func(emit func(any) error) error) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	first := true
	err := each(func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		sep := ",\n"
		if first {
			sep, first = "\n", false
		}
		_, err = fmt.Fprintf(w, "%s  %s", sep, b)
		return err
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]\n")
	return err
}

// fieldOrigin is one of a lead's values with the run that supplied it.
type fieldOrigin struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	RunID  int64  `json:"run_id,omitempty"`
	Source string `json:"source,omitempty"`
	Kind   string `json:"kind,omitempty"`
	// RecordID and Origin say, for a value from a scheduled source, which record at the
	// source and which URL or file supplied it.
	RecordID string `json:"record_id,omitempty"`
	Origin   string `json:"origin,omitempty"`
}

func runLeadsShow(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("leads show", e)
	asJSON := fs.Bool("json", false, "")
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
	lead, err := db.FindLeadByEmail(ctx, rest[0])
	if err != nil {
		return err
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditLeadView, leadTarget(lead.ID), ""); err != nil {
		return err
	}
	obs, err := db.FindObservations(ctx, lead.ID)
	if err != nil {
		return err
	}
	runs := map[int64]*leadmailer.Observation{}
	for i := range obs {
		if _, ok := runs[obs[i].RunID]; !ok {
			runs[obs[i].RunID] = &obs[i]
		}
	}
	var fields []fieldOrigin
	for _, f := range leadmailer.AllFields() {
		fo := fieldOrigin{Field: f.String(), Value: lead.Value(f), RunID: lead.FieldRuns[f]}
		if o := runs[fo.RunID]; o != nil {
			fo.Source, fo.Kind, fo.RecordID, fo.Origin = o.Source, string(o.Kind), o.RecordID, o.Origin
		}
		fields = append(fields, fo)
	}
	undeliverable, why, err := db.IsUndeliverable(ctx, lead.ID)
	if err != nil {
		return err
	}
	bounces, err := db.FindBounces(ctx, lead.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		var reason *string
		if undeliverable {
			reason = &why
		}
		return enc.Encode(struct {
			Lead          *leadmailer.Lead         `json:"lead"`
			Undeliverable *string                  `json:"undeliverable,omitempty"`
			Fields        []fieldOrigin            `json:"fields"`
			Provenance    []leadmailer.Observation `json:"provenance"`
			Bounces       []store.Bounce           `json:"bounces"`
		}{lead, reason, fields, obs, append([]store.Bounce{}, bounces...)})
	}
	w := e.stdout
	fmt.Fprintf(w, "Lead %d: %s (%s; created %s, first imported by run %d)\n\n", lead.ID, lead.Email, lead.State,
		lead.CreatedAt.Format(time.RFC3339), lead.FirstRunID)
	if undeliverable {
		fmt.Fprintf(w, "Undeliverable: %s\n\n", why)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tVALUE\tSUPPLIED BY")
	for _, fo := range fields {
		origin := ""
		if fo.RunID != 0 {
			origin = fmt.Sprintf("run %d, %s (%s)", fo.RunID, fo.Source, fo.Kind)
			if fo.RecordID != "" {
				origin += ", record " + fo.RecordID
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", fo.Field, fo.Value, origin)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nProvenance (%s, oldest first):\n", plural(len(obs), "observation", "observations"))
	for _, o := range obs {
		file := ""
		if o.FileName != "" {
			file = " " + o.FileName
		}
		fmt.Fprintf(w, "- %s run %d, source %s (%s)%s row %d:\n", o.ObservedAt.Format(time.RFC3339), o.RunID,
			o.Source, o.Kind, file, o.Row)
		if o.Origin != "" {
			fmt.Fprintf(w, "    from %s", o.Origin)
			if o.RecordID != "" {
				fmt.Fprintf(w, ", record %s", o.RecordID)
			}
			if o.RetrievedAt != nil {
				fmt.Fprintf(w, ", retrieved %s", o.RetrievedAt.Format(time.RFC3339))
			}
			fmt.Fprintln(w)
		}
		for _, f := range o.Supplied.Fields() {
			fmt.Fprintf(w, "    %s: %q\n", f, o.Received[f.String()])
		}
	}
	if len(bounces) > 0 {
		fmt.Fprintf(w, "\nBounces and complaints (%d, newest first):\n", len(bounces))
		for _, b := range bounces {
			fmt.Fprintf(w, "- %s campaign %d: %s %s, via %s from %s: %s\n", b.ReceivedAt.Format(time.RFC3339), b.CampaignID,
				b.Kind, strings.TrimSpace(b.Status+" "+b.Diagnostic), b.Via, orDash(b.Reporter), bounceActionText[b.Action])
		}
	}
	return nil
}

// bounceActionText says what a recorded bounce did, for people.
var bounceActionText = map[string]string{
	store.BounceMarked:     "marked the lead undeliverable",
	store.BounceCounted:    "counted",
	store.BounceSuppressed: "address suppressed",
	store.BounceHeld:       "held: part of a burst from one server, the campaign was paused instead",
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
