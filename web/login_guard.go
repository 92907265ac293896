package web

import (
	"sync"
	"time"

	"github.com/leadmailer/leadmailer/auth"
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
	loginWindow        = 15 * time.Minute
	loginClientLimit   = 20
	loginPairLimit     = 5
	loginAccountLimit  = 100
	knownClientFor     = 30 * 24 * time.Hour
	knownClientsPerKey = 20
)

// loginGuard holds the login throttles. It is safe for concurrent use.
type loginGuard struct {
	client, pair, account *auth.Throttle
	known                 knownClients
	now                   func() time.Time
}

func newLoginGuard(now func() time.Time) *loginGuard {
	return &loginGuard{
		client:  auth.NewThrottle(loginClientLimit, loginWindow, now),
		pair:    auth.NewThrottle(loginPairLimit, loginWindow, now),
		account: auth.NewThrottle(loginAccountLimit, loginWindow, now),
		known:   knownClients{seen: map[string]map[string]time.Time{}},
		now:     now,
	}
}

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

func pairKey(name, ip string) string { return name + "\x00" + ip }

// check reports whether an attempt for name from ip must be refused, and why.
func (g *loginGuard) check(name, ip string) (loginRefusal, bool) {
	if blocked, wait := g.client.Blocked(ip); blocked {
		return loginRefusal{key: "client\x00" + ip, reason: "too many failed logins from this address",
			message: "Too many failed logins from your address.", wait: wait}, true
	}
	if blocked, wait := g.pair.Blocked(pairKey(name, ip)); blocked {
		return loginRefusal{key: "pair\x00" + pairKey(name, ip), byName: true,
			reason: "too many failed logins for this name from this address", message: "Too many failed logins.", wait: wait}, true
	}
	if blocked, wait := g.account.Blocked(name); blocked && !g.known.has(name, ip, g.now()) {
		return loginRefusal{key: "account\x00" + name, byName: true,
			reason:  "too many failed logins for this name from many addresses; only addresses it logged in from before may try",
			message: "Too many failed logins for this user from many addresses. It can log in now only from where it logged in before.",
			wait:    wait}, true
	}
	return loginRefusal{}, false
}

// failed counts a wrong password, or an unknown or disabled name.
func (g *loginGuard) failed(name, ip string) {
	g.client.Fail(ip)
	g.pair.Fail(pairKey(name, ip))
	g.account.Fail(name)
}

// succeeded forgets the address's failures for the name and remembers the address as one the
// name logs in from. The failures counted for the name from all addresses stay: a user who
// logs in does not end a guess from elsewhere.
func (g *loginGuard) succeeded(name, ip string) {
	g.pair.Reset(pairKey(name, ip))
	g.known.add(name, ip, g.now())
}

// knownClients remembers, per name, the addresses of its successful logins. It is kept in
// memory: after a restart every address is unknown until it logs in again, which matters only
// while a name is under a guessing attack from many addresses.
type knownClients struct {
	mu   sync.Mutex
	seen map[string]map[string]time.Time // name -> address -> last successful login
}

func (k *knownClients) has(name, ip string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.seen[name][ip]
	return ok && now.Sub(at) < knownClientFor
}

func (k *knownClients) add(name, ip string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ips := k.seen[name]
	if ips == nil {
		ips = map[string]time.Time{}
		k.seen[name] = ips
	}
	ips[ip] = now
	// Only successful logins add, so the names are the users'; each keeps its most recent
	// addresses.
	for len(ips) > knownClientsPerKey {
		oldest, oldestAt := "", now
		for a, t := range ips {
			if !t.After(oldestAt) {
				oldest, oldestAt = a, t
			}
		}
		delete(ips, oldest)
	}
}
