package provider_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/upstream"
	"github.com/stepup-mfa/stepup/testenv"
)

// The external-MFA tests play Microsoft Entra ID as its External
// Authentication Methods reference describes it: Entra signs the user in,
// then posts the browser to stepup's authorization endpoint with an
// id_token_hint it signed (already expired), asking for an ID token by
// form_post to its reply URL, with the claims request below.

const (
	eamClient   = "entra-eam"           // the client ID Entra sends
	eamAppID    = "stepup-app-in-entra" // stepup's app at Entra: the hint's aud
	entraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	entraOID    = "00000000-0000-0000-66f3-3332eca7ea81"
	entraSub    = "mBfcvuhSHkDWVgV72x2ruKYdDrkq3mBcPqd5zJLwxyz" // pairwise, for stepup's app
	// eamClaims is the claims parameter Entra sends.
	eamClaims = `{"id_token":{"acr":{"essential":true,"values":["possessionorinherence"]},"amr":{"essential":true,"values":["face","fido","fpt","hwk","iris","otp","pop","retina","sc","sms","swk","tel","vbm"]}}}`
)

// fakeEntra is Entra ID on a local port: its discovery, its JWKS (one
// RS256 key), and the reply URL that captures what stepup posts back.
type fakeEntra struct {
	srv    *httptest.Server
	issuer string
	key    *rsa.PrivateKey
	kid    string

	down atomic.Bool // answer 503 to everything

	mu      sync.Mutex
	replies []url.Values
}

func newFakeEntra(t *testing.T) *fakeEntra {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEntra{key: key, kid: "entra-key-1"}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.issuer = e.srv.URL + "/" + entraTenant + "/v2.0"
	jwks := e.srv.URL + "/" + entraTenant + "/discovery/v2.0/keys"
	mux.HandleFunc("GET /"+entraTenant+"/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": e.issuer, "jwks_uri": jwks,
			"authorization_endpoint":                e.srv.URL + "/" + entraTenant + "/oauth2/v2.0/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /"+entraTenant+"/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: e.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /common/federation/externalauthprovider", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.replies = append(e.replies, r.PostForm)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("Entra received the answer"))
	})
	return e
}

func (e *fakeEntra) replyURL() string { return e.srv.URL + "/common/federation/externalauthprovider" }

func (e *fakeEntra) lastReplies() []url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.replies)
}

