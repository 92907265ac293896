package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Throttles and rate limits live in the database, so that every serve process on it counts
// the same failed logins and takes from the same buckets. Each check is one statement on the
// key's row, outside a transaction: on PostgreSQL it does not wait for the writer lock (a
// row's upsert is atomic by itself), and on SQLite it holds the write lock for that statement
// only.

// ThrottleCount is the count of events under one key in a window that opened with the first
// of them.
type ThrottleCount struct {
	Count        int
	Start, Until time.Time
	// Note is what the caller stored with a count that is to be reported when its window
	// ends (see NoteThrottleCount); empty for the others.
	Note string
}

// throttleKey is the stored form of a key: a keyed hash, so that what is counted (a name
// typed at the login form, which may be a password typed into the wrong field; a client's
// address; an e-mail address) is never kept as text, and the key column's size does not
// depend on the input's.
func (db *DB) throttleKey(key string) string {
	m := hmac.New(sha256.New, db.suppressionKey)
	m.Write([]byte("leadmailer throttle key v1\x00"))
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// AddThrottleCount counts one event under key at now, in the key's open window, or in a new
// one from now lasting window when none is open, and returns the count.
func (db *DB) AddThrottleCount(ctx context.Context, key string, now time.Time, window time.Duration) (ThrottleCount, error) {
	// The SET expressions all read the row as it was before the update, on both databases.
	row := db.sql.QueryRowContext(ctx, `INSERT INTO throttle_counts (key, window_start, expires_at, count)
		VALUES (?1, ?2, ?3, 1)
		ON CONFLICT (key) DO UPDATE SET
			count        = CASE WHEN throttle_counts.expires_at > ?2 THEN throttle_counts.count + 1 ELSE 1 END,
			window_start = CASE WHEN throttle_counts.expires_at > ?2 THEN throttle_counts.window_start ELSE ?2 END,
			expires_at   = CASE WHEN throttle_counts.expires_at > ?2 THEN throttle_counts.expires_at ELSE ?3 END
		RETURNING count, window_start, expires_at, note`,
		db.throttleKey(key), formatTime(now), formatTime(now.Add(window)))
	c, err := scanThrottleCount(row)
	if err != nil {
		return ThrottleCount{}, fmt.Errorf("add throttle count: %w", err)
	}
	return c, nil
}

// MarkThrottleKey opens a new window for key from now, lasting window, whatever was counted
// under it: a mark that is there as long as the last event under it is recent.
func (db *DB) MarkThrottleKey(ctx context.Context, key string, now time.Time, window time.Duration) error {
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO throttle_counts (key, window_start, expires_at, count)
		VALUES (?1, ?2, ?3, 1)
		ON CONFLICT (key) DO UPDATE SET window_start = ?2, expires_at = ?3, count = 1`,
		db.throttleKey(key), formatTime(now), formatTime(now.Add(window))); err != nil {
		return fmt.Errorf("mark throttle key: %w", err)
	}
	return nil
}

// FindThrottleCounts returns the counts of those of keys whose windows are open at now, by
// key; a key without one is absent.
func (db *DB) FindThrottleCounts(ctx context.Context, now time.Time, keys ...string) (map[string]ThrottleCount, error) {
	out := map[string]ThrottleCount{}
	if len(keys) == 0 {
		return out, nil
	}
	stored := make(map[string]string, len(keys))
	args := []any{formatTime(now)}
	in := ""
	for i, k := range keys {
		sk := db.throttleKey(k)
		stored[sk] = k
		args = append(args, sk)
		if i > 0 {
			in += ", "
		}
		in += "?"
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT key, count, window_start, expires_at, note FROM throttle_counts
		WHERE expires_at > ? AND key IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("find throttle counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sk, start, until string
		var c ThrottleCount
		if err := rows.Scan(&sk, &c.Count, &start, &until, &c.Note); err != nil {
			return nil, fmt.Errorf("find throttle counts: %w", err)
		}
		if c.Start, err = parseTime(start); err != nil {
			return nil, err
		}
		if c.Until, err = parseTime(until); err != nil {
			return nil, err
		}
		out[stored[sk]] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find throttle counts: %w", err)
	}
	return out, nil
}

// DeleteThrottleCount forgets what was counted under key.
func (db *DB) DeleteThrottleCount(ctx context.Context, key string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM throttle_counts WHERE key = ?`, db.throttleKey(key)); err != nil {
		return fmt.Errorf("delete throttle count: %w", err)
	}
	return nil
}

