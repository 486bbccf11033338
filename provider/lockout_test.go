package provider_test

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

// browserFrom is a browser on another machine: it reaches the provider
// from the loopback address ip (all of 127.0.0.0/8 is this host's), so the
// provider sees it as the source a real client's address would be.
func browserFrom(t *testing.T, env *testenv.Env, ip string) *testenv.Browser {
	t.Helper()
	b := env.NewBrowser(t)
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	b.Client.Transport = tr
	return b
}

// passwordHashes reads the provider's count of password hashes from
// /metrics, as a monitoring system would.
func passwordHashes(t *testing.T, env *testenv.Env) float64 {
	t.Helper()
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "stepup_password_hashes_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no stepup_password_hashes_total in /metrics")
	return 0
}

// answer is what one password attempt shows from outside: the status, the
// page's text and the password hashes it cost.
type answer struct {
	status int
	text   string
	hashes float64
}

func attempt(t *testing.T, env *testenv.Env, b *testenv.Browser, p *testenv.Page, name, pw string) answer {
	t.Helper()
	before := passwordHashes(t, env)
	got := b.SubmitPassword(p, name, pw)
	return answer{got.Status, got.Text(), passwordHashes(t, env) - before}
}

func lockoutEnv(t *testing.T, perSource, perUser int) *testenv.Env {
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.Lockout.MaxFailures, c.Lockout.MaxFailuresPerUser = perSource, perUser
	}))
	env.AddUser(t, "alice", alicePassword)
	return env
}

// scopes lists the scope and source of lockout events, sorted.
func scopes(events []storage.Event) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Details["scope"]+"@"+e.RemoteAddr)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// A locked account answers exactly as a name that has no account: same
// status, same text, the same one password hash; with its right password
// too, so the lock neither reveals the account nor confirms a guess.
func TestLockoutAnswersLikeUnknownName(t *testing.T) {
	env := lockoutEnv(t, 3, 100)
	b := browserFrom(t, env, "127.0.0.2")
	p := b.Get(env.NewRP(t, testenv.PublicClient, "").AuthURL(nil).URL)
	unknown := attempt(t, env, b, p, "mallory", "wrong password!")
	if unknown.status != http.StatusUnauthorized || !strings.Contains(unknown.text, "username or password is incorrect") || unknown.hashes != 1 {
		t.Fatalf("unknown name: %+v", unknown)
	}
	for i := range 3 {
		if got := attempt(t, env, b, p, "alice", "wrong password!"); got != unknown {
			t.Fatalf("wrong password %d: %+v, unknown name: %+v", i+1, got, unknown)
		}
	}
	if ev := listEvents(t, env, "lockout.started"); len(ev) != 1 || ev[0].UserID != "u-alice" || ev[0].Details["scope"] != "source" {
		t.Fatalf("lockout not audited: %+v", ev)
	}
	for _, try := range []struct{ name, pw string }{
		{"alice", alicePassword},
		{"Alice", alicePassword},
		{"alice", "wrong password!"},
		{"mallory", alicePassword},
		{"ali\u200bce", alicePassword},
	} {
		if got := attempt(t, env, b, p, try.name, try.pw); got != unknown {
			t.Fatalf("locked, %q: %+v, unknown name: %+v", try.name, got, unknown)
		}
	}
	if n := len(listEvents(t, env, "login.password.locked")); n != 3 {
		t.Fatalf("audited %d attempts on the locked password, want 3", n)
	}
	env.Clock.Advance(16 * time.Minute)
	testenv.MustCallback(t, b.SubmitPassword(p, "alice", alicePassword))
}

// A stranger's guesses from one address lock that address, not the user:
// the user still signs in from elsewhere.
func TestLockoutIsPerSource(t *testing.T) {
	env := lockoutEnv(t, 3, 100)
	rp := env.NewRP(t, testenv.PublicClient, "")
	stranger := browserFrom(t, env, "127.0.0.2")
	p := stranger.Get(rp.AuthURL(nil).URL)
	for range 5 {
		stranger.SubmitPassword(p, "alice", "wrong password!")
	}
	if got := stranger.SubmitPassword(p, "alice", alicePassword); got.Status != http.StatusUnauthorized {
		t.Fatalf("the locked source signed in: %d %s", got.Status, got.Text())
	}
	alice := browserFrom(t, env, "127.0.0.3")
	testenv.MustCallback(t, alice.SubmitPassword(alice.Get(rp.AuthURL(nil).URL), "alice", alicePassword))
	if got := scopes(listEvents(t, env, "lockout.started")); got != "source@127.0.0.2" {
		t.Fatalf("lockouts: %v", got)
	}
	// Her success cleared her own counts, not the stranger's lock.
	if got := stranger.SubmitPassword(p, "alice", alicePassword); got.Status != http.StatusUnauthorized {
		t.Fatalf("the locked source signed in after the user did: %d %s", got.Status, got.Text())
	}
}

// Guesses spread over many addresses are still bounded: at the per-user
// ceiling the password is locked from every address.
func TestLockoutCeilingPerUser(t *testing.T) {
	env := lockoutEnv(t, 3, 7)
	rp := env.NewRP(t, testenv.PublicClient, "")
	guess := func(ip string, n int) {
		b := browserFrom(t, env, ip)
		p := b.Get(rp.AuthURL(nil).URL)
		for range n {
			b.SubmitPassword(p, "alice", "wrong password!")
		}
	}
	guess("127.0.0.2", 3)
	guess("127.0.0.3", 3)
	guess("127.0.0.4", 1) // the seventh failure
	want := "source@127.0.0.2 source@127.0.0.3 user@127.0.0.4"
	if got := scopes(listEvents(t, env, "lockout.started")); got != want {
		t.Fatalf("lockouts: %v, want %s", got, want)
	}
	alice := browserFrom(t, env, "127.0.0.5")
	p := alice.Get(rp.AuthURL(nil).URL)
	unknown := attempt(t, env, alice, p, "mallory", alicePassword)
	if got := attempt(t, env, alice, p, "alice", alicePassword); got != unknown || got.status != http.StatusUnauthorized {
		t.Fatalf("right password under the ceiling's lock: %+v, unknown name: %+v", got, unknown)
	}
	if ev := listEvents(t, env, "login.password.locked"); len(ev) != 1 || ev[0].Details["scope"] != "user" {
		t.Fatalf("locked attempt: %+v", ev)
	}
	env.Clock.Advance(16 * time.Minute)
	testenv.MustCallback(t, alice.SubmitPassword(p, "alice", alicePassword))
}
