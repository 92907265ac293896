package leadmailer

import (
	"strings"
	"time"
)

// Role decides what a user of the web app may do. Each role may do everything the roles
// below it may.
type Role string

// Roles, from least to most trusted.
const (
	// RoleViewer reads leads and their provenance.
	RoleViewer Role = "viewer"
	// RoleMarketer also uploads CSV files, runs sources and runs campaigns.
	RoleMarketer Role = "marketer"
	// RoleAdmin also manages users, exports and erases personal data, and reads the audit log.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most trusted.
func Roles() []Role { return []Role{RoleViewer, RoleMarketer, RoleAdmin} }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleMarketer:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a user with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// User is a person who logs in to the web app.
type User struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Role         Role       `json:"role"`
	PasswordHash string     `json:"-"`
	Disabled     bool       `json:"disabled"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty"`
}

// ValidateUserName checks a login name: 1 to 64 characters of letters, digits and . _ - @,
// so that names are easy to type, unambiguous in the audit trail and never need escaping.
func ValidateUserName(name string) error {
	if name == "" || len(name) > 64 {
		return Errorf(EINVALID, "user name %q: use 1 to 64 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return Errorf(EINVALID, "user name %q: use only letters a-z, digits and . _ - @", name)
		}
	}
	return nil
}

// Session is one login of one user to the web app. The token the browser holds is never
// stored: only its SHA-256 hash is, so a copy of the database lets no one log in.
type Session struct {
	TokenHash string
	UserID    int64
	// CSRFToken is put in every form the session's pages show and must come back with
	// every POST.
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string
	// User is the session's user, filled in when a session is looked up.
	User *User
}
