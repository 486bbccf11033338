package provider_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// The upstream first factor (SPEC §11) against zitadel/oidc's example
// OpenID provider, in-process (testenv.WithUpstream).

// upstreamSignIn starts a login at env's public client with extra
// parameters and signs in at the upstream as username; it returns the
// page the sign-in ends on.
func upstreamSignIn(t *testing.T, env *testenv.Env, b *testenv.Browser, extra url.Values, username string) (*testenv.Page, *testenv.RP, testenv.AuthRequest) {
	t.Helper()
	rp := env.NewRP(t, testenv.PublicClient, "")
	ar := rp.AuthURL(extra)
	p := b.Get(ar.URL)
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), env.Upstream.URL+"/") {
		t.Fatalf("the login did not send the browser to the upstream: %d at %s (location %v):\n%s", p.Status, p.URL, p.Location, p.Text())
	}
	return b.SignInUpstream(p, env.Upstream, username), rp, ar
}

func upstreamTokens(t *testing.T, p *testenv.Page, rp *testenv.RP, ar testenv.AuthRequest) *testenv.Tokens {
	t.Helper()
	tok, err := rp.Exchange(testenv.MustCallback(t, p).Code(t), ar)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func upstreamUser(t *testing.T, env *testenv.Env, sub string) storage.User {
	t.Helper()
	u, err := env.Store.GetUserByUpstream(context.Background(), env.Upstream.URL, sub)
	if err != nil {
		t.Fatalf("no user linked to upstream %s: %v", sub, err)
	}
	return u
}

func TestUpstreamFirstLoginCreatesAndLinks(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testUpstreamFirstLogin(t, testenv.New(t, testenv.WithUpstream(nil))) })
	t.Run("postgres", func(t *testing.T) {
		testUpstreamFirstLogin(t, testenv.New(t, testenv.WithUpstream(nil), testenv.WithPostgres()))
	})
}

func testUpstreamFirstLogin(t *testing.T, env *testenv.Env) {
	b := env.NewBrowser(t)
	p, rp, ar := upstreamSignIn(t, env, b, url.Values{"login_hint": {"alice"}}, "alice")
	tok := upstreamTokens(t, p, rp, ar)

	u := upstreamUser(t, env, "u-alice")
	if u.Username != "alice" || u.Email != "alice@example.com" || u.Name != "Test User" || u.PasswordHash != "" || !u.Active {
		t.Errorf("created user = %+v, want alice, alice@example.com, Test User, no password", u)
	}
	if tok.Claims.Subject != u.ID {
		t.Errorf("sub = %q, want the linked user's ID %q", tok.Claims.Subject, u.ID)
	}
	// The example OP says how its user signed in: amr pwd, kept as is.
	if !slices.Equal(tok.Claims.AMR, []string{"pwd"}) || tok.Claims.ACR != "aal1" {
		t.Errorf("acr, amr = %q, %v; want aal1, [pwd] from the upstream", tok.Claims.ACR, tok.Claims.AMR)
	}
	if ev := listEvents(t, env, "user.created"); len(ev) != 1 || ev[0].UserID != u.ID {
		t.Errorf("user.created events = %+v, want one for %s", ev, u.ID)
	}
	if ev := listEvents(t, env, "login.upstream.succeeded"); len(ev) != 1 {
		t.Errorf("login.upstream.succeeded events = %d, want 1", len(ev))
	}

	// Second login, in another browser: the same user, linked, not a new one;
	// the email and the name follow the upstream's.
	env.Upstream.AddUser("u-alice", "alice", "alice@new.example.com")
	env.Upstream.SetName("u-alice", "Alice", "Liddell")
	p, rp, ar = upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	tok = upstreamTokens(t, p, rp, ar)
	if tok.Claims.Subject != u.ID {
		t.Errorf("second login sub = %q, want %q", tok.Claims.Subject, u.ID)
	}
	users, err := env.Store.ListUsers(context.Background())
	if err != nil || len(users) != 1 {
		t.Fatalf("users after two logins = %d (%v), want 1", len(users), err)
	}
	if users[0].Email != "alice@new.example.com" || users[0].Name != "Alice Liddell" {
		t.Errorf("email, name = %q, %q; want the upstream's new ones", users[0].Email, users[0].Name)
	}
	// Relying parties get the name with the profile scope.
	ui, err := rp.Provider.UserInfo(t.Context(), rp.OAuth.TokenSource(t.Context(), tok.OAuth))
	var claims struct {
		Name string `json:"name"`
	}
	if err != nil || ui.Claims(&claims) != nil || claims.Name != "Alice Liddell" {
		t.Errorf("userinfo: %v, name %q; want Alice Liddell", err, claims.Name)
	}
}

