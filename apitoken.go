package leadmailer

import (
	"strings"
	"time"
)

// APITokenPrefix starts every API token, so that a token pasted into a chat or committed to a
// repository is recognisable at a glance and by secret scanners.
const APITokenPrefix = "lm_"

// APIToken lets a program call the JSON API with a role, as a user of the web app has one.
// The token itself is shown once when it is made and never stored: only its SHA-256 hash is.
type APIToken struct {
	ID         int64      `json:"-"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	TokenHash  string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// API token states, as Status reports them.
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenRevoked = "revoked"
)

// Status says whether the token may be used at now: active, expired or revoked.
func (t *APIToken) Status(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return TokenRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return TokenExpired
	}
	return TokenActive
}

// Actor is how the audit trail names the token's calls.
func (t *APIToken) Actor() string { return "token:" + t.Name }

// ValidateTokenName checks an API token's name with the rules of user names: it appears in
// the audit trail and in the source of the leads the token pushes.
func ValidateTokenName(name string) error {
	if err := ValidateUserName(name); err != nil {
		return Errorf(EINVALID, "token name: %s", strings.TrimPrefix(err.Error(), "user name "))
	}
	return nil
}
