package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// RecordAudit appends an entry to the audit trail, setting its ID, time (when zero) and
// hashes. The previous entry's hash is read inside the write transaction, which holds
// SQLite's write lock from its start, so concurrent writers, in this process or another,
// queue and never fork the chain.
func (db *DB) RecordAudit(ctx context.Context, e *leadmailer.AuditEntry) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	defer tx.Rollback()
	if err := db.recordAudit(ctx, tx, e); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// recordAudit appends an entry within tx, so that a change and its entry are committed
// together.
func (db *DB) recordAudit(ctx context.Context, tx *sql.Tx, e *leadmailer.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	var lastID int64
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&lastID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("record audit entry: %w", err)
	}
	e.ID, e.PrevHash = lastID+1, prev
	e.Hash = e.ComputeHash(prev)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, target, detail, ip, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, formatTime(e.Time), e.Actor, e.Action, e.Target, e.Detail,
		e.IP, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	Actor    string // exact actor, e.g. "user:anna" or "os:root"
	Action   string // exact action, or a prefix ending in "." such as "lead."
	Since    time.Time
	Until    time.Time // entries before this time
	BeforeID int64     // keyset pagination, newest first: only entries with a smaller ID
	Limit    int       // 0: no limit
}

// FindAuditEntries calls fn for each entry matching f, newest first.
func (db *DB) FindAuditEntries(ctx context.Context, f AuditFilter, fn func(*leadmailer.AuditEntry) error) error {
	var where []string
	var args []any
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if strings.HasSuffix(f.Action, ".") {
		where, args = append(where, "action >= ? AND action < ?"), append(args, f.Action, f.Action[:len(f.Action)-1]+"/")
	} else if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, formatTime(f.Until))
	}
	if f.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	query := `SELECT id, at, actor, action, target, detail, ip, prev_hash, hash FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("find audit entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("find audit entries: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanAudit(row interface{ Scan(...any) error }) (*leadmailer.AuditEntry, error) {
	var e leadmailer.AuditEntry
	var at string
	if err := row.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.IP, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	var err error
	e.Time, err = parseTime(at)
	return &e, err
}

// AuditBreak says where the audit chain is broken.
type AuditBreak struct {
	// ID is the first entry that does not fit the chain; for a gap it is the entry after it.
	ID     int64
	Reason string
}

func (b *AuditBreak) Error() string { return fmt.Sprintf("audit entry %d: %s", b.ID, b.Reason) }

// AuditSummary is what a successful verification saw.
type AuditSummary struct {
	Entries  int64  `json:"entries"`
	LastID   int64  `json:"last_id"`
	LastHash string `json:"last_hash"`
}

// VerifyAudit walks the whole audit trail in order and checks that IDs run without gaps from
// 1, that each entry names the previous entry's hash, and that each entry's hash matches its
// fields. The first problem found is returned as an *AuditBreak, with a nil summary. Removing
// entries from the end leaves a shorter valid chain: compare LastID and LastHash with a copy
// kept elsewhere to detect that.
func (db *DB) VerifyAudit(ctx context.Context) (*AuditSummary, *AuditBreak, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, at, actor, action, target, detail, ip, prev_hash, hash
		FROM audit_log ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("verify audit trail: %w", err)
	}
	defer rows.Close()
	sum := &AuditSummary{}
	prev := ""
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, &AuditBreak{ID: sum.LastID + 1, Reason: fmt.Sprintf("unreadable: %v", err)}, nil
		}
		switch {
		case e.ID != sum.LastID+1:
			return nil, &AuditBreak{ID: e.ID, Reason: fmt.Sprintf("entries %d to %d are missing", sum.LastID+1, e.ID-1)}, nil
		case e.PrevHash != prev:
			return nil, &AuditBreak{ID: e.ID, Reason: fmt.Sprintf("does not follow entry %d: one of the two was altered, or entries were removed or moved", sum.LastID)}, nil
		case e.Hash != e.ComputeHash(prev):
			return nil, &AuditBreak{ID: e.ID, Reason: "its contents were altered after it was recorded"}, nil
		}
		prev = e.Hash
		sum.Entries++
		sum.LastID, sum.LastHash = e.ID, e.Hash
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("verify audit trail: %w", err)
	}
	return sum, nil, nil
}
