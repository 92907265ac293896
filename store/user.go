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

const userColumns = `u.id, u.name, u.role, u.password_hash, u.disabled, u.created_at, u.updated_at, u.last_login_at`

func scanUser(row interface{ Scan(...any) error }) (*leadmailer.User, error) {
	var u leadmailer.User
	var created, updated string
	var lastLogin sql.NullString
	if err := row.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &created, &updated, &lastLogin); err != nil {
		return nil, err
	}
	var err error
	if u.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if u.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if u.LastLoginAt, err = nullTime(lastLogin); err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser adds a user and sets u.ID and its times. A taken name is an ECONFLICT error.
func (db *DB) CreateUser(ctx context.Context, u *leadmailer.User) error {
	if err := leadmailer.ValidateUserName(u.Name); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return leadmailer.Errorf(leadmailer.EINVALID, "role %q: use admin, marketer or viewer", u.Role)
	}
	now := db.now().UTC().Truncate(time.Microsecond)
	err := db.sql.QueryRowContext(ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.Name, u.Role, u.PasswordHash, formatTime(now), formatTime(now)).Scan(&u.ID)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique || pgUniqueViolation(err) {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "user %q already exists; use \"users passwd %s\" to change the password", u.Name, u.Name)
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return nil
}

// FindUserByName returns the user with the given login name.
func (db *DB) FindUserByName(ctx context.Context, name string) (*leadmailer.User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no user %q", name)
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", name, err)
	}
	return u, nil
}

// FindUsers returns every user, by name.
func (db *DB) FindUsers(ctx context.Context) ([]*leadmailer.User, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	var users []*leadmailer.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("find users: %w", err)
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// CountUsers returns how many users there are, disabled ones included.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// SetUserPassword replaces a user's password hash and ends the user's sessions, so that a
// changed password locks out whoever knew the old one.
func (db *DB) SetUserPassword(ctx context.Context, name, passwordHash string) error {
	return db.updateUser(ctx, name, `UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?`,
		passwordHash, formatTime(db.now()), name)
}

// DisableUser stops a user from logging in and ends the user's sessions. Users are disabled
// rather than deleted so that the audit trail keeps naming someone who existed.
func (db *DB) DisableUser(ctx context.Context, name string) error {
	return db.updateUser(ctx, name, `UPDATE users SET disabled = 1, updated_at = ? WHERE name = ?`,
		formatTime(db.now()), name)
}

// updateUser runs one update of the named user and deletes the user's sessions in the same
// transaction.
func (db *DB) updateUser(ctx context.Context, name, query string, args ...any) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update user %s: %w", name, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update user %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "no user %q; \"leadmailer users list\" shows the users", name)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)`, name); err != nil {
		return fmt.Errorf("end sessions of user %s: %w", name, err)
	}
	return tx.Commit()
}
