package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Activity counts the ledger rows of the campaigns that are running or paused or were
// active since since, sums the import runs, and counts leads by state, for monitoring. A
// scrape runs it, so it reads only aggregates: one pass over those campaigns' ledger rows
// and one over the import runs.
func (db *DB) Activity(ctx context.Context, since time.Time) (*leadmailer.Activity, error) {
	a := &leadmailer.Activity{}
	var err error
	if a.Campaigns, err = db.campaignActivity(ctx, since); err != nil {
		return nil, fmt.Errorf("campaign activity: %w", err)
	}
	if a.Imports, a.SourceRuns, err = db.importActivity(ctx); err != nil {
		return nil, fmt.Errorf("import activity: %w", err)
	}
	if a.Leads, err = db.CountLeadsByState(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (db *DB) campaignActivity(ctx context.Context, since time.Time) ([]leadmailer.CampaignActivity, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT c.id, c.name, c.state,
			count(*) FILTER (WHERE r.status = 'queued'),
			count(*) FILTER (WHERE r.status = 'sending'),
			count(*) FILTER (WHERE r.status = 'sent'),
			count(*) FILTER (WHERE r.status = 'failed'),
			count(*) FILTER (WHERE r.status = 'skipped'),
			count(*) FILTER (WHERE r.status = 'sent' AND r.bounce = 'hard'),
			count(*) FILTER (WHERE r.status = 'sent' AND r.bounce = 'soft'),
			count(*) FILTER (WHERE r.status = 'sent' AND r.bounce = 'complaint'),
			coalesce(sum(r.outcome_unknown), 0)
		FROM campaigns c JOIN campaign_recipients r ON r.campaign_id = c.id
		WHERE c.state IN ('running', 'paused') OR coalesce(c.finished_at, c.last_run_at, c.started_at, c.created_at) >= ?
		GROUP BY c.id ORDER BY c.id`, formatTime(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []leadmailer.CampaignActivity
	for rows.Next() {
		var c leadmailer.CampaignActivity
		if err := rows.Scan(&c.ID, &c.Name, &c.State, &c.Queued, &c.Sending, &c.Sent, &c.Failed, &c.Skipped,
			&c.BouncedHard, &c.BouncedSoft, &c.Complained, &c.PossiblyDelivered); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (db *DB) importActivity(ctx context.Context) ([]leadmailer.ImportActivity, []leadmailer.SourceRunActivity, error) {
	// Uploads and website queries are summed by kind: their source names are file names and
	// forms, not a fixed set.
	rows, err := db.sql.QueryContext(ctx, `SELECT kind, CASE kind WHEN 'public' THEN source ELSE kind END,
			count(*), sum(rows_read), sum(inserted + updated), sum(rejected)
		FROM import_runs GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var imports []leadmailer.ImportActivity
	for rows.Next() {
		var i leadmailer.ImportActivity
		if err := rows.Scan(&i.Kind, &i.Source, &i.Runs, &i.RowsRead, &i.Stored, &i.Rejected); err != nil {
			return nil, nil, err
		}
		imports = append(imports, i)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows.Close()

	// Durations are summed here rather than in SQL, whose date arithmetic differs between
	// engines; a source runs a few times a day at most, so these rows are few.
	rows, err = db.sql.QueryContext(ctx, `SELECT source, status, started_at, finished_at FROM import_runs
		WHERE kind = 'public' AND finished_at IS NOT NULL ORDER BY source, status, finished_at`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var runs []leadmailer.SourceRunActivity
	for rows.Next() {
		var source string
		var status leadmailer.RunStatus
		var started string
		var finished sql.NullString
		if err := rows.Scan(&source, &status, &started, &finished); err != nil {
			return nil, nil, err
		}
		start, err := parseTime(started)
		if err != nil {
			return nil, nil, err
		}
		end, err := parseTime(finished.String)
		if err != nil {
			return nil, nil, err
		}
		if n := len(runs); n == 0 || runs[n-1].Source != source || runs[n-1].Status != status {
			runs = append(runs, leadmailer.SourceRunActivity{Source: source, Status: status})
		}
		r := &runs[len(runs)-1]
		d := end.Sub(start).Seconds()
		r.Runs++
		r.Seconds += d
		r.Last, r.LastSeconds = end, d
	}
	return imports, runs, rows.Err()
}
