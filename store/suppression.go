package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SuppressionHash is the keyed hash under which a normalised address is suppressed. A keyed
// hash (not a plain one) means a stolen suppression list cannot be checked against a list of
// guessed addresses without also stealing the key.
func (db *DB) SuppressionHash(normalizedEmail string) string {
	m := hmac.New(sha256.New, db.suppressionKey)
	m.Write([]byte(normalizedEmail))
	return hex.EncodeToString(m.Sum(nil))
}