func TestUpstreamAMR(t *testing.T) {
	env := testenv.New(t, testenv.WithUpstream(nil))
	env.Upstream.Set(testenv.UpstreamOptions{AMR: []string{}})
	p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	if tok := upstreamTokens(t, p, rp, ar); !slices.Equal(tok.Claims.AMR, []string{"fed"}) {
		t.Errorf("amr = %v, want [fed] for an upstream that sends none", tok.Claims.AMR)
	}
	env.Upstream.Set(testenv.UpstreamOptions{AMR: []string{"pwd", "otp", "mfa"}})
	p, rp, ar = upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	tok := upstreamTokens(t, p, rp, ar)
	if !slices.Equal(tok.Claims.AMR, []string{"pwd", "otp", "mfa"}) || tok.Claims.ACR != "aal1" {
		// Not trusted: the upstream's mfa is reported, and counts for nothing.
		t.Errorf("acr, amr = %q, %v; want aal1, the upstream's [pwd otp mfa]", tok.Claims.ACR, tok.Claims.AMR)
	}
}

const essentialAAL2 = `{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}`

// TestUpstreamTrustedAMR: an upstream amr listed in trusted_amr is the
// second factor (aal2 without a local method); not listed, it is not.
func TestUpstreamTrustedAMR(t *testing.T) {
	t.Run("listed", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(func(u *config.Upstream) { u.TrustedAMR = []string{"mfa"} }))
		env.Upstream.Set(testenv.UpstreamOptions{AMR: []string{"pwd", "mfa"}})
		p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), url.Values{"claims": {essentialAAL2}}, "alice")
		tok := upstreamTokens(t, p, rp, ar)
		if tok.Claims.ACR != "aal2" || !slices.Contains(tok.Claims.AMR, "mfa") {
			t.Errorf("acr, amr = %q, %v; want aal2 with mfa", tok.Claims.ACR, tok.Claims.AMR)
		}
		// Never aal3: an amr value cannot show a device-bound key.
		p, _, _ = upstreamSignIn(t, env, env.NewBrowser(t), url.Values{"claims": {`{"id_token":{"acr":{"essential":true,"values":["aal3"]}}}`}}, "alice")
		if cb := testenv.MustCallback(t, p); cb.Params.Get("error") != "unmet_authentication_requirements" {
			t.Errorf("essential aal3 on trusted amr: callback %v, want unmet_authentication_requirements", cb.Params)
		}
	})
	t.Run("listed, upstream did not do it", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(func(u *config.Upstream) { u.TrustedAMR = []string{"mfa"} }))
		p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), url.Values{"claims": {essentialAAL2}}, "alice")
		if cb := testenv.MustCallback(t, p); cb.Params.Get("error") != "unmet_authentication_requirements" {
			t.Errorf("callback %v, want unmet_authentication_requirements", cb.Params)
		}
	})
	t.Run("not listed", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		env.Upstream.Set(testenv.UpstreamOptions{AMR: []string{"pwd", "mfa"}})
		p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), url.Values{"claims": {essentialAAL2}}, "alice")
		if cb := testenv.MustCallback(t, p); cb.Params.Get("error") != "unmet_authentication_requirements" {
			t.Errorf("callback %v, want unmet_authentication_requirements: trusted_amr is off by default", cb.Params)
		}
	})
}

// assertUpstreamRefused checks a failed upstream sign-in: a page that
// says so, an audit event with the reason, no user created or linked.
func assertUpstreamRefused(t *testing.T, env *testenv.Env, p *testenv.Page, status int, reason, says string) {
	t.Helper()
	if p.Status != status || !strings.Contains(p.Text(), says) {
		t.Errorf("page %d %q, want %d saying %q", p.Status, p.Text(), status, says)
	}
	ev := listEvents(t, env, "login.upstream.failed")
	if len(ev) == 0 || ev[0].Details["reason"] != reason { // newest first
		t.Errorf("login.upstream.failed events = %+v, want one with reason %q", ev, reason)
	}
	users, err := env.Store.ListUsers(context.Background())
	if err != nil || len(users) != 0 {
		t.Errorf("users = %+v (%v), want none created", users, err)
	}
}

func TestUpstreamFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   testenv.UpstreamOptions
		status int
		reason string
		says   string
	}{
		{"bad signature", testenv.UpstreamOptions{ForeignKeys: true}, 502, "invalid token", "could not be verified"},
		{"wrong nonce", testenv.UpstreamOptions{WrongNonce: true}, 502, "invalid token", "could not be verified"},
		{"upstream error", testenv.UpstreamOptions{Refuse: true}, 502, "upstream error", "access_denied"},
		// Validly signed by the upstream, but not for stepup, or not by
		// the issuer stepup is the client of.
		{"wrong audience", testenv.UpstreamOptions{IDTokenClaims: func(c map[string]any) {
			c["aud"], c["azp"], c["client_id"] = []string{"another-app"}, "another-app", "another-app"
		}}, 502, "invalid token", "could not be verified"},
		{"wrong issuer", testenv.UpstreamOptions{IDTokenClaims: func(c map[string]any) { c["iss"] = "https://impostor.example" }},
			502, "invalid token", "could not be verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, testenv.WithUpstream(nil))
			env.Upstream.Set(tc.opts)
			p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
			assertUpstreamRefused(t, env, p, tc.status, tc.reason, tc.says)
		})
	}
	// The control of the two above: a token signed again without a change
	// is accepted, so they fail on their claim, not on the signing again.
	t.Run("signed again unchanged", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		env.Upstream.Set(testenv.UpstreamOptions{IDTokenClaims: func(map[string]any) {}})
		p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
		if tok := upstreamTokens(t, p, rp, ar); tok.Claims.Subject != upstreamUser(t, env, "u-alice").ID {
			t.Errorf("sub = %q, want the linked user's", tok.Claims.Subject)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		env.Upstream.HTTP.Close()
		rp := env.NewRP(t, testenv.PublicClient, "")
		p := env.NewBrowser(t).Get(rp.AuthURL(nil).URL)
		assertUpstreamRefused(t, env, p, 502, "unreachable", "cannot reach")
	})
	t.Run("state mismatch", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		b := env.NewBrowser(t)
		rp := env.NewRP(t, testenv.PublicClient, "")
		ar := rp.AuthURL(nil)
		first := b.Get(ar.URL)
		state := first.Location.Query().Get("state")
		id, _, _ := strings.Cut(state, ".")
		p := b.Get(env.URL + "/login/upstream/callback?code=x&state=" + url.QueryEscape(id+".forged"))
		assertUpstreamRefused(t, env, p, 400, "state mismatch", "does not belong")
		// A forged answer does not use up the sign-in: the real one works.
		upstreamTokens(t, b.SignInUpstream(first, env.Upstream, "alice"), rp, ar)
	})
	t.Run("replay", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		b := env.NewBrowser(t)
		rp := env.NewRP(t, testenv.PublicClient, "")
		p := b.Get(rp.AuthURL(nil).URL)
		callback := upstreamCallbackURL(t, b, env, p)
		// The answer taken to another browser (a login CSRF): not its sign-in.
		if p := env.NewBrowser(t).Get(callback); p.Status != 403 {
			t.Errorf("callback in another browser: %d %q, want 403", p.Status, p.Text())
		}
		testenv.MustCallback(t, b.Get(callback))
		// The same answer again: the sign-in is done.
		if p := b.Get(callback); p.Status != 409 {
			t.Errorf("replayed callback: %d %q, want 409", p.Status, p.Text())
		}
		if ev := listEvents(t, env, "login.request_refused"); len(ev) != 2 {
			t.Errorf("login.request_refused events = %d, want 2", len(ev))
		}
		if ev := listEvents(t, env, "login.upstream.succeeded"); len(ev) != 1 {
			t.Errorf("login.upstream.succeeded events = %d, want 1", len(ev))
		}
	})
	t.Run("state used once", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		b := env.NewBrowser(t)
		rp := env.NewRP(t, testenv.PublicClient, "")
		state := b.Get(rp.AuthURL(nil).URL).Location.Query().Get("state")
		// The right state with a code the upstream never issued: refused
		// by the upstream, and the sign-in's state is used up with it.
		p := b.Get(env.URL + "/login/upstream/callback?code=forged&state=" + url.QueryEscape(state))
		if p.Status != 502 {
			t.Errorf("forged code: %d %q, want 502", p.Status, p.Text())
		}
		p = b.Get(env.URL + "/login/upstream/callback?code=forged&state=" + url.QueryEscape(state))
		assertUpstreamRefused(t, env, p, 400, "state mismatch", "does not belong")
	})
	t.Run("callback before any sign-in", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		p := env.NewBrowser(t).Get(env.URL + "/login/upstream/callback?code=x&state=nosuch.request")
		assertUpstreamRefused(t, env, p, 400, "state mismatch", "does not belong")
	})
}

