package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// CreateSession stores a new session and records the login time on its user.
func (db *DB) CreateSession(ctx context.Context, s *leadmailer.Session) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, ip)
		VALUES (?, ?, ?, ?, ?, ?)`, s.TokenHash, s.UserID, s.CSRFToken, formatTime(s.CreatedAt),
		formatTime(s.LastSeenAt), s.IP); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`,
		formatTime(s.CreatedAt), s.UserID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return tx.Commit()
}

// FindSession returns the session whose token has the given hash, with its user. Sessions of
// disabled users are never found.
func (db *DB) FindSession(ctx context.Context, tokenHash string) (*leadmailer.Session, error) {
	s := &leadmailer.Session{TokenHash: tokenHash}
	var created, seen string
	var u leadmailer.User
	var uCreated, uUpdated string
	var lastLogin sql.NullString
	err := db.sql.QueryRowContext(ctx, `SELECT s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.ip,
			`+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND u.disabled = 0`, tokenHash).Scan(
		&s.UserID, &s.CSRFToken, &created, &seen, &s.IP,
		&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &uCreated, &uUpdated, &lastLogin)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no such session")
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	for _, p := range []struct {
		dst *time.Time
		s   string
	}{{&s.CreatedAt, created}, {&s.LastSeenAt, seen}, {&u.CreatedAt, uCreated}, {&u.UpdatedAt, uUpdated}} {
		if *p.dst, err = parseTime(p.s); err != nil {
			return nil, err
		}
	}
	if u.LastLoginAt, err = nullTime(lastLogin); err != nil {
		return nil, err
	}
	s.User = &u
	return s, nil
}

// TouchSession records that a session was used at t, which keeps it from idling out.
func (db *DB) TouchSession(ctx context.Context, tokenHash string, t time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`,
		formatTime(t), tokenHash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session; ending one that does not exist is not an error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions created before createdBefore or last used before
// seenBefore, and returns how many it removed.
func (db *DB) DeleteExpiredSessions(ctx context.Context, createdBefore, seenBefore time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?`,
		formatTime(createdBefore), formatTime(seenBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}
