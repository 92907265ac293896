package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// A user logs in, the session is found with its user, a second user of the same name is a
// conflict, and a disabled user's session is no longer found; expired sessions go.
func TestUsersAndSessions(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			u := &leadmailer.User{Name: "anna", Role: leadmailer.RoleAdmin, PasswordHash: "hash"}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			err := db.CreateUser(ctx, &leadmailer.User{Name: "anna", Role: leadmailer.RoleViewer, PasswordHash: "x"})
			if leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
				t.Fatalf("second user anna: %v, want a conflict", err)
			}
			login := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			s := &leadmailer.Session{TokenHash: "tok", UserID: u.ID, CSRFToken: "csrf", CreatedAt: login, LastSeenAt: login, IP: "192.0.2.1"}
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindSession(ctx, "tok")
			if err != nil {
				t.Fatal(err)
			}
			if got.User.Name != "anna" || got.CSRFToken != "csrf" || !got.CreatedAt.Equal(login) || got.User.Disabled {
				t.Errorf("found session %+v of user %+v", got, got.User)
			}
			if got.User.LastLoginAt == nil || !got.User.LastLoginAt.Equal(login) {
				t.Errorf("last login %v, want %v", got.User.LastLoginAt, login)
			}
			if n, err := db.CountUsers(ctx); err != nil || n != 1 {
				t.Errorf("CountUsers = %d, %v; want 1", n, err)
			}
			if err := db.DisableUser(ctx, "anna"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.FindSession(ctx, "tok"); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
				t.Errorf("session of a disabled user: %v, want not found", err)
			}
			if au, err := db.FindUserByName(ctx, "anna"); err != nil || !au.Disabled {
				t.Errorf("FindUserByName after disabling = %+v, %v; want disabled", au, err)
			}
			s2 := &leadmailer.Session{TokenHash: "old", UserID: u.ID, CSRFToken: "c", CreatedAt: login, LastSeenAt: login}
			if err := db.CreateSession(ctx, s2); err != nil {
				t.Fatal(err)
			}
			n, err := db.DeleteExpiredSessions(ctx, login.Add(time.Hour), login.Add(time.Hour))
			if err != nil || n < 1 {
				t.Errorf("DeleteExpiredSessions = %d, %v; want the old session gone", n, err)
			}
		})
	}
}