// upstreamCallbackURL signs in at the upstream from p and returns the URL
// the upstream sends the browser back to stepup with, without following it.
func upstreamCallbackURL(t *testing.T, b *testenv.Browser, env *testenv.Env, p *testenv.Page) string {
	t.Helper()
	for p.Location != nil && strings.HasPrefix(p.Location.String(), env.Upstream.URL) {
		p = b.Get(p.Location.String())
	}
	f := p.Form(t, "username")
	prev := b.Client.CheckRedirect
	b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer func() { b.Client.CheckRedirect = prev }()
	p = b.Submit(p, f, map[string]string{"username": "alice", "password": testenv.UpstreamPassword})
	for p.Location != nil && strings.HasPrefix(p.Location.String(), env.Upstream.URL) {
		p = b.Get(p.Location.String())
	}
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), env.URL+"/login/upstream/callback") {
		t.Fatalf("the upstream did not send the browser back to stepup: %d %v", p.Status, p.Location)
	}
	return p.Location.String()
}

func TestUpstreamUsernames(t *testing.T) {
	t.Run("clash with a local user", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		local := env.AddUser(t, "alice", "correct horse")
		p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
		if p.Status != 409 || !strings.Contains(p.Text(), "already belongs to an account here") {
			t.Errorf("page %d %q, want 409 saying the name is taken", p.Status, p.Text())
		}
		if ev := listEvents(t, env, "login.upstream.failed"); len(ev) != 1 || ev[0].Details["reason"] != "username taken" {
			t.Errorf("events = %+v, want one username taken", ev)
		}
		// Never a silent merge: the local user stays unlinked, no other is made.
		u, err := env.Store.GetUser(context.Background(), local.ID)
		if err != nil || u.UpstreamIssuer != "" || u.UpstreamSub != "" {
			t.Errorf("local user = %+v (%v), want it unlinked", u, err)
		}
		if users, _ := env.Store.ListUsers(context.Background()); len(users) != 1 {
			t.Errorf("users = %d, want only the local one", len(users))
		}
	})
	t.Run("clash with a look-alike name", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		env.AddUser(t, "coop", "correct horse")
		env.Upstream.AddUser("u-coop", "\u0441\u043e\u043e\u0440", "coop@example.com") // Cyrillic
		p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), nil, "\u0441\u043e\u043e\u0440")
		if p.Status != 409 {
			t.Errorf("page %d %q, want 409", p.Status, p.Text())
		}
	})
	for _, tc := range []struct{ name, sent, says string }{
		{"control characters", "ev\u0000il\u001b[31m", "cannot be a username here"},
		{"right-to-left override", "admin\u202egnp", "cannot be a username here"},
		{"zero-width space", "ali\u200bce", "cannot be a username here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, testenv.WithUpstream(nil))
			env.Upstream.AddUser("u-x", tc.sent, "x@example.com")
			p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), nil, tc.sent)
			assertUpstreamRefused(t, env, p, 409, "username invalid", tc.says)
		})
	}
	t.Run("normalised", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		env.Upstream.AddUser("u-bob", "  Bob.Smith ", "bob@example.com")
		p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "  Bob.Smith ")
		upstreamTokens(t, p, rp, ar)
		if u := upstreamUser(t, env, "u-bob"); u.Username != "bob.smith" {
			t.Errorf("username = %q, want the normalised bob.smith", u.Username)
		}
	})
	t.Run("claim missing", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(func(u *config.Upstream) { u.UsernameClaim = "nickname" }))
		p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
		assertUpstreamRefused(t, env, p, 409, "username missing", "sent no nickname")
	})
	t.Run("email as the name", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(func(u *config.Upstream) { u.UsernameClaim = "email" }))
		p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
		upstreamTokens(t, p, rp, ar)
		if u := upstreamUser(t, env, "u-alice"); u.Username != "alice@example.com" {
			t.Errorf("username = %q, want alice@example.com", u.Username)
		}
	})
}

