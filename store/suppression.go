package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// SuppressionHash is the keyed hash under which a normalised address is suppressed. A keyed
// hash (not a plain one) means a stolen suppression list cannot be checked against a list of
// guessed addresses without also stealing the key.
func (db *DB) SuppressionHash(normalizedEmail string) string {
	m := hmac.New(sha256.New, db.suppressionKey)
	m.Write([]byte(normalizedEmail))
	return hex.EncodeToString(m.Sum(nil))
}

// SuppressAddress adds an address to the suppression list: no import will add or update a
// lead with it again. Suppressing an address twice keeps the first record.
func (db *DB) SuppressAddress(ctx context.Context, email, reason string) error {
	norm, err := leadmailer.NormalizeEmail(email)
	if err != nil {
		return err
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO suppressions (hash, kind, reason, created_at)
		VALUES (?, 'address', ?, ?) ON CONFLICT (hash) DO NOTHING`,
		db.SuppressionHash(norm), reason, formatTime(db.now()))
	if err != nil {
		return fmt.Errorf("suppress address: %w", err)
	}
	return nil
}

// IsSuppressed reports whether an address is on the suppression list.
func (db *DB) IsSuppressed(ctx context.Context, email string) (bool, error) {
	norm, err := leadmailer.NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	var n int
	err = db.sql.QueryRowContext(ctx, `SELECT count(*) FROM suppressions WHERE hash = ?`, db.SuppressionHash(norm)).Scan(&n)
	return n > 0, err
}
