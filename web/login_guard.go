package web

import (
	"context"
	"time"

	"github.com/leadmailer/leadmailer/store"
)

// Login throttling. Failures are counted three ways, so that guessing is slow while nobody
// can lock a user out from elsewhere:
//
//   - per client address, whatever the name: 20 failures in 15 minutes and that address
//     waits. One address guessing many names, or one name, is stopped here.
//   - per name and client address: 5 failures in 15 minutes and that address waits for that
//     name. A colleague who mistypes is slowed; nobody else is.
//   - per name, from all addresses together: 100 failures in 15 minutes, a guess from many
//     addresses at once, and that name may still log in from the addresses it logged in
//     from successfully in the last 30 days, but not from others until the failures age.
//     It is counted for every name typed, existing or not, so the answer tells nothing
//     about which names exist.
//
// The client address is the one Options.ClientIP gives: behind a trusted proxy, the client's,
// not the proxy's, which would otherwise be everyone's.
const (
	loginWindow       = 15 * time.Minute
	loginClientLimit  = 20
	loginPairLimit    = 5
	loginAccountLimit = 100
	knownClientFor    = 30 * 24 * time.Hour
)

// loginGuard counts login failures in the database, so that every serve process on it
// counts the same ones: an attacker gets no more guesses by spreading them over processes.
// A count is a window that opens with the first failure under its key and lasts
// loginWindow; the limit is reached when that many failures fall in it, and the key waits
// until the window ends. The failures of one burst therefore wait exactly as long as they
// would counting each failure's age; failures spread over a window may see the next window
// open a little earlier. It is safe for concurrent use.
type loginGuard struct {
	db  *store.DB
	now func() time.Time
}

func newLoginGuard(db *store.DB, now func() time.Time) *loginGuard {
	return &loginGuard{db: db, now: now}
}

// The keys the guard counts under. The store keeps only keyed hashes of them: a typed name
// may be a password typed into the wrong field.
func clientKey(ip string) string        { return "login client\x00" + ip }
func pairKey(name, ip string) string    { return "login pair\x00" + name + "\x00" + ip }
func accountKey(name string) string     { return "login account\x00" + name }
func knownKey(name, ip string) string   { return "login known\x00" + name + "\x00" + ip }
func refusalKey(throttle string) string { return "login refused\x00" + throttle }

// loginRefusal says why an attempt is refused without checking the password.
type loginRefusal struct {
	// key names the throttle and what it counts, for aggregating refusals.
	key string
	// byName says whether the refusal concerns the typed name (and the audit entry should
	// name it) or only the client's address.
	byName bool
	// reason is for the audit trail, message for the person at the form.
	reason, message string
	wait            time.Duration
}

// check reports whether an attempt for name from ip must be refused, and why. One query reads
// all of the name's and the address's counts.
func (g *loginGuard) check(ctx context.Context, name, ip string) (loginRefusal, bool, error) {
	now := g.now()
	counts, err := g.db.FindThrottleCounts(ctx, now, clientKey(ip), pairKey(name, ip), accountKey(name), knownKey(name, ip))
	if err != nil {
		return loginRefusal{}, false, err
	}
	over := func(key string, limit int) (bool, time.Duration) {
		c, ok := counts[key]
		return ok && c.Count >= limit, c.Until.Sub(now)
	}
	if blocked, wait := over(clientKey(ip), loginClientLimit); blocked {
		return loginRefusal{key: clientKey(ip), reason: "too many failed logins from this address",
			message: "Too many failed logins from your address.", wait: wait}, true, nil
	}
	if blocked, wait := over(pairKey(name, ip), loginPairLimit); blocked {
		return loginRefusal{key: pairKey(name, ip), byName: true,
			reason: "too many failed logins for this name from this address", message: "Too many failed logins.", wait: wait}, true, nil
	}
	_, known := counts[knownKey(name, ip)]
	if blocked, wait := over(accountKey(name), loginAccountLimit); blocked && !known {
		return loginRefusal{key: accountKey(name), byName: true,
			reason:  "too many failed logins for this name from many addresses; only addresses it logged in from before may try",
			message: "Too many failed logins for this user from many addresses. It can log in now only from where it logged in before.",
			wait:    wait}, true, nil
	}
	return loginRefusal{}, false, nil
}

// failed counts a wrong password, or an unknown or disabled name.
func (g *loginGuard) failed(ctx context.Context, name, ip string) error {
	now := g.now()
	for _, key := range []string{clientKey(ip), pairKey(name, ip), accountKey(name)} {
		if _, err := g.db.AddThrottleCount(ctx, key, now, loginWindow); err != nil {
			return err
		}
	}
	return nil
}

// succeeded forgets the address's failures for the name and remembers the address as one the
// name logs in from, for knownClientFor after this login. The failures counted for the name
// from all addresses stay: a user who logs in does not end a guess from elsewhere. Only
// successful logins mark addresses, so their number is bounded by the users' own use; the
// marks go when they age.
func (g *loginGuard) succeeded(ctx context.Context, name, ip string) error {
	if err := g.db.DeleteThrottleCount(ctx, pairKey(name, ip)); err != nil {
		return err
	}
	return g.db.MarkThrottleKey(ctx, knownKey(name, ip), g.now(), knownClientFor)
}