// TestUpstreamPassesOn: login_hint, prompt=login and max_age reach the
// upstream, and a fresh sign-in asked for is one.
func TestUpstreamPassesOn(t *testing.T) {
	env := testenv.New(t, testenv.WithUpstream(nil))
	b := env.NewBrowser(t)
	rp := env.NewRP(t, testenv.PublicClient, "")
	if q := b.Get(rp.AuthURL(url.Values{"max_age": {"300"}}).URL).Location.Query(); q.Get("max_age") != "300" || q.Has("prompt") {
		t.Errorf("upstream request %v, want max_age=300 passed on", q)
	}
	ar := rp.AuthURL(url.Values{"login_hint": {"alice@example.com"}, "prompt": {"login"}})
	p := b.Get(ar.URL)
	q := p.Location.Query()
	if q.Get("login_hint") != "alice@example.com" || q.Get("prompt") != "login" {
		t.Errorf("upstream request %v, want login_hint and prompt=login passed on", q)
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Errorf("upstream request %v, want PKCE S256, nonce and state", q)
	}
	tok := upstreamTokens(t, b.SignInUpstream(p, env.Upstream, "alice"), rp, ar)
	if tok.Claims.AuthTime < env.Clock.Now().Add(-time.Minute).Unix() {
		t.Errorf("auth_time %d, want the upstream's, just now", tok.Claims.AuthTime)
	}
}

// TestUpstreamStale: a fresh sign-in asked for (prompt=login) and an
// upstream whose auth_time is older is refused, not looped.
func TestUpstreamStale(t *testing.T) {
	env := testenv.New(t, testenv.WithUpstream(nil))
	env.Upstream.Set(testenv.UpstreamOptions{AuthTimeAgo: time.Hour})
	p, _, _ := upstreamSignIn(t, env, env.NewBrowser(t), url.Values{"prompt": {"login"}}, "alice")
	if p.Status != 403 || !strings.Contains(p.Text(), "did not sign you in again") {
		t.Errorf("page %d %q, want 403 stale", p.Status, p.Text())
	}
	if ev := listEvents(t, env, "login.upstream.failed"); len(ev) != 1 || ev[0].Details["reason"] != "stale sign-in" {
		t.Errorf("events = %+v, want one stale sign-in", ev)
	}
	// Without prompt=login or max_age, the same sign-in counts, at its time.
	p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	if tok := upstreamTokens(t, p, rp, ar); tok.Claims.AuthTime > env.Clock.Now().Add(-50*time.Minute).Unix() {
		t.Errorf("auth_time %d, want the upstream's, an hour ago", tok.Claims.AuthTime)
	}
}

