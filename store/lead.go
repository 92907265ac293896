package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/leadmailer/leadmailer"
)

const leadColumns = `l.id, l.email, l.name, l.company, l.country, l.business_id, l.job_title,
	l.website, l.phone, l.city, l.state, l.created_at, l.updated_at, l.first_run_id,
	coalesce(l.email_run, 0), coalesce(l.name_run, 0), coalesce(l.company_run, 0),
	coalesce(l.country_run, 0), coalesce(l.business_id_run, 0), coalesce(l.job_title_run, 0),
	coalesce(l.website_run, 0), coalesce(l.phone_run, 0), coalesce(l.city_run, 0)`

func scanLead(row interface{ Scan(...any) error }) (*leadmailer.Lead, error) {
	var l leadmailer.Lead
	var created, updated string
	dest := []any{&l.ID, &l.Email, &l.Name, &l.Company, &l.Country, &l.BusinessID, &l.JobTitle,
		&l.Website, &l.Phone, &l.City, &l.State, &created, &updated, &l.FirstRunID}
	for i := range l.FieldRuns {
		dest = append(dest, &l.FieldRuns[i])
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if l.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if l.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &l, nil
}

// FindLeadByEmail returns the lead with the given address, which is normalised first.
func (db *DB) FindLeadByEmail(ctx context.Context, email string) (*leadmailer.Lead, error) {
	norm, err := leadmailer.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	l, err := scanLead(db.sql.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads l WHERE l.email = ?`, norm))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no lead with e-mail %s", norm)
	}
	if err != nil {
		return nil, fmt.Errorf("find lead %s: %w", norm, err)
	}
	return l, nil
}

// LeadFilter selects leads. Zero fields do not filter.
type LeadFilter struct {
	Country string // ISO code
	Source  string // leads with at least one observation from this source
	State   leadmailer.LeadState
	// Search finds leads whose e-mail, name or company starts with it, ignoring the case of
	// ASCII letters only, on SQLite and PostgreSQL alike: "acme" finds "ACME Oy", but "ä"
	// does not find "Ä" in a name (addresses are stored in lower case, so "Ä" finds "ä..."
	// there). SQLite's LIKE folds ASCII only, and folding every letter there would take a
	// function call per row; PostgreSQL is made to fold as SQLite does (see FindLeads). The
	// e-mail part is a range scan of its index; names and companies are read in full (about
	// 130 ms for a million leads), since indexing them would slow every import by a quarter.
	Search  string
	AfterID int64 // keyset pagination: only leads with a greater ID
	Limit   int   // 0: no limit
}

// FindLeads calls fn for each lead matching f, in ID order, streaming so that listing a
// million leads takes no more memory than listing ten. fn must not use the database.
func (db *DB) FindLeads(ctx context.Context, f LeadFilter, fn func(*leadmailer.Lead) error) error {
	var where []string
	var args []any
	if f.Country != "" {
		where, args = append(where, "l.country = ?"), append(args, f.Country)
	}
	if f.State != "" {
		where, args = append(where, "l.state = ?"), append(args, f.State)
	}
	if f.Source != "" {
		where = append(where, `EXISTS (SELECT 1 FROM observations o JOIN import_runs r ON r.id = o.run_id
			WHERE o.lead_id = l.id AND r.source = ?)`)
		args = append(args, f.Source)
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		low := strings.ToLower(q)
		like := asciiLower(escapeLike(q)) + "%"
		// SQLite's LIKE ignores the case of ASCII letters; PostgreSQL's heeds all case, and
		// its ILIKE and lower() fold by the database's locale. lower() under collation "C"
		// folds ASCII letters only, which with a lower-case pattern is SQLite's LIKE.
		name, company := `l.name`, `l.company`
		if db.pg {
			name, company = `lower(l.name COLLATE "C")`, `lower(l.company COLLATE "C")`
		}
		where = append(where, `(l.email >= ? AND l.email < ? OR `+name+` LIKE ? ESCAPE '\' OR `+company+` LIKE ? ESCAPE '\')`)
		args = append(args, low, low+"\U0010FFFF", like, like)
	}
	if f.AfterID > 0 {
		where, args = append(where, "l.id > ?"), append(args, f.AfterID)
	}
	query := `SELECT ` + leadColumns + ` FROM leads l`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY l.id"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("find leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLead(rows)
		if err != nil {
			return fmt.Errorf("find leads: %w", err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find leads: %w", err)
	}
	return nil
}

// asciiLower lowers the ASCII letters of s and leaves every other byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FindLeadByID returns one lead.
func (db *DB) FindLeadByID(ctx context.Context, id int64) (*leadmailer.Lead, error) {
	l, err := scanLead(db.sql.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads l WHERE l.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no lead %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find lead %d: %w", id, err)
	}
	return l, nil
}

// CountLeadsByState returns how many leads are in each state (a state without leads is
// left out). It counts all leads and the inactive ones, rather than grouping by state: the
// two counts read an index each (on PostgreSQL the inactive leads' own, migration 0029),
// where a GROUP BY reads the table.
func (db *DB) CountLeadsByState(ctx context.Context) (map[leadmailer.LeadState]int64, error) {
	var all, inactive int64
	err := db.sql.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM leads),
		(SELECT count(*) FROM leads WHERE state = 'inactive')`).Scan(&all, &inactive)
	if err != nil {
		return nil, fmt.Errorf("count leads by state: %w", err)
	}
	counts := map[leadmailer.LeadState]int64{}
	if all > inactive {
		counts[leadmailer.LeadActive] = all - inactive
	}
	if inactive > 0 {
		counts[leadmailer.LeadInactive] = inactive
	}
	return counts, nil
}

// SourceStats sums up what the runs of one source did.
type SourceStats struct {
	Source   string
	Runs     int64
	Inserted int64 // leads the source added
	Updated  int64
	LastRun  string // start time of the latest run, as stored
}

// FindSourceStats sums the import runs of every source, reading the runs only (not the
// leads), so it costs the same with a million leads as with ten.
func (db *DB) FindSourceStats(ctx context.Context) ([]SourceStats, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT source, count(*), sum(inserted), sum(updated), max(started_at)
		FROM import_runs GROUP BY source ORDER BY sum(inserted) DESC, source`)
	if err != nil {
		return nil, fmt.Errorf("find source stats: %w", err)
	}
	defer rows.Close()
	var stats []SourceStats
	for rows.Next() {
		var s SourceStats
		if err := rows.Scan(&s.Source, &s.Runs, &s.Inserted, &s.Updated, &s.LastRun); err != nil {
			return nil, err
		}
		stats = append(stats, s)
	}
	return stats, rows.Err()
}

// CountLeads returns how many leads there are.
func (db *DB) CountLeads(ctx context.Context) (int64, error) {
	var n int64
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM leads`).Scan(&n)
	return n, err
}

// FindObservations returns a lead's provenance: every row any import supplied for it, oldest
// first.
func (db *DB) FindObservations(ctx context.Context, leadID int64) ([]leadmailer.Observation, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT o.run_id, o.row_no, o.fields, o.received,
			r.source, r.kind, r.file_name, r.started_at,
			coalesce(sr.record_id, ''), coalesce(ro.origin, ''), ro.retrieved_at
		FROM observations o JOIN import_runs r ON r.id = o.run_id
		LEFT JOIN source_records sr ON sr.run_id = o.run_id AND sr.row_no = o.row_no
		LEFT JOIN run_origins ro ON ro.id = sr.origin_id
		WHERE o.lead_id = ?
		ORDER BY o.run_id, o.row_no`, leadID)
	if err != nil {
		return nil, fmt.Errorf("find observations of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	var obs []leadmailer.Observation
	for rows.Next() {
		o := leadmailer.Observation{LeadID: leadID}
		var fields int64
		var received, observed string
		var retrieved sql.NullString
		if err := rows.Scan(&o.RunID, &o.Row, &fields, &received, &o.Source, &o.Kind, &o.FileName, &observed,
			&o.RecordID, &o.Origin, &retrieved); err != nil {
			return nil, err
		}
		if o.RetrievedAt, err = nullTime(retrieved); err != nil {
			return nil, err
		}
		o.Supplied = leadmailer.FieldSet(fields)
		values := leadmailer.DecodeValues(o.Supplied, received)
		o.Received = map[string]string{}
		for _, f := range o.Supplied.Fields() {
			o.Received[f.String()] = values[f]
		}
		if o.ObservedAt, err = parseTime(observed); err != nil {
			return nil, err
		}
		obs = append(obs, o)
	}
	return obs, rows.Err()
}

// ClearUndeliverable withdraws lead leadID's undeliverable mark, so that campaigns mail it
// again, and returns the reason the mark gave. It fails with ENOTFOUND when there is no such
// lead and with ECONFLICT when the lead is not marked. A campaign's recipient row that
// failed stays failed: the next campaign, or a cron campaign's next occurrence, mails the
// lead.
func (db *DB) ClearUndeliverable(ctx context.Context, leadID int64) (string, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("lead %d: clear undeliverable mark: %w", leadID, err)
	}
	defer tx.Rollback()
	var reason string
	var at sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT undeliverable_at, undeliverable_reason FROM leads WHERE id = ?`, leadID).Scan(&at, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return "", leadmailer.Errorf(leadmailer.ENOTFOUND, "no lead %d", leadID)
	}
	if err != nil {
		return "", fmt.Errorf("lead %d: clear undeliverable mark: %w", leadID, err)
	}
	if !at.Valid {
		return "", leadmailer.Errorf(leadmailer.ECONFLICT, "lead %d is not marked undeliverable", leadID)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leads SET undeliverable_at = NULL, undeliverable_reason = '' WHERE id = ?`, leadID); err != nil {
		return "", fmt.Errorf("lead %d: clear undeliverable mark: %w", leadID, err)
	}
	return reason, tx.Commit()
}
