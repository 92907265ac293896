package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
	sqlite3 "github.com/mattn/go-sqlite3"
)

const apiTokenColumns = `id, name, role, token_hash, created_at, created_by, expires_at, last_used_at, revoked_at`

func scanAPIToken(row interface{ Scan(...any) error }) (*leadmailer.APIToken, error) {
	var t leadmailer.APIToken
	var created string
	var expires, used, revoked sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &t.TokenHash, &created, &t.CreatedBy, &expires, &used, &revoked); err != nil {
		return nil, err
	}
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if t.ExpiresAt, err = nullTime(expires); err != nil {
		return nil, err
	}
	if t.LastUsedAt, err = nullTime(used); err != nil {
		return nil, err
	}
	if t.RevokedAt, err = nullTime(revoked); err != nil {
		return nil, err
	}
	return &t, nil
}

// CreateAPIToken stores a new token, by its hash, together with its audit entry, and sets
// t.ID and t.CreatedAt. A name held by a token not revoked is an ECONFLICT error.
func (db *DB) CreateAPIToken(ctx context.Context, t *leadmailer.APIToken, audit *leadmailer.AuditEntry) error {
	if err := leadmailer.ValidateTokenName(t.Name); err != nil {
		return err
	}
	if !t.Role.Valid() {
		return leadmailer.Errorf(leadmailer.EINVALID, "role %q: use admin, marketer or viewer", t.Role)
	}
	now := db.now().UTC().Truncate(time.Microsecond)
	var expires any
	if t.ExpiresAt != nil {
		expires = formatTime(*t.ExpiresAt)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create API token %s: %w", t.Name, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, role, token_hash, created_at, created_by, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Name, t.Role, t.TokenHash, formatTime(now), t.CreatedBy, expires).Scan(&t.ID)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique || pgUniqueViolation(err) {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "a token named %q exists; revoke it first or choose another name", t.Name)
	}
	if err != nil {
		return fmt.Errorf("create API token %s: %w", t.Name, err)
	}
	if err := db.recordAudit(ctx, tx, audit); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create API token %s: %w", t.Name, err)
	}
	t.CreatedAt = now
	return nil
}

// FindAPITokenByHash returns the token whose hash is given, revoked and expired ones
// included: the caller says why it refuses them.
func (db *DB) FindAPITokenByHash(ctx context.Context, hash string) (*leadmailer.APIToken, error) {
	t, err := scanAPIToken(db.sql.QueryRowContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no such API token")
	}
	if err != nil {
		return nil, fmt.Errorf("find API token: %w", err)
	}
	return t, nil
}

// FindAPITokens returns every token, revoked ones included, by name and then age.
func (db *DB) FindAPITokens(ctx context.Context) ([]*leadmailer.APIToken, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("find API tokens: %w", err)
	}
	defer rows.Close()
	var tokens []*leadmailer.APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("find API tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	return tokens, rows.Err()
}

// RevokeAPIToken revokes the named token, not yet revoked, at once and for good, together
// with its audit entry.
func (db *DB) RevokeAPIToken(ctx context.Context, name string, audit *leadmailer.AuditEntry) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revoke API token %s: %w", name, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`,
		formatTime(db.now()), name)
	if err != nil {
		return fmt.Errorf("revoke API token %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "no token %q that is not revoked; \"leadmailer tokens list\" shows the tokens", name)
	}
	if err := db.recordAudit(ctx, tx, audit); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke API token %s: %w", name, err)
	}
	return nil
}

// TouchAPIToken records that the token was used at t.
func (db *DB) TouchAPIToken(ctx context.Context, id int64, t time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(t), id); err != nil {
		return fmt.Errorf("record use of API token %d: %w", id, err)
	}
	return nil
}

// IdempotentResponse is the answer kept for a POST with an Idempotency-Key. A Status of 0
// is a call that has claimed the key and not answered yet (ClaimIdempotencyKey).
type IdempotentResponse struct {
	RequestHash string
	Status      int
	Body        []byte
}

// Running reports whether the call that claimed the key has not answered yet.
func (r *IdempotentResponse) Running() bool { return r.Status == 0 }

// ClaimIdempotencyKey claims token tokenID's key for a call with request hash requestHash,
// in the database, so that a retry reaching another process on the same database while the
// first call runs does not run it a second time. It returns nil when the key is the
// caller's: the caller makes the call and then keeps its answer (SaveIdempotentResponse) or,
// when the call failed, gives the key back (ReleaseIdempotencyKey). Otherwise it returns what
// the key holds: the answer kept, or a claim still running (Running), either perhaps for
// another request hash. Keys and answers older than before are removed first. A claim made
// before abandonedBefore and never answered is taken over: its process died.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, tokenID int64, key, requestHash string, before, abandonedBefore time.Time) (*IdempotentResponse, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM api_idempotency WHERE created_at < ?`, formatTime(before)); err != nil {
		return nil, fmt.Errorf("prune idempotency keys: %w", err)
	}
	now := formatTime(db.now())
	res, err := tx.ExecContext(ctx, `INSERT INTO api_idempotency (token_id, key, request_hash, status, body, created_at)
		VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (token_id, key) DO NOTHING`, tokenID, key, requestHash, []byte{}, now)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	claimed, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if claimed == 0 {
		res, err := tx.ExecContext(ctx, `UPDATE api_idempotency SET request_hash = ?, created_at = ?
			WHERE token_id = ? AND key = ? AND status = 0 AND created_at < ?`, requestHash, now, tokenID, key, formatTime(abandonedBefore))
		if err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		if claimed, err = res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
	}
	var kept *IdempotentResponse
	if claimed == 0 {
		kept = &IdempotentResponse{}
		if err := tx.QueryRowContext(ctx, `SELECT request_hash, status, body FROM api_idempotency WHERE token_id = ? AND key = ?`,
			tokenID, key).Scan(&kept.RequestHash, &kept.Status, &kept.Body); err != nil {
			return nil, fmt.Errorf("claim idempotency key: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	return kept, nil
}

// SaveIdempotentResponse keeps the answer to token tokenID's key, in place of the caller's
// claim (ClaimIdempotencyKey), for about a day.
func (db *DB) SaveIdempotentResponse(ctx context.Context, tokenID int64, key string, r *IdempotentResponse) error {
	// An upsert, not an update of the claim: a claim removed meanwhile (after a clock jump,
	// say) still gets its answer kept.
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO api_idempotency (token_id, key, request_hash, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, key) DO UPDATE SET request_hash = excluded.request_hash,
			status = excluded.status, body = excluded.body, created_at = excluded.created_at`,
		tokenID, key, r.RequestHash, r.Status, r.Body, formatTime(db.now())); err != nil {
		return fmt.Errorf("keep answer for idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey gives back the caller's claim of token tokenID's key after its call
// failed, so that a retry makes the call again.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, tokenID int64, key string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM api_idempotency WHERE token_id = ? AND key = ? AND status = 0`, tokenID, key); err != nil {
		return fmt.Errorf("give back idempotency key: %w", err)
	}
	return nil
}