// TestUpstreamPasswords: with an upstream, the password form is gone
// unless local_passwords keeps it, and then only for local accounts.
func TestUpstreamPasswords(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(nil))
		env.AddUser(t, "carol", "correct horse")
		b := env.NewBrowser(t)
		p, rp, ar := upstreamSignIn(t, env, b, nil, "alice")
		upstreamTokens(t, p, rp, ar)
		// The sign-out page gives this browser a CSRF token to post with.
		csrf := b.Get(env.URL+"/logout").Form(t, "/logout").Values.Get("csrf_token")
		p = b.Get(rp.AuthURL(url.Values{"prompt": {"login"}}).URL) // sent upstream, no password form
		id, _, _ := strings.Cut(p.Location.Query().Get("state"), ".")
		p = b.Post(env.URL+"/login", url.Values{"csrf_token": {csrf}, "id": {id}, "username": {"carol"}, "password": {"correct horse"}})
		if p.Status != 403 || !strings.Contains(p.Text(), "does not take passwords") {
			t.Errorf("password post with the upstream only: %d %q, want 403", p.Status, p.Text())
		}
		if ev := listEvents(t, env, "login.password."); len(ev) != 0 {
			t.Errorf("a password was checked: %+v", ev)
		}
	})
	t.Run("local passwords", func(t *testing.T) {
		env := testenv.New(t, testenv.WithUpstream(func(u *config.Upstream) { u.LocalPasswords = true }))
		env.AddUser(t, "carol", "correct horse")
		b := env.NewBrowser(t)
		rp := env.NewRP(t, testenv.PublicClient, "")
		ar := rp.AuthURL(nil)
		p := b.Get(ar.URL)
		if !p.IsLoginPage() || !strings.Contains(p.Body, "/login/upstream?id=") {
			t.Fatalf("want the password form with a link upstream, got %d %q", p.Status, p.Text())
		}
		tok := upstreamTokens(t, b.SubmitPassword(p, "carol", "correct horse"), rp, ar)
		if !slices.Equal(tok.Claims.AMR, []string{"pwd"}) {
			t.Errorf("amr = %v, want [pwd]", tok.Claims.AMR)
		}
		// The link goes upstream.
		ar = rp.AuthURL(nil)
		b2 := env.NewBrowser(t)
		p = b2.Get(ar.URL)
		up := b2.Get(env.URL + "/login/upstream?id=" + url.QueryEscape(p.Form(t, "/login").Values.Get("id")))
		tok = upstreamTokens(t, b2.SignInUpstream(up, env.Upstream, "alice"), rp, ar)
		linked := upstreamUser(t, env, "u-alice")
		if tok.Claims.Subject != linked.ID {
			t.Errorf("sub = %q, want %q", tok.Claims.Subject, linked.ID)
		}
		// A linked account has no password here, even if one is set on it.
		_, err := env.Store.UpdateUser(context.Background(), linked.ID, func(u storage.User) (storage.User, error) {
			carol, _ := env.Store.GetUserByUsername(context.Background(), "carol")
			u.PasswordHash = carol.PasswordHash
			return u, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b3 := env.NewBrowser(t)
		p = b3.SubmitPassword(b3.Get(rp.AuthURL(nil).URL), "alice", "correct horse")
		if p.Status != 401 || !strings.Contains(p.Text(), "signs in with your organisation's account") {
			t.Errorf("password of a linked account: %d %q, want 401", p.Status, p.Text())
		}
	})
}

// TestUpstreamLogout: with end_session, signing out of stepup goes on to
// the upstream's RP-initiated logout and comes back, once, to where the
// client asked.
func TestUpstreamLogout(t *testing.T) {
	env := testenv.New(t, testenv.WithUpstream(func(u *config.Upstream) { u.EndSession = true }))
	b := env.NewBrowser(t)
	p, rp, ar := upstreamSignIn(t, env, b, nil, "alice")
	tok := upstreamTokens(t, p, rp, ar)
	p = b.Get(env.URL + "/end_session?" + url.Values{"id_token_hint": {tok.RawID}, "client_id": {testenv.PublicClient},
		"post_logout_redirect_uri": {testenv.PostLogoutURI}, "state": {"s1"}}.Encode())
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), env.Upstream.URL+"/") {
		t.Fatalf("logout did not go on to the upstream: %d %v %q", p.Status, p.Location, p.Text())
	}
	q := p.Location.Query()
	if q.Get("client_id") != testenv.UpstreamClientID || q.Get("post_logout_redirect_uri") != env.URL+"/logout/upstream" || q.Get("state") == "" {
		t.Errorf("upstream logout request %v, want client_id, stepup's return URI and a state", q)
	}
	// The upstream's own ID token of the sign-in goes as id_token_hint,
	// so that the upstream ends its session without asking again.
	var hinted oidc.IDTokenClaims
	if _, err := oidc.ParseToken(q.Get("id_token_hint"), &hinted); err != nil || hinted.Issuer != env.Upstream.URL ||
		!slices.Contains(hinted.Audience, testenv.UpstreamClientID) {
		t.Errorf("id_token_hint of the upstream logout: iss %q aud %v (%v), want the upstream's ID token for stepup", hinted.Issuer, hinted.Audience, err)
	}
	// stepup's own session is over already: a new sign-in goes upstream.
	if p := b.Get(rp.AuthURL(nil).URL); p.Location == nil || !strings.HasPrefix(p.Location.String(), env.Upstream.URL+"/") {
		t.Errorf("after logout: %d %v, want a new sign-in at the upstream", p.Status, p.Location)
	}
	// The upstream takes the hint and ends its session without asking,
	// back to stepup, which goes on to the client's post-logout URI, once.
	back := b.Get(p.Location.String())
	if back.Location == nil || !strings.HasPrefix(back.Location.String(), testenv.PostLogoutURI) || back.Location.Query().Get("state") != "s1" {
		t.Errorf("the upstream's logout with the hint and the return: %d at %v, on to %v, want the client's post-logout URI with its state: %q",
			back.Status, back.URL, back.Location, back.Text())
	}
	again := b.Get(env.URL + "/logout/upstream?state=" + url.QueryEscape(q.Get("state")))
	if again.Location != nil || again.Status != 200 {
		t.Errorf("second return: %d %v, want the signed-out page", again.Status, again.Location)
	}

	// Without end_session, the logout stays at stepup.
	env2 := testenv.New(t, testenv.WithUpstream(nil))
	b2 := env2.NewBrowser(t)
	p, rp, ar = upstreamSignIn(t, env2, b2, nil, "alice")
	tok = upstreamTokens(t, p, rp, ar)
	p = b2.Get(env2.URL + "/end_session?" + url.Values{"id_token_hint": {tok.RawID}, "client_id": {testenv.PublicClient},
		"post_logout_redirect_uri": {testenv.PostLogoutURI}}.Encode())
	if p.Location == nil || !strings.HasPrefix(p.Location.String(), testenv.PostLogoutURI) {
		t.Errorf("logout without end_session: %d %v, want the client's URI", p.Status, p.Location)
	}
}

