package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// AuditKeyingFile is the file in the data directory that remembers, outside the database,
// where the audit chain's keyed hashes begin: "KEYED_FROM MAC", the database's keying record
// and its MAC. Someone who can write the database but not read secret.key can remove the
// record there and rehash every entry with plain SHA-256, so that the database looks like
// one an older version never keyed; the file shows it was keyed. It is written when keying
// starts, and again from a valid record when it is missing (a data directory set up from a
// backup, or a second process on the same PostgreSQL database).
const AuditKeyingFile = "audit-keying"

// startKeyedAudit records, the first time a database is opened with an audit key, that
// entries from the next one on are keyed, and keeps the data directory's copy of that
// record. The check reads without a transaction, so that opening an upgraded database takes
// no write lock. A database whose record is gone while the data directory remembers one is
// not keyed again: a new record would bless the rewrite, so verification reports it, and
// recording entries stays refused.
func (db *DB) startKeyedAudit(ctx context.Context) error {
	if db.auditKey == nil {
		return nil
	}
	k, err := findAuditKeying(ctx, db.sql)
	if err != nil {
		return err
	}
	kept, err := db.keptAuditKeying()
	if err != nil {
		return fmt.Errorf("start keying the audit chain: %w", err)
	}
	if k != nil {
		if kept == nil && hmac.Equal([]byte(k.mac), []byte(keyingMAC(db.auditKey, k.keyedFrom))) {
			return db.keepAuditKeying(k)
		}
		return nil
	}
	if kept != nil {
		return nil
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
	// Another process may have started keying first: keep the record that won.
	if k, err = findAuditKeying(ctx, db.sql); err != nil {
		return fmt.Errorf("start keying the audit chain: %w", err)
	}
	if k == nil {
		return errors.New("start keying the audit chain: the record written is gone")
	}
	return db.keepAuditKeying(k)
}

// keptAuditKeying reads the data directory's AuditKeyingFile: nil when there is none, or no
// data directory. Its MAC is checked by verification, not here.
func (db *DB) keptAuditKeying() (*auditKeying, error) {
	if db.dataDir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(db.dataDir, AuditKeyingFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k := &auditKeying{keyedFrom: 1}
	from, mac, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if n, err := strconv.ParseInt(from, 10, 64); err == nil && n > 0 {
		k.keyedFrom = n
	}
	k.mac = mac
	return k, nil
}

// keepAuditKeying writes k to the data directory's AuditKeyingFile, whole or not at all.
func (db *DB) keepAuditKeying(k *auditKeying) error {
	if db.dataDir == "" {
		return nil
	}
	path := filepath.Join(db.dataDir, AuditKeyingFile)
	tmp, err := os.CreateTemp(db.dataDir, "."+AuditKeyingFile+".*.partial")
	if err != nil {
		return fmt.Errorf("keep where the audit chain is keyed: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintf(tmp, "%d %s\n", k.keyedFrom, k.mac)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("keep where the audit chain is keyed in %s: %w", path, err)
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
// The keying record is also compared with the data directory's AuditKeyingFile: removing
// it and rewriting every entry unkeyed, which makes the database look like one never
// upgraded, breaks the chain where the file says keying begins. Removing entries from the
// end leaves a shorter valid chain: VerifyAuditHead, with a head kept elsewhere, detects it,
// and also a rewrite by someone who could delete the file as well.
func (db *DB) VerifyAudit(ctx context.Context) (*AuditSummary, *AuditBreak, error) {
	return db.verifyAudit(ctx, nil)
}

// VerifyAuditHead verifies the trail as VerifyAudit does, and also that it holds head's
// entry with head's hash: that nothing up to it was rewritten and nothing after it cut.
func (db *DB) VerifyAuditHead(ctx context.Context, head AuditHead) (*AuditSummary, *AuditBreak, error) {
	return db.verifyAudit(ctx, &head)
}

// checkKeptAuditKeying compares the database's keying record (nil when missing, else
// already authenticated) with the data directory's copy, if there is one.
func (db *DB) checkKeptAuditKeying(keying *auditKeying) (*AuditBreak, error) {
	kept, err := db.keptAuditKeying()
	if err != nil {
		return nil, fmt.Errorf("verify audit trail: %w", err)
	}
	switch {
	case kept == nil:
		return nil, nil
	case !hmac.Equal([]byte(kept.mac), []byte(keyingMAC(db.auditKey, kept.keyedFrom))):
		return &AuditBreak{ID: kept.keyedFrom, Reason: fmt.Sprintf("the data directory's record of where keyed hashes begin (%s) "+
			"was altered, or the secret key is not this installation's", AuditKeyingFile)}, nil
	case keying == nil:
		return &AuditBreak{ID: kept.keyedFrom, Reason: fmt.Sprintf("the database's record of where keyed hashes begin was removed, "+
			"though the data directory's %s says they begin here: entries from here on may have been rewritten "+
			"and rehashed without the key", AuditKeyingFile)}, nil
	case keying.keyedFrom != kept.keyedFrom:
		return &AuditBreak{ID: min(keying.keyedFrom, kept.keyedFrom), Reason: fmt.Sprintf("the database says keyed hashes begin at entry %d, "+
			"the data directory's %s at entry %d: the database was replaced by another one, or its record rewritten",
			keying.keyedFrom, AuditKeyingFile, kept.keyedFrom)}, nil
	}
	return nil, nil
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
	if db.auditKey != nil {
		if brk, err := db.checkKeptAuditKeying(keying); brk != nil || err != nil {
			return nil, brk, err
		}
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
