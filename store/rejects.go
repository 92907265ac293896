package store

import (
	"strings"
	"unicode"

	"github.com/leadmailer/leadmailer"
)

// RejectEmailKey is the form of a rejected row's e-mail field under which erasure and an
// access request find the row (import_rejects.email_hash): the normalised address when the
// field holds a valid one, and otherwise the field trimmed and lower-cased, since a row is
// often rejected for its address and must still be found by the address the person gives.
// It is "" when the field is empty.
func RejectEmailKey(email string) string {
	if n, err := leadmailer.NormalizeEmail(email); err == nil {
		return n
	}
	return strings.ToLower(strings.TrimFunc(email, unicode.IsSpace))
}

// rejectEmailHash is the value of import_rejects.email_hash for a row whose e-mail field is
// email: NULL when it has none.
func (db *DB) rejectEmailHash(email string) any {
	key := RejectEmailKey(email)
	if key == "" {
		return nil
	}
	return db.SuppressionHash(key)
}

// rejectEmailHash is DB.rejectEmailHash with the writer's reused hash states, for the rows
// of an import.
func (w *ImportWriter) rejectEmailHash(email string) any {
	key := RejectEmailKey(email)
	if key == "" {
		return nil
	}
	return w.SuppressionHash(key)
}