// TestUpstreamKeyRotation: a token signed with a key the upstream
// published after stepup read its JWKS (a kid stepup has not seen) is
// verified against the keys fetched again.
func TestUpstreamKeyRotation(t *testing.T) {
	env := testenv.New(t, testenv.WithUpstream(nil))
	p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	first := upstreamTokens(t, p, rp, ar)
	env.Upstream.Set(testenv.UpstreamOptions{RotatedKey: true})
	p, rp, ar = upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	if second := upstreamTokens(t, p, rp, ar); second.Claims.Subject != first.Claims.Subject {
		t.Errorf("after the upstream's rotation: sub %q, want %q", second.Claims.Subject, first.Claims.Subject)
	}
}

func TestUpstreamLinkedUserRefused(t *testing.T) {
	env := testenv.New(t, testenv.WithUpstream(nil))
	p, rp, ar := upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	alice := upstreamTokens(t, p, rp, ar)

	// The application asks for alice (id_token_hint); the upstream signs
	// in bob: refused, not sent round again.
	env.Upstream.AddUser("u-bob", "bob", "bob@example.com")
	p, _, _ = upstreamSignIn(t, env, env.NewBrowser(t), url.Values{"id_token_hint": {alice.RawID}}, "bob")
	if p.Status != 403 || !strings.Contains(p.Text(), "asked for another account") {
		t.Errorf("hint for alice, upstream signed in bob: %d %q, want 403", p.Status, p.Text())
	}
	if _, err := env.Store.GetUserByUpstream(context.Background(), env.Upstream.URL, "u-bob"); err == nil {
		t.Errorf("bob was created though the sign-in was refused")
	}

	// A deactivated user linked to the upstream does not sign in through it.
	deactivate(t, env, alice.Claims.Subject)
	p, _, _ = upstreamSignIn(t, env, env.NewBrowser(t), nil, "alice")
	if p.Status != 403 || !strings.Contains(p.Text(), "deactivated") {
		t.Errorf("deactivated user: %d %q, want 403", p.Status, p.Text())
	}
	if ev := listEvents(t, env, "login.upstream.failed"); len(ev) != 2 || ev[0].Details["reason"] != "inactive user" || ev[1].Details["reason"] != "other user" {
		t.Errorf("events = %+v, want other user, then inactive user", ev)
	}
}
