package login

import (
	"net/netip"

	"github.com/stepup-mfa/stepup/provider/password"
)

// passwordLock is one failure count of the password step: per user and
// source, or per user across all sources (the ceiling that bounds a guess
// spread over many addresses).
type passwordLock struct {
	scope string // "source" or "user", as audited
	key   string
	max   int
}

// passwordLocks returns the counts a password attempt for userID from the
// address remote goes to. Counting per source as well as per user is what
// keeps a stranger from locking a user out from elsewhere (the idea of
// Okta's lockout that spares known devices).
func (h *Handler) passwordLocks(userID, remote string) []passwordLock {
	return []passwordLock{
		{scope: "source", key: "lockout:password:" + userID + "@" + lockoutSource(remote), max: h.Config.Lockout.MaxFailures},
		{scope: "user", key: "lockout:password:" + userID, max: h.Config.Lockout.MaxFailuresPerUser},
	}
}

// lockoutSource is where a password attempt comes from, for its count: the
// client's IP address, or the /64 of an IPv6 one, since one subscriber
// usually holds a whole /64 and could otherwise take a fresh count per
// address.
func lockoutSource(remote string) string {
	ip, err := netip.ParseAddr(remote)
	if err != nil {
		return remote
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// verifyPassword checks pw against a user's stored hash; verifyDummy does
// the same work for a name without one. Both count the hash, so that equal
// work for known and unknown names can be checked (and watched).
func (h *Handler) verifyPassword(encoded, pw string) (bool, error) {
	h.Metrics.PasswordWork.Inc()
	return password.Verify(encoded, pw)
}

func (h *Handler) verifyDummy(pw string) {
	h.Metrics.PasswordWork.Inc()
	h.Hasher.VerifyDummy(pw)
}
