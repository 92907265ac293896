package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
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
	keying, err := findAuditKeying(ctx, tx)
	if err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	switch {
	case keying == nil && db.auditKey != nil:
		// Open wrote the record; only someone editing the file removes it.
		return errors.New("record audit entry: the record of where the audit chain is keyed is missing: run leadmailer audit verify")
	case keying == nil:
		e.Hash = e.ComputeHash(prev)
	case db.auditKey == nil:
		return errors.New("record audit entry: the audit chain is keyed: open the database with its secret key")
	default:
		e.Hash = e.ComputeKeyedHash(db.auditKey, prev)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, target, detail, ip, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, formatTime(e.Time), e.Actor, e.Action, e.Target, e.Detail,
		e.IP, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// auditKeying is where the keyed part of the audit chain begins; see migration 0014.
type auditKeying struct {
	keyedFrom int64
	mac       string
}

func findAuditKeying(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (*auditKeying, error) {
	var k auditKeying
	err := q.QueryRowContext(ctx, `SELECT keyed_from, mac FROM audit_keying WHERE id = 1`).Scan(&k.keyedFrom, &k.mac)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// keyingMAC authenticates where keying begins, so that an attacker who rewrote entries
// cannot move the start past them and pass them off as unkeyed ones.
func keyingMAC(key []byte, keyedFrom int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "leadmailer audit chain keyed from entry %d", keyedFrom)
	return hex.EncodeToString(m.Sum(nil))
}

// startKeyedAudit records, the first time a database is opened with an audit key, that
// entries from the next one on are keyed. The check reads without a transaction, so that
// opening an upgraded database takes no write lock.
func (db *DB) startKeyedAudit(ctx context.Context) error {
	if db.auditKey == nil {
		return nil
	}
	if k, err := findAuditKeying(ctx, db.sql); err != nil || k != nil {
		return err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("start keying the audit chain: %w", err)
	}
	defer tx.Rollback()
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM audit_log`).Scan(&next); err != nil {
		return fmt.Errorf("start keying the audit chain: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_keying (id, keyed_from, mac) VALUES (1, ?, ?) ON CONFLICT DO NOTHING`,
		next, keyingMAC(db.auditKey, next)); err != nil {
		return fmt.Errorf("start keying the audit chain: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("start keying the audit chain: %w", err)
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
	// KeyedFrom is the first entry with a keyed hash; entries before it were recorded by a
	// version that did not key them. 0 when no entry is keyed yet.
	KeyedFrom int64 `json:"keyed_from,omitempty"`
}

// AuditHead names an entry and its hash, as "audit head" prints them: kept outside the
// database, it shows later whether the trail still holds that entry unchanged.
type AuditHead struct {
	ID   int64
	Hash string
}

func (h AuditHead) String() string { return fmt.Sprintf("%d:%s", h.ID, h.Hash) }

// ParseAuditHead reads "ID:HASH".
func ParseAuditHead(s string) (AuditHead, error) {
	id, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 || strings.Trim(strings.ToLower(hash), "0123456789abcdef") != "" {
		return AuditHead{}, leadmailer.Errorf(leadmailer.EINVALID, "%q is not an audit head: give ID:HASH as \"leadmailer audit head\" prints it", s)
	}
	return AuditHead{ID: n, Hash: strings.ToLower(hash)}, nil
}

// FindAuditHead returns the newest entry's ID and hash; ENOTFOUND when the trail is empty.
func (db *DB) FindAuditHead(ctx context.Context) (AuditHead, error) {
	var h AuditHead
	err := db.sql.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&h.ID, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return h, leadmailer.Errorf(leadmailer.ENOTFOUND, "the audit trail is empty")
	}
	if err != nil {
		return h, fmt.Errorf("find audit head: %w", err)
	}
	return h, nil
}

// VerifyAudit walks the whole audit trail in order and checks that IDs run without gaps from
// 1, that each entry names the previous entry's hash, and that each entry's hash matches its
// fields: plain SHA-256 before the keyed part of the chain, HMAC under the audit key from
// there on. The first problem found is returned as an *AuditBreak, with a nil summary.
//
// Removing entries from the end leaves a shorter valid chain, and someone who removes the
// keying record and rewrites every entry unkeyed makes it look like a database never
// upgraded: VerifyAuditHead, with a head kept elsewhere, detects both.
func (db *DB) VerifyAudit(ctx context.Context) (*AuditSummary, *AuditBreak, error) {
	return db.verifyAudit(ctx, nil)
}

// VerifyAuditHead verifies the trail as VerifyAudit does, and also that it holds head's
// entry with head's hash: that nothing up to it was rewritten and nothing after it cut.
func (db *DB) VerifyAuditHead(ctx context.Context, head AuditHead) (*AuditSummary, *AuditBreak, error) {
	return db.verifyAudit(ctx, &head)
}

func (db *DB) verifyAudit(ctx context.Context, head *AuditHead) (*AuditSummary, *AuditBreak, error) {
	keying, err := findAuditKeying(ctx, db.sql)
	if err != nil {
		return nil, nil, fmt.Errorf("verify audit trail: %w", err)
	}
	keyedFrom := int64(0)
	if keying != nil {
		if db.auditKey == nil {
			return nil, nil, errors.New("verify audit trail: the chain is keyed: open the database with its secret key")
		}
		if !hmac.Equal([]byte(keying.mac), []byte(keyingMAC(db.auditKey, keying.keyedFrom))) {
			return nil, &AuditBreak{ID: keying.keyedFrom, Reason: "the record of where keyed hashes begin was altered, " +
				"or the secret key is not this installation's"}, nil
		}
		keyedFrom = keying.keyedFrom
	}
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
		keyed := keyedFrom > 0 && e.ID >= keyedFrom
		want := ""
		if keyed {
			want = e.ComputeKeyedHash(db.auditKey, prev)
		} else {
			want = e.ComputeHash(prev)
		}
		switch {
		case e.ID != sum.LastID+1:
			return nil, &AuditBreak{ID: e.ID, Reason: fmt.Sprintf("entries %d to %d are missing", sum.LastID+1, e.ID-1)}, nil
		case e.PrevHash != prev:
			return nil, &AuditBreak{ID: e.ID, Reason: fmt.Sprintf("does not follow entry %d: one of the two was altered, or entries were removed or moved", sum.LastID)}, nil
		case e.Hash != want:
			return nil, &AuditBreak{ID: e.ID, Reason: "its contents were altered after it was recorded"}, nil
		case head != nil && e.ID == head.ID && e.Hash != head.Hash:
			return nil, &AuditBreak{ID: e.ID, Reason: fmt.Sprintf("its hash is %s, not the %s kept: the trail up to it was rewritten, or cut and written on again", e.Hash, head.Hash)}, nil
		}
		if keyed && sum.KeyedFrom == 0 {
			sum.KeyedFrom = e.ID
		}
		prev = e.Hash
		sum.Entries++
		sum.LastID, sum.LastHash = e.ID, e.Hash
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("verify audit trail: %w", err)
	}
	if head != nil && head.ID > sum.LastID {
		return nil, &AuditBreak{ID: head.ID, Reason: fmt.Sprintf("it is missing: the trail ends at entry %d, so entries were cut from its end", sum.LastID)}, nil
	}
	return sum, nil, nil
}