// NoteThrottleCount counts one event under key at now for a count that is to be reported
// once its window ends, with note (which must not be empty) saying what to report; the note
// of the window's first event is kept. A window that ended is never continued: when key's
// last window ended and no sweep took it yet (TakeEndedThrottleNotes), it is taken here and
// returned as ended, for the caller to report, and a new window opens. A count of 1 is the
// first event of its window.
func (db *DB) NoteThrottleCount(ctx context.Context, key, note string, now time.Time, window time.Duration) (cur ThrottleCount, ended *ThrottleCount, err error) {
	if note == "" {
		return ThrottleCount{}, nil, errors.New("note throttle count: the note is empty")
	}
	sk, at, until := db.throttleKey(key), formatTime(now), formatTime(now.Add(window))
	// Another process may take or open the window between the statements; a few rounds
	// settle it.
	for range 3 {
		row := db.sql.QueryRowContext(ctx, `INSERT INTO throttle_counts (key, window_start, expires_at, count, note)
			VALUES (?1, ?2, ?3, 1, ?4)
			ON CONFLICT (key) DO UPDATE SET count = throttle_counts.count + 1 WHERE throttle_counts.expires_at > ?2
			RETURNING count, window_start, expires_at, note`, sk, at, until, note)
		cur, err = scanThrottleCount(row)
		if err == nil {
			return cur, ended, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return ThrottleCount{}, nil, fmt.Errorf("note throttle count: %w", err)
		}
		row = db.sql.QueryRowContext(ctx, `DELETE FROM throttle_counts WHERE key = ? AND expires_at <= ?
			RETURNING count, window_start, expires_at, note`, sk, at)
		old, err := scanThrottleCount(row)
		switch {
		case err == nil:
			ended = &old
		case !errors.Is(err, sql.ErrNoRows):
			return ThrottleCount{}, nil, fmt.Errorf("note throttle count: %w", err)
		}
	}
	return ThrottleCount{}, nil, fmt.Errorf("note throttle count: the key's row changed under every attempt")
}

// TakeEndedThrottleNotes deletes the counts made by NoteThrottleCount whose windows ended
// by now, and returns them for the caller to report. Each is returned to one caller only,
// whichever process asks.
func (db *DB) TakeEndedThrottleNotes(ctx context.Context, now time.Time) ([]ThrottleCount, error) {
	rows, err := db.sql.QueryContext(ctx, `DELETE FROM throttle_counts WHERE expires_at <= ? AND note <> ''
		RETURNING count, window_start, expires_at, note`, formatTime(now))
	if err != nil {
		return nil, fmt.Errorf("take ended throttle notes: %w", err)
	}
	defer rows.Close()
	var out []ThrottleCount
	for rows.Next() {
		c, err := scanThrottleCount(rows)
		if err != nil {
			return nil, fmt.Errorf("take ended throttle notes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take ended throttle notes: %w", err)
	}
	return out, nil
}

// TakeRate takes one event from key's token bucket, which holds burst events and gains one
// every every, and returns 0; or, when the bucket is empty, takes nothing and returns how
// long until it holds one. A new key's bucket is full.
//
// The bucket is kept as the generic cell rate algorithm keeps it: the time at which it would
// be full again (tat). An event is allowed when moving that time on by every leaves it at
// most burst*every ahead of now; one statement checks and moves it.
func (db *DB) TakeRate(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (time.Duration, error) {
	if burst < 1 || every <= 0 {
		return 0, fmt.Errorf("take rate: a bucket needs a burst of at least 1 and a positive interval, not %d and %s", burst, every)
	}
	sk, at, step := db.throttleKey(key), now.UnixNano(), int64(every)
	limit := at + int64(burst)*step
	greatest := db.greatest("rate_buckets.tat", "?2")
	for range 3 {
		var tat int64
		err := db.sql.QueryRowContext(ctx, `INSERT INTO rate_buckets (key, tat) VALUES (?1, ?3)
			ON CONFLICT (key) DO UPDATE SET tat = `+greatest+` + ?4 WHERE `+greatest+` + ?4 <= ?5
			RETURNING tat`, sk, at, at+step, step, limit).Scan(&tat)
		if err == nil {
			return 0, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("take rate: %w", err)
		}
		err = db.sql.QueryRowContext(ctx, `SELECT tat FROM rate_buckets WHERE key = ?`, sk).Scan(&tat)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("take rate: %w", err)
		}
		if wait := time.Duration(tat + step - limit); err == nil && wait > 0 {
			return wait, nil
		}
		// The bucket filled or went between the two statements: try again.
	}
	return 0, fmt.Errorf("take rate: the key's row changed under every attempt")
}

// PruneThrottles deletes the counts whose windows ended by now, except those still to be
// reported (TakeEndedThrottleNotes takes them), and the buckets that are full again, which is
// the same as having none. It returns how many rows it deleted.
func (db *DB) PruneThrottles(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM throttle_counts WHERE expires_at <= ? AND note = ''`, formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("prune throttles: %w", err)
	}
	counts, _ := res.RowsAffected()
	res, err = db.sql.ExecContext(ctx, `DELETE FROM rate_buckets WHERE tat <= ?`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("prune throttles: %w", err)
	}
	buckets, _ := res.RowsAffected()
	return counts + buckets, nil
}

func scanThrottleCount(row interface{ Scan(...any) error }) (ThrottleCount, error) {
	var c ThrottleCount
	var start, until string
	if err := row.Scan(&c.Count, &start, &until, &c.Note); err != nil {
		return ThrottleCount{}, err
	}
	var err error
	if c.Start, err = parseTime(start); err != nil {
		return ThrottleCount{}, err
	}
	if c.Until, err = parseTime(until); err != nil {
		return ThrottleCount{}, err
	}
	return c, nil
}
