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

// IdempotentResponse is the answer kept for a POST with an Idempotency-Key.
type IdempotentResponse struct {
	RequestHash string
	Status      int
	Body        []byte
}

// FindIdempotentResponse returns the answer kept for token tokenID's key, if one was kept
// after since; ENOTFOUND otherwise.
func (db *DB) FindIdempotentResponse(ctx context.Context, tokenID int64, key string, since time.Time) (*IdempotentResponse, error) {
	var r IdempotentResponse
	err := db.sql.QueryRowContext(ctx, `SELECT request_hash, status, body FROM api_idempotency
		WHERE token_id = ? AND key = ? AND created_at >= ?`, tokenID, key, formatTime(since)).Scan(&r.RequestHash, &r.Status, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no answer kept for idempotency key %q", key)
	}
	if err != nil {
		return nil, fmt.Errorf("find answer for idempotency key: %w", err)
	}
	return &r, nil
}

// SaveIdempotentResponse keeps the answer to token tokenID's key, replacing one older than
// before, and removes every other answer older than before, so the table holds about a
// day of keys.
func (db *DB) SaveIdempotentResponse(ctx context.Context, tokenID int64, key string, r *IdempotentResponse, before time.Time) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("keep answer for idempotency key: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM api_idempotency WHERE created_at < ?`, formatTime(before)); err != nil {
		return fmt.Errorf("prune idempotency keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_idempotency (token_id, key, request_hash, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, tokenID, key, r.RequestHash, r.Status, r.Body, formatTime(db.now())); err != nil {
		return fmt.Errorf("keep answer for idempotency key: %w", err)
	}
	return tx.Commit()
}
