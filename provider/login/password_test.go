package login

import "testing"

func TestLockoutSource(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"}, // the same client over a dual-stack socket
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"}, // another address of the same subscriber
		{"fe80::1%eth0", "fe80::/64"},
		{"", ""},
		{"not an address", "not an address"},
	} {
		if got := lockoutSource(tc.remote); got != tc.want {
			t.Errorf("lockoutSource(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}