// hint signs claims over Entra's defaults with key (Entra's own unless
// another), as kid.
func (e *fakeEntra) hint(t *testing.T, now time.Time, key *rsa.PrivateKey, over map[string]any) string {
	t.Helper()
	claims := map[string]any{
		"iss": e.issuer, "aud": eamAppID, "sub": entraSub, "oid": entraOID, "tid": entraTenant,
		"preferred_username": "alice@contoso.example", "name": "Alice",
		// Already expired, as Entra sends it.
		"iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(),
	}
	for k, v := range over {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	if key == nil {
		key = e.key
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", e.kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// eamEnv is stepup with Entra as its upstream and its external-MFA
// client, and alice, linked to her Entra account, with TOTP.
type eamEnv struct {
	env    *testenv.Env
	entra  *fakeEntra
	alice  storage.User
	secret string
}

// newEAMEnv starts it; opts come after its own (a config change of
// theirs sees the upstream and the client).
func newEAMEnv(t *testing.T, opts ...testenv.Option) *eamEnv {
	t.Helper()
	entra := newFakeEntra(t)
	env := testenv.New(t, append([]testenv.Option{testenv.WithMethods("totp"), testenv.WithConfig(func(c *config.Config) {
		// Local passwords stay for the setup: alice signs in with hers to
		// add TOTP before her account is linked (a linked account signs in
		// at the upstream).
		c.Upstream = &config.Upstream{Issuer: entra.issuer, ClientID: eamAppID, TrustIDTokenHint: true, LocalPasswords: true}
		c.Clients = append(c.Clients, config.Client{ID: eamClient, ExternalMFA: true, RedirectURIs: []string{entra.replyURL()}})
		// The EAM example's mapping (SPEC §11).
		c.ACR["aal2"] = append(slices.Clone(c.ACR["aal2"]), "possessionorinherence", "knowledgeorpossession")
	})}, opts...)...)
	e := &eamEnv{env: env, entra: entra, alice: env.AddUser(t, "alice", alicePassword)}
	b := env.NewBrowser(t)
	login(t, env, b, env.NewRP(t, testenv.PublicClient, ""), nil, "alice", alicePassword)
	e.secret = b.EnrolTOTP()
	env.Clock.Advance(30 * time.Second) // the next code is a new one
	link := "entra:" + entraTenant + "/" + entraOID
	if _, err := env.Store.UpdateUser(context.Background(), e.alice.ID, func(u storage.User) (storage.User, error) {
		u.UpstreamIssuer, u.UpstreamSub = entra.issuer, link
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// request is Entra's authorization request with hint; over changes its
// parameters (an empty value removes one).
func (e *eamEnv) request(hint string, over url.Values) (url.Values, string) {
	state := "entra-state-" + fmt.Sprint(time.Now().UnixNano())
	v := url.Values{
		"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"},
		"client_id": {eamClient}, "redirect_uri": {e.entra.replyURL()}, "claims": {eamClaims},
		"nonce": {"entra-nonce-4f1c"}, "state": {state}, "id_token_hint": {hint},
		"login_hint": {"alice@contoso.example"},
	}
	for k, vs := range over {
		if len(vs) == 1 && vs[0] == "" {
			v.Del(k)
		} else {
			v[k] = vs
		}
	}
	return v, state
}

// formPostTo returns the form p posts to the reply URL, if any.
func (e *eamEnv) formPostTo(p *testenv.Page) (testenv.Form, bool) {
	for _, f := range p.Forms() {
		if f.Action == e.entra.replyURL() && f.Method == "post" {
			return f, true
		}
	}
	return testenv.Form{}, false
}

// completeTOTP answers the TOTP challenge on p and returns the answer
// page, the form_post to Entra.
func (e *eamEnv) completeTOTP(t *testing.T, b *testenv.Browser, p *testenv.Page) *testenv.Page {
	t.Helper()
	if p.IsLoginPage() {
		t.Fatalf("external MFA asked for a password:\n%s", p.Text())
	}
	f := p.Form(t, "/login/verify")
	if f.Values.Get("method") != "totp" {
		t.Fatalf("challenge of %q, want totp", f.Values.Get("method"))
	}
	return b.Submit(p, f, map[string]string{"code": testenv.TOTPCode(t, e.secret, e.env.Clock.Now())})
}

// deliver submits the answer page's form_post to Entra's reply URL and
// returns what Entra received.
func (e *eamEnv) deliver(t *testing.T, b *testenv.Browser, p *testenv.Page) url.Values {
	t.Helper()
	f, ok := e.formPostTo(p)
	if !ok {
		t.Fatalf("no form_post to the reply URL (%d at %s):\n%s", p.Status, p.URL, p.Body)
	}
	reply, _ := url.Parse(e.entra.replyURL())
	wantSelfSubmitting(t, p, reply.Scheme+"://"+reply.Host)
	before := len(e.entra.lastReplies())
	got := b.Submit(p, f, nil)
	if got.Status != http.StatusOK {
		t.Fatalf("reply URL answered %d", got.Status)
	}
	replies := e.entra.lastReplies()
	if len(replies) != before+1 {
		t.Fatalf("the reply URL received %d posts, want one more than %d", len(replies), before)
	}
	return replies[len(replies)-1]
}

// verifyAsEntra checks the ID token as Entra does: its kid names an RS256
// key of stepup's JWKS that carries its certificate (x5c), and the
// certificate's key verifies the signature. It returns the claims.
func verifyAsEntra(t *testing.T, env *testenv.Env, idToken string) map[string]any {
	t.Helper()
	jws, err := jose.ParseSignedCompact(idToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("the ID token is not an RS256 JWS: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	if kid == "" {
		t.Fatal("the ID token has no kid")
	}
	set := fetchJWKS(t, env)
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q is in the JWKS %d times, want once", kid, len(keys))
	}
	k := keys[0]
	if k.Algorithm != "RS256" || len(k.Certificates) != 1 {
		t.Fatalf("JWKS key %s: alg %s with %d certificates, want RS256 with its x5c", kid, k.Algorithm, len(k.Certificates))
	}
	payload, err := jws.Verify(k.Certificates[0].PublicKey)
	if err != nil {
		t.Fatalf("the ID token does not verify with its x5c certificate: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func audience(c map[string]any) []string {
	switch a := c["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// TestExternalMFAEntra plays Entra exactly: the expired hint with oid and
// tid, POST to the authorization endpoint, TOTP through the real plugin,
// the form_post captured at the reply URL, the ID token verified by its
// x5c with every claim Entra checks. Then the same by GET.
func TestExternalMFAEntra(t *testing.T) { testExternalMFAEntra(t, newEAMEnv(t)) }

// TestExternalMFAEntraPostgres is the same on PostgreSQL, where replicas
// share every piece of the request's state.
func TestExternalMFAEntraPostgres(t *testing.T) {
	testExternalMFAEntra(t, newEAMEnv(t, testenv.WithPostgres()))
}

func testExternalMFAEntra(t *testing.T, e *eamEnv) {
	env := e.env
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			b := env.NewBrowser(t)
			params, state := e.request(e.entra.hint(t, env.Clock.Now(), nil, nil), nil)
			var p *testenv.Page
			if method == http.MethodPost {
				p = b.Post(env.URL+"/authorize", params)
			} else {
				p = b.Get(env.URL + "/authorize?" + params.Encode())
			}
			answer := e.completeTOTP(t, b, p)
			got := e.deliver(t, b, answer)
			if got.Get("error") != "" || got.Get("state") != state {
				t.Fatalf("Entra received %v, want an id_token and state %q", got, state)
			}
			c := verifyAsEntra(t, env, got.Get("id_token"))
			if c["iss"] != env.URL || c["sub"] != entraSub || !slices.Equal(audience(c), []string{eamClient}) ||
				c["nonce"] != "entra-nonce-4f1c" || c["acr"] != "possessionorinherence" {
				t.Errorf("claims %v: want iss %s, sub %s (the hint's), aud [%s], the nonce, acr possessionorinherence", c, env.URL, entraSub, eamClient)
			}
			if amr, _ := c["amr"].([]any); len(amr) != 1 || amr[0] != "otp" {
				t.Errorf("amr = %#v, want exactly [otp], the one method used", c["amr"])
			}
			if exp, _ := c["exp"].(float64); int64(exp) <= env.Clock.Now().Unix() {
				t.Errorf("exp %v is not after the provider's now", c["exp"])
			}
			for _, local := range []string{"preferred_username", "email", "name"} {
				if _, ok := c[local]; ok {
					t.Errorf("the answer tells the IdP the local %s: %v", local, c[local])
				}
			}
			// No stepup session came of it: the hint signs no one in here.
			if acct := b.Get(env.URL + "/account"); !acct.IsLoginPage() {
				t.Errorf("after external MFA /account is %d %s, want the sign-in page", acct.Status, acct.URL)
			}
			env.Clock.Advance(30 * time.Second)
		})
	}
	if ev := listEvents(t, env, "login.completed"); len(ev) != 3 || ev[0].ClientID != eamClient || ev[0].UserID != e.alice.ID || ev[1].ClientID != eamClient {
		t.Errorf("login.completed events %+v, want the newest two for alice through %s", ev, eamClient)
	}
}

// TestExternalMFARefusesUntrustedHints: a hint stepup cannot trust is an
// error page and an audit event, and no answer at all reaches the reply
// URL; nor is a password ever asked.
func TestExternalMFARefusesUntrustedHints(t *testing.T) {
	e := newEAMEnv(t)
	env := e.env
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	for _, tc := range []struct {
		name, hint, reason string
	}{
		// The same kid, another key: Entra's JWKS does not verify it.
		{"another key", e.entra.hint(t, now, other, nil), "signature does not verify"},
		{"another audience", e.entra.hint(t, now, nil, map[string]any{"aud": "some-other-app"}), "another audience"},
		{"another issuer", e.entra.hint(t, now, nil, map[string]any{"iss": "https://login.example.com/evil/v2.0"}), "another issuer"},
		{"unsigned", strings.Join(strings.Split(e.entra.hint(t, now, nil, nil), ".")[:2], ".") + ".", "signature"},
		{"no hint", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := env.NewBrowser(t)
			before := len(listEvents(t, env, "login.hint_refused"))
			params, _ := e.request(tc.hint, nil)
			if tc.hint == "" {
				params.Del("id_token_hint")
			}
			p := b.Post(env.URL+"/authorize", params)
			if p.Status != http.StatusBadRequest || p.IsLoginPage() {
				t.Errorf("answered %d (login page %v), want the 400 error page", p.Status, p.IsLoginPage())
			}
			if _, ok := e.formPostTo(p); ok || strings.Contains(p.Body, "id_token") && strings.Contains(p.Body, "eyJ") {
				t.Errorf("the page posts to the reply URL:\n%s", p.Body)
			}
			if len(e.entra.lastReplies()) != 0 {
				t.Errorf("the reply URL received %v", e.entra.lastReplies())
			}
			ev := listEvents(t, env, "login.hint_refused")
			if len(ev) != before+1 || ev[0].ClientID != eamClient || !strings.Contains(ev[0].Details["reason"], tc.reason) {
				t.Errorf("audit events %+v, want one more login.hint_refused saying %q", ev, tc.reason)
			}
		})
	}
	// A parameter given twice, as another client or URI zitadel would
	// read instead, is refused in either order.
	for _, ids := range [][]string{{eamClient, testenv.PublicClient}, {testenv.PublicClient, eamClient}} {
		params, _ := e.request(e.entra.hint(t, now, nil, nil), url.Values{"client_id": ids})
		p := env.NewBrowser(t).Post(env.URL+"/authorize", params)
		if _, ok := e.formPostTo(p); ok || p.IsLoginPage() || p.Status < 400 {
			t.Errorf("client_id %v: %d %s", ids, p.Status, p.Text())
		}
	}
	if len(e.entra.lastReplies()) != 0 {
		t.Errorf("the reply URL received %v", e.entra.lastReplies())
	}
	// The hint is never logged.
	if h := e.entra.hint(t, now, nil, nil); strings.Contains(env.Logs.String(), strings.Split(h, ".")[2]) {
		t.Error("a hint's signature is in the logs")
	}
}

// TestExternalMFAOIDCErrors: what stepup cannot satisfy goes back to
// Entra as the OIDC error in the form_post, state included, never a
// token: a missing nonce, an acr no method of the user reaches, an acr
// stepup does not know, and an amr list the method used is not on.
func TestExternalMFAOIDCErrors(t *testing.T) {
	e := newEAMEnv(t)
	env := e.env
	hint := e.entra.hint(t, env.Clock.Now(), nil, nil)
	for _, tc := range []struct {
		name     string
		over     url.Values
		withTOTP bool // the error comes after the factor
		want     string
	}{
		{"missing nonce", url.Values{"nonce": {""}}, false, "invalid_request"},
		{"aal3 acr", url.Values{"claims": {`{"id_token":{"acr":{"essential":true,"values":["phrh"]}}}`}}, false, "unmet_authentication_requirements"},
		{"unknown acr", url.Values{"claims": {`{"id_token":{"acr":{"essential":true,"values":["strongerthanstrong"]}}}`}}, false, "unmet_authentication_requirements"},
		{"amr not accepted", url.Values{"claims": {`{"id_token":{"acr":{"essential":true,"values":["possessionorinherence"]},"amr":{"essential":true,"values":["hwk","fido"]}}}`}}, true, "unmet_authentication_requirements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := env.NewBrowser(t)
			params, state := e.request(hint, tc.over)
			p := b.Post(env.URL+"/authorize", params)
			if tc.withTOTP {
				p = e.completeTOTP(t, b, p)
				env.Clock.Advance(30 * time.Second)
			}
			got := e.deliver(t, b, p)
			if got.Get("error") != tc.want || got.Get("state") != state || got.Get("id_token") != "" {
				t.Errorf("Entra received %v, want error %s with state %q and no id_token", got, tc.want, state)
			}
		})
	}
	// A deactivated user: access_denied, at the request and at the step
	// of a request begun before.
	b := env.NewBrowser(t)
	params, state := e.request(hint, nil)
	challenge := b.Post(env.URL+"/authorize", params)
	deactivate(t, env, e.alice.ID)
	for name, p := range map[string]*testenv.Page{
		"new request": b.Post(env.URL+"/authorize", must(e.request(hint, nil))),
		"begun":       e.completeTOTP(t, b, challenge),
	} {
		got := e.deliver(t, b, p)
		if got.Get("error") != "access_denied" || got.Get("id_token") != "" || (name == "begun" && got.Get("state") != state) {
			t.Errorf("%s for a deactivated user: Entra received %v, want access_denied", name, got)
		}
	}
}

// TestExternalMFAUnknownUser: a hint for an account no local user is
// linked to is refused (error page, audit) unless
// upstream.create_users_from_hint; with it, the user is created and
// linked (and, having no method yet, the request ends in
// unmet_authentication_requirements), and a name taken by an unlinked
// local user is refused, never merged.
func TestExternalMFAUnknownUser(t *testing.T) {
	stranger := map[string]any{"oid": "11111111-2222-3333-4444-555555555555", "sub": "pairwise-bob", "preferred_username": "bob"}
	t.Run("not allowed", func(t *testing.T) {
		e := newEAMEnv(t)
		p := e.env.NewBrowser(t).Post(e.env.URL+"/authorize", must(e.request(e.entra.hint(t, e.env.Clock.Now(), nil, stranger), nil)))
		if p.Status != http.StatusBadRequest || p.IsLoginPage() {
			t.Fatalf("answered %d, want the error page", p.Status)
		}
		if _, ok := e.formPostTo(p); ok {
			t.Error("an answer went to the reply URL")
		}
		if ev := listEvents(t, e.env, "login.hint_refused"); len(ev) != 1 || ev[0].Details["reason"] != "no linked user" {
			t.Errorf("audit %+v, want login.hint_refused: no linked user", ev)
		}
		if _, err := e.env.Store.GetUserByUsername(t.Context(), "bob"); err == nil {
			t.Error("bob was created")
		}
	})
	t.Run("allowed", func(t *testing.T) {
		e := newEAMEnv(t, testenv.WithConfig(func(c *config.Config) { c.Upstream.CreateUsersFromHint = true }))
		env := e.env
		b := env.NewBrowser(t)
		params, state := e.request(e.entra.hint(t, env.Clock.Now(), nil, stranger), nil)
		got := e.deliver(t, b, b.Post(env.URL+"/authorize", params))
		if got.Get("error") != "unmet_authentication_requirements" || got.Get("state") != state || got.Get("id_token") != "" {
			t.Errorf("Entra received %v, want unmet_authentication_requirements: bob has no method yet", got)
		}
		bob, err := env.Store.GetUserByUpstream(t.Context(), e.entra.issuer, "entra:"+entraTenant+"/"+stranger["oid"].(string))
		if err != nil || bob.Username != "bob" || !bob.Active || bob.PasswordHash != "" {
			t.Fatalf("bob = %+v (%v), want an active user without password, linked to the hint's tid and oid", bob, err)
		}
		if ev := listEvents(t, env, "user.created"); len(ev) != 1 || ev[0].UserID != bob.ID || ev[0].Details["via"] != "id_token_hint" {
			t.Errorf("audit %+v, want bob's user.created via id_token_hint", ev)
		}
		// A name an unlinked local user holds is not taken over.
		env.AddUser(t, "carol", alicePassword)
		carolAtEntra := map[string]any{"oid": "99999999-2222-3333-4444-555555555555", "sub": "pairwise-carol", "preferred_username": "carol"}
		p := env.NewBrowser(t).Post(env.URL+"/authorize", must(e.request(e.entra.hint(t, env.Clock.Now(), nil, carolAtEntra), nil)))
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Text(), `"carol" already exists`) {
			t.Errorf("a hint named like an unlinked user: %d %s", p.Status, p.Text())
		}
		if carol, _ := env.Store.GetUserByUsername(t.Context(), "carol"); carol.UpstreamSub != "" {
			t.Errorf("carol was linked to the hint's account: %+v", carol)
		}
	})
}

func must(v url.Values, _ string) url.Values { return v }

// eamToken runs Entra's request through TOTP and returns the ID token.
func (e *eamEnv) eamToken(t *testing.T) string {
	t.Helper()
	b := e.env.NewBrowser(t)
	params, _ := e.request(e.entra.hint(t, e.env.Clock.Now(), nil, nil), nil)
	got := e.deliver(t, b, e.completeTOTP(t, b, b.Post(e.env.URL+"/authorize", params)))
	e.env.Clock.Advance(30 * time.Second)
	if got.Get("id_token") == "" {
		t.Fatalf("no id_token: %v", got)
	}
	return got.Get("id_token")
}

func rsaKids(t *testing.T, env *testenv.Env) []string {
	t.Helper()
	var out []string
	for _, k := range fetchJWKS(t, env).Keys {
		if k.Algorithm == "RS256" {
			out = append(out, k.KeyID)
		}
	}
	slices.Sort(out)
	return out
}

// TestExternalMFAKeyRotation: Entra ID caches stepup's JWKS for 24
// hours, so with an external-MFA client a rotated key is published a day
// and more before it signs, the old key signing meanwhile; both are
// published together, and the old one stays until its last tokens expire.
func TestExternalMFAKeyRotation(t *testing.T) {
	e := newEAMEnv(t)
	env := e.env
	old := jwtHeader(t, e.eamToken(t))["kid"].(string)
	ids, err := env.Server.RotateSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	published := rsaKids(t, env)
	if len(published) != 2 || !slices.Contains(published, old) {
		t.Fatalf("after rotation the JWKS has RS256 keys %v, want the old %s and the new one", published, old)
	}
	fresh := published[0]
	if fresh == old {
		fresh = published[1]
	}
	if !slices.Contains(ids, fresh) {
		t.Fatalf("rotation made %v, the JWKS shows %s", ids, fresh)
	}
	if kid := jwtHeader(t, e.eamToken(t))["kid"]; kid != old {
		t.Errorf("right after rotation the token is signed by %v, want the old key %s: Entra has not seen the new one", kid, old)
	}
	env.Clock.Advance(24 * time.Hour)
	if kid := jwtHeader(t, e.eamToken(t))["kid"]; kid != old {
		t.Errorf("24 h after rotation the token is signed by %v, want still the old key", kid)
	}
	env.Clock.Advance(time.Hour)
	tok := e.eamToken(t)
	if kid := jwtHeader(t, tok)["kid"]; kid != fresh {
		t.Errorf("25 h after rotation the token is signed by %v, want the new key %s", kid, fresh)
	}
	verifyAsEntra(t, env, tok)
	if got := rsaKids(t, env); !slices.Contains(got, old) {
		t.Errorf("the old key left the JWKS (%v) while tokens it signed live", got)
	}
	env.Clock.Advance(2 * time.Hour)
	if got := rsaKids(t, env); !slices.Equal(got, []string{fresh}) {
		t.Errorf("long after, the JWKS has %v, want only the new key", got)
	}
}

// TestExternalMFAStandsAlone: an external-MFA request is the hint's
// user's alone. A browser signed in to stepup as someone else gets the
// hint user's challenge, and keeps its own session untouched; the
// upstream's hint gets nothing from an ordinary client, which verifies
// hints against stepup's own keys; and discovery offers what Entra asks.
func TestExternalMFAStandsAlone(t *testing.T) {
	e := newEAMEnv(t)
	env := e.env
	env.AddUser(t, "carol", alicePassword)
	b := env.NewBrowser(t)
	login(t, env, b, env.NewRP(t, testenv.PublicClient, ""), nil, "carol", alicePassword)
	params, _ := e.request(e.entra.hint(t, env.Clock.Now(), nil, nil), nil)
	got := e.deliver(t, b, e.completeTOTP(t, b, b.Post(env.URL+"/authorize", params)))
	if c := verifyAsEntra(t, env, got.Get("id_token")); c["sub"] != entraSub {
		t.Errorf("sub %v, want the hint's %s", c["sub"], entraSub)
	}
	if ev := listEvents(t, env, "login.completed"); ev[0].UserID != e.alice.ID {
		t.Errorf("completed for %s, want alice (the hint's), not carol (the browser's)", ev[0].UserID)
	}
	if acct := b.Get(env.URL + "/account"); acct.IsLoginPage() || !strings.Contains(acct.Text(), "carol") {
		t.Errorf("carol's session is gone or changed: %d %s", acct.Status, acct.Text())
	}

	// An ordinary client sending the upstream's hint signs no one in.
	rp := env.NewRP(t, testenv.PublicClient, "")
	fresh := env.NewBrowser(t)
	p := fresh.Get(rp.AuthURL(url.Values{"id_token_hint": {e.entra.hint(t, env.Clock.Now(), nil, nil)}}).URL)
	if cb, ok := testenv.CallbackOf(t, p); !ok || cb.Params.Get("error") != "login_required" || cb.Params.Get("code") != "" {
		t.Errorf("an ordinary client with the upstream's hint: %d %s %v, want login_required", p.Status, p.URL, cb.Params)
	}

	resp, err := http.Get(env.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		ResponseTypes []string `json:"response_types_supported"`
		ResponseModes []string `json:"response_modes_supported"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
		ACR           []string `json:"acr_values_supported"`
		Claims        bool     `json:"claims_parameter_supported"`
		JWKS          string   `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.ResponseTypes, "id_token") || !slices.Contains(d.ResponseModes, "form_post") ||
		!slices.Contains(d.Algs, "RS256") || !slices.Contains(d.ACR, "possessionorinherence") || !d.Claims || d.JWKS != env.URL+"/keys" {
		t.Errorf("discovery %+v lacks what Entra's external methods need", d)
	}
}

// TestExternalMFAUpstreamUnreachable: while the upstream's discovery
// cannot be fetched no hint is trusted (an error page, audited), and the
// next hint after it is back is checked as usual.
func TestExternalMFAUpstreamUnreachable(t *testing.T) {
	e := newEAMEnv(t)
	env := e.env
	hint := e.entra.hint(t, env.Clock.Now(), nil, nil)
	e.entra.down.Store(true)
	params, _ := e.request(hint, nil)
	p := env.NewBrowser(t).Post(env.URL+"/authorize", params)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Text(), "cannot be fetched") {
		t.Errorf("with the upstream down: %d %s", p.Status, p.Text())
	}
	if ev := listEvents(t, env, "login.hint_refused"); len(ev) != 1 || !strings.Contains(ev[0].Details["reason"], "cannot be fetched") {
		t.Errorf("audit %+v", ev)
	}
	// The failure stands for upstream.RetryAfterFailure: in that time a
	// request is refused at once, even with the upstream back.
	e.entra.down.Store(false)
	env.Clock.Advance(upstream.RetryAfterFailure - time.Second)
	params, _ = e.request(e.entra.hint(t, env.Clock.Now(), nil, nil), nil)
	if p := env.NewBrowser(t).Post(env.URL+"/authorize", params); p.Status != http.StatusBadRequest {
		t.Errorf("within the failure's %v: %d %s", upstream.RetryAfterFailure, p.Status, p.Text())
	}
	env.Clock.Advance(time.Second)
	if c := verifyAsEntra(t, env, e.eamToken(t)); c["sub"] != entraSub {
		t.Errorf("once the upstream is back: claims %v", c)
	}
}
