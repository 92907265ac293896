package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/csvsafe"
	"github.com/leadmailer/leadmailer/rejectfiles"
	"github.com/leadmailer/leadmailer/store"
)

func runLeadsExport(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("leads export", e)
	format := fs.String("format", "json", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("give one e-mail address")
	}
	if *format != "json" && *format != "csv" {
		return usagef("--format %q: use json or csv", *format)
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	x, err := db.ExportLead(ctx, rest[0])
	if err != nil {
		return err
	}
	// The export is recorded before anything is shown, naming the lead by ID: the trail
	// outlives a later erasure.
	target, detail := "", fmt.Sprintf("no lead with this address: %s, %s",
		plural(len(x.Rejects), "rejected import row", "rejected import rows"), plural(len(x.Suppressions), "suppression", "suppressions"))
	if x.Lead != nil {
		target, detail = leadTarget(x.Lead.ID), fmt.Sprintf("%s, %s, %s, %s",
			plural(len(x.Sources), "source", "sources"), plural(len(x.Campaigns), "campaign", "campaigns"),
			plural(len(x.Rejects), "rejected import row", "rejected import rows"),
			plural(len(x.Suppressions), "suppression", "suppressions"))
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditLeadExport, target, "format "+*format+": "+detail); err != nil {
		return err
	}
	if *format == "csv" {
		return writeExportCSV(e, x)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// writeExportCSV writes an export as one row per item: section, field, value, source, kind,
// date. Spreadsheets open it as it is, which is what most people asking for their data use;
// so a value that would start a formula gets a single quote in front (see csvsafe). The JSON
// export keeps every value exactly.
func writeExportCSV(e *env, x *store.LeadExport) error {
	w := csvsafe.NewWriter(e.stdout)
	w.Write([]string{"section", "field", "value", "source", "kind", "date"})
	date := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	if x.Lead != nil {
		l := x.Lead
		for _, f := range x.Fields {
			if f.Value != "" {
				w.Write([]string{"field", f.Field, f.Value, f.Source, f.Kind, date(f.SuppliedAt)})
			}
		}
		w.Write([]string{"state", "state", string(l.State), "", "", date(x.InactiveSince)})
		w.Write([]string{"state", "created_at", "", "", "", date(&l.CreatedAt)})
		if x.LastActivityAt != nil {
			w.Write([]string{"state", "last_activity_at", "", "", "", date(x.LastActivityAt)})
		}
	}
	for _, s := range x.Sources {
		first, last := s.FirstSeen, s.LastSeen
		w.Write([]string{"source", "first_seen", "", s.Source, s.Kind, date(&first)})
		w.Write([]string{"source", "last_seen", "", s.Source, s.Kind, date(&last)})
		w.Write([]string{"source", "observations", strconv.Itoa(s.Observations), s.Source, s.Kind, ""})
		for _, f := range s.Fields {
			w.Write([]string{"source", "supplied", f, s.Source, s.Kind, ""})
		}
	}
	for _, o := range x.Provenance {
		at := o.ObservedAt
		for _, f := range o.Supplied.Fields() {
			w.Write([]string{"provenance", f.String(), o.Received[f.String()], o.Source, string(o.Kind), date(&at)})
		}
	}
	for _, q := range x.WebsiteQueries {
		at := q.ReceivedAt
		for _, kv := range [][2]string{{"message", q.Message}, {"ip", q.IP}, {"user_agent", q.UserAgent}, {"consent_version", q.ConsentVersion}} {
			w.Write([]string{"website_query", kv[0], kv[1], store.WebsiteSource, "website", date(&at)})
		}
	}
	for _, c := range x.Consents {
		given := c.GivenAt
		w.Write([]string{"consent", c.Purpose, c.TextVersion, "", "", date(&given)})
		if c.WithdrawnAt != nil {
			w.Write([]string{"consent_withdrawn", c.Purpose, c.TextVersion, "", "", date(c.WithdrawnAt)})
		}
	}
	for _, c := range x.Campaigns {
		at := c.SentAt
		status := c.Status
		if c.Reason != "" {
			status += ": " + c.Reason
		}
		w.Write([]string{"campaign", strconv.FormatInt(c.CampaignID, 10), c.Name, status, "", date(&at)})
	}
	// A rejected row is one row per field it held, its source and the run and row it was
	// in, with the reason.
	for _, j := range x.Rejects {
		at := j.CreatedAt
		where := fmt.Sprintf("run %d row %d", j.RunID, j.Row)
		for _, kv := range [][2]string{{"reason", j.Reason}, {"email", j.Email}, {"name", j.Name}, {"company", j.Company},
			{"country", j.Country}, {"business_id", j.BusinessID}, {"job_title", j.JobTitle}, {"website", j.Website},
			{"phone", j.Phone}, {"city", j.City}} {
			if kv[1] != "" || kv[0] == "reason" {
				w.Write([]string{"rejected_row", kv[0], kv[1], j.Source, where, date(&at)})
			}
		}
	}
	for _, s := range x.Suppressions {
		at := s.CreatedAt
		w.Write([]string{"suppression", s.Kind, s.Origin, "", "", date(&at)})
	}
	w.Flush()
	return w.Error()
}

func runLeadsErase(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("leads erase", e)
	reason := fs.String("reason", "erasure request", "")
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
	er, err := db.EraseLead(ctx, rest[0], *reason)
	if err != nil {
		return err
	}
	// The database is erased; the rejects files older versions left in the data directory
	// follow. A file that cannot be rewritten is named in the error, after the audit entry
	// and the counts of what did go.
	files, filesErr := rejectfiles.Erase(rejectfiles.Dir(*dataDir), rest[0])
	// The entry names the lead by ID and the suppression by its hash, never the address,
	// nor the reason, which an administrator may have written the address into.
	target := ""
	if er.LeadID != 0 {
		target = leadTarget(er.LeadID)
	}
	detail := fmt.Sprintf("suppression %s; removed %s", er.SuppressionHash[:16], erasedCounts(er, files, ", "))
	if filesErr != nil {
		detail += "; some rejects files could not be rewritten"
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditLeadErase, target, detail); err != nil {
		return err
	}
	switch {
	case er.LeadID != 0:
		fmt.Fprintf(e.stdout, "Erased lead %d with %s.\n", er.LeadID, erasedCounts(er, files, " and "))
		fmt.Fprintf(e.stdout, "Kept only suppression hash %s…, so that no import brings the address back.\n", er.SuppressionHash[:16])
	case er.Rejects+files.Rows > 0:
		fmt.Fprintf(e.stdout, "No lead had this address; erased %s that had it. It is now suppressed, so no import will add it.\n",
			rejectedRows(er, files))
	default:
		fmt.Fprintln(e.stdout, "No lead had this address; it is now suppressed, so no import will add it.")
	}
	if filesErr != nil {
		return fmt.Errorf("the database holds nothing more of the address, but %w", filesErr)
	}
	return nil
}

// erasedCounts lists what an erasure removed, the last item after sep.
func erasedCounts(er *store.Erasure, files rejectfiles.Erased, sep string) string {
	return plural(er.Observations, "provenance row", "provenance rows") + ", " +
		plural(er.WebsiteQueries, "website query", "website queries") + ", " +
		plural(er.Consents, "consent", "consents") + sep + rejectedRows(er, files)
}

// rejectedRows counts the rejected import rows an erasure removed, from the database and
// from rejects files.
func rejectedRows(er *store.Erasure, files rejectfiles.Erased) string {
	s := plural(er.Rejects+files.Rows, "rejected import row", "rejected import rows")
	if files.Rows > 0 {
		s += fmt.Sprintf(" (%d of them in %s)", files.Rows, plural(files.Files, "rejects file", "rejects files"))
	}
	return s
}

// leadTarget names a lead in the audit trail by its ID.
func leadTarget(id int64) string { return fmt.Sprintf("lead %d", id) }

func runLeadsState(ctx context.Context, e *env, sub string, args []string) error {
	fs, dataDir := newFlags("leads "+sub, e)
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
	if sub == "reactivate" {
		l, err := db.ReactivateLead(ctx, rest[0])
		if err != nil {
			return err
		}
		if err := recordAudit(ctx, e, db, leadmailer.AuditLeadReactivate, leadTarget(l.ID), ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Lead %d is active again; the inactivity period starts afresh.\n", l.ID)
		return nil
	}
	l, err := db.EndRelationship(ctx, rest[0])
	if err != nil {
		return err
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditLeadEndRelationship, leadTarget(l.ID), ""); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Lead %d is inactive: it is no longer mailed, and retention deletes it when retention.delete_after has passed.\n", l.ID)
	return nil
}
