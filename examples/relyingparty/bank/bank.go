// Package bank is Example Bank, a small web application that signs its
// users in with stepup and steps up before a sensitive action, written the
// way an application developer would write one. It is a library so that
// the example command (examples/relyingparty) and `stepup serve --demo`
// serve the same application.
//
// It signs users in with the authorization code flow (PKCE S256, state and
// nonce kept in a sealed cookie) using github.com/coreos/go-oidc and
// golang.org/x/oauth2, and shows what stepup's ID token says (acr, amr,
// auth_time). Its pages work at aal1, but /transfer demands aal2 within the
// last ten minutes: short of it, the browser goes back to stepup with an
// essential acr in the claims parameter and max_age=600, and the returned
// ID token's acr, amr and auth_time are checked before the page opens.
// /api/balance takes bearer access tokens and makes the same demand with
// stepup's RFC 9470 middleware (stepauth).
package bank

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/stepup-mfa/stepup/stepauth"
)

// What the sensitive parts of the application demand: a second factor
// (aal2, or anything stronger) within the last ten minutes.
const (
	transferACR    = "aal2"
	transferMaxAge = 10 * time.Minute
)

const (
	sessionCookie = "rp_session"
	flowCookie    = "rp_flow"
	sessionTTL    = 8 * time.Hour
	flowTTL       = 10 * time.Minute
	// leeway tolerates clock skew between this application and stepup.
	leeway = 30 * time.Second
)

// Config is what the application needs to know.
type Config struct {
	// Issuer is stepup's issuer URL (discovery is at
	// Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret are this application's registration at
	// stepup. An empty secret makes it a public client (PKCE alone).
	ClientID, ClientSecret string
	// BaseURL is where browsers reach this application; the redirect URI
	// registered at stepup is BaseURL + "/callback".
	BaseURL string
	// HTTPClient talks to stepup (discovery, tokens, keys); nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives errors worth an operator's attention; nil discards.
	Logger *slog.Logger
}

// App is the web application: an http.Handler.
type App struct {
	cfg        Config
	oauth      oauth2.Config
	provider   *oidc.Provider
	idVerifier *oidc.IDTokenVerifier
	endSession string // stepup's end_session_endpoint, "" when it has none
	levels     stepauth.Levels
	aead       cipher.AEAD // seals the flow cookie
	sessions   *sessionStore
	mux        *http.ServeMux
	log        *slog.Logger
}

// New discovers stepup and returns the application.
func New(cfg Config) (*App, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.BaseURL == "" {
		return nil, errors.New("issuer, client ID and base URL are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	// go-oidc uses the client in this context for every later call too
	// (the key set is fetched when a token names a new key).
	ctx := oidc.ClientContext(context.Background(), cfg.HTTPClient)
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		JWKS       string `json:"jwks_uri"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discovery document of %s: %w", cfg.Issuer, err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	levels := stepauth.DefaultLevels() // stepup's default acr configuration
	apiVerifier, err := stepauth.NewVerifier(stepauth.Config{
		Issuer:   cfg.Issuer,
		Keys:     stepauth.NewRemoteKeySet(ctx, meta.JWKS),
		Audience: cfg.ClientID, // stepup's access tokens name the client they were issued to
		Levels:   levels,
		Now:      cfg.Now,
		Leeway:   leeway,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	a := &App{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint:    provider.Endpoint(),
			RedirectURL: cfg.BaseURL + "/callback",
			Scopes:      []string{oidc.ScopeOpenID, "profile"},
		},
		provider: provider,
		idVerifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID,
			SupportedSigningAlgs: []string{oidc.ES256, oidc.RS256}, Now: cfg.Now}),
		endSession: meta.EndSession,
		levels:     levels,
		aead:       aead,
		sessions:   &sessionStore{m: map[string]session{}},
		mux:        http.NewServeMux(),
		log:        cfg.Logger,
	}
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /login", a.login)
	a.mux.HandleFunc("GET /callback", a.callback)
	a.mux.HandleFunc("GET /transfer", a.transferPage)
	a.mux.HandleFunc("POST /transfer", a.transfer)
	a.mux.HandleFunc("POST /logout", a.logout)
	// An API for bearer access tokens (a mobile app, a script): the same
	// demand, checked by stepup's RFC 9470 middleware.
	a.mux.Handle("GET /api/balance", apiVerifier.Require(stepauth.Requirement{
		ACR: transferACR, MaxAge: transferMaxAge,
	}, http.HandlerFunc(a.balance)))
	return a, nil
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	a.mux.ServeHTTP(w, r)
}

// session is a signed-in user, as the last ID token described them.
type session struct {
	ID          string
	Subject     string
	Name        string
	ACR         string
	AMR         []string
	AuthTime    time.Time
	Claims      []Claim // the ID token's, for the page that shows what stepup did
	IDToken     string  // raw, the id_token_hint of logout
	AccessToken string  // for APIs that accept stepup's tokens
	CSRF        string
	Expires     time.Time
}

// sessionStore keeps sessions in memory: one instance of the application.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]session
}

func (s *sessionStore) get(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if ok && !now.Before(sess.Expires) {
		delete(s.m, id)
		return session{}, false
	}
	return sess, ok
}

func (s *sessionStore) put(sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sess.ID] = sess
}

func (s *sessionStore) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// session returns the request's session.
func (a *App) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	return a.sessions.get(c.Value, a.cfg.Now())
}

// shortfall says why an authentication does not meet a level and an age
// (maxAge 0: any age), or "" when it does.
func (a *App) shortfall(acr string, amr []string, authTime time.Time, level string, maxAge time.Duration) string {
	if !a.levels.Satisfies(acr, level) {
		return fmt.Sprintf("stepup confirmed your sign-in at level %q, and this page needs %s", acr, level)
	}
	if level != "aal1" && !slices.Contains(amr, "mfa") {
		return fmt.Sprintf("the sign-in names no second factor (amr %v)", amr)
	}
	if maxAge > 0 {
		age := a.cfg.Now().Sub(authTime)
		if authTime.IsZero() || age > maxAge+leeway || age < -leeway {
			return fmt.Sprintf("the sign-in is not from the last %s", maxAge)
		}
	}
	return ""
}

// flow is one authorization request in progress, kept in a sealed cookie
// between the redirect to stepup and the callback.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // PKCE
	ACR      string `json:"a,omitempty"`
	MaxAge   int64  `json:"m,omitempty"` // seconds
	Return   string `json:"r"`
	Expires  int64  `json:"e"`
}

// startFlow sends the browser to stepup, asking for acr and max age when
// set, and to come back to ret.
func (a *App) startFlow(w http.ResponseWriter, r *http.Request, acr string, maxAge time.Duration, ret string) {
	f := flow{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		ACR: acr, MaxAge: int64(maxAge / time.Second), Return: ret, Expires: a.cfg.Now().Add(flowTTL).Unix()}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)}
	if acr != "" {
		// Essential, not a voluntary acr_values: stepup then answers
		// unmet_authentication_requirements rather than a lower level, and
		// libraries such as mod_auth_openidc need it to avoid a loop.
		opts = append(opts, oauth2.SetAuthURLParam("claims", essentialACR(acr)))
	}
	if f.MaxAge > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(f.MaxAge, 10)))
	}
	raw, _ := json.Marshal(f)
	a.setCookie(w, flowCookie, a.seal(raw), "/callback", flowTTL)
	http.Redirect(w, r, a.oauth.AuthCodeURL(f.State, opts...), http.StatusFound)
}

func (a *App) readFlow(r *http.Request) (flow, bool) {
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return flow{}, false
	}
	raw, ok := a.open(c.Value)
	var f flow
	if !ok || json.Unmarshal(raw, &f) != nil || a.cfg.Now().Unix() > f.Expires {
		return flow{}, false
	}
	return f, true
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.session(r)
	a.render(w, http.StatusOK, "home", map[string]any{"Session": sess, "SignedIn": ok})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	// No acr_values: stepup answers with the level the session has.
	a.startFlow(w, r, "", 0, "/")
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	a.setCookie(w, flowCookie, "", "/callback", -1)
	f, ok := a.readFlow(r)
	q := r.URL.Query()
	if !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		a.fail(w, http.StatusBadRequest, "This sign-in has expired or was started elsewhere", "Go back to the start page and try again.")
		return
	}
	if e := q.Get("error"); e != "" {
		if e == "unmet_authentication_requirements" {
			a.fail(w, http.StatusForbidden, "This needs a second factor",
				"stepup cannot confirm "+f.ACR+" for your account: it has no second factor yet. Add a verification method (an authenticator app) on your stepup account page ("+a.cfg.Issuer+"/account), then try again.")
			return
		}
		a.fail(w, http.StatusForbidden, "stepup did not sign you in", e+": "+q.Get("error_description"))
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.cfg.HTTPClient)
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		a.log.Warn("code exchange", "err", err)
		a.fail(w, http.StatusBadGateway, "Sign-in failed", "stepup did not accept the sign-in. Try again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.idVerifier.Verify(ctx, raw)
	if err != nil {
		a.log.Warn("ID token", "err", err)
		a.fail(w, http.StatusBadGateway, "Sign-in failed", "The ID token from stepup is not valid. Try again.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		a.fail(w, http.StatusBadRequest, "Sign-in failed", "The ID token was not issued for this sign-in. Try again.")
		return
	}
	var c struct {
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	var all map[string]any
	if err := idt.Claims(&c); err != nil || idt.Claims(&all) != nil {
		a.fail(w, http.StatusBadGateway, "Sign-in failed", "The ID token from stepup cannot be read.")
		return
	}
	authTime := time.Time{}
	if c.AuthTime > 0 {
		authTime = time.Unix(c.AuthTime, 0)
	}
	// A voluntary acr_values may come back lower (OIDC Core): the
	// application decides, and does not loop back to stepup.
	if f.ACR != "" {
		if why := a.shortfall(c.ACR, c.AMR, authTime, f.ACR, time.Duration(f.MaxAge)*time.Second); why != "" {
			a.fail(w, http.StatusForbidden, "This needs a second factor",
				why+". Add a verification method on your stepup account page ("+a.cfg.Issuer+"/account), then try again.")
			return
		}
	}
	// A new session ID at every sign-in and step-up (no fixation), for
	// whoever stepup confirmed this time.
	if old, err := r.Cookie(sessionCookie); err == nil {
		a.sessions.delete(old.Value)
	}
	name := a.userName(ctx, tok, idt.Subject)
	sess := session{ID: randomString(), Subject: idt.Subject, Name: name, ACR: c.ACR, AMR: c.AMR, AuthTime: authTime,
		Claims: describeClaims(all), IDToken: raw, AccessToken: tok.AccessToken, CSRF: randomString(), Expires: a.cfg.Now().Add(sessionTTL)}
	a.sessions.put(sess)
	a.setCookie(w, sessionCookie, sess.ID, "/", sessionTTL)
	http.Redirect(w, r, localPath(f.Return), http.StatusSeeOther)
}

// userName asks stepup's userinfo endpoint for the user's name (stepup
// puts profile claims there, not in the ID token); the subject stands in
// when it cannot say.
func (a *App) userName(ctx context.Context, tok *oauth2.Token, subject string) string {
	info, err := a.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	var c struct {
		Name string `json:"preferred_username"`
	}
	if err != nil || info.Subject != subject || info.Claims(&c) != nil || c.Name == "" {
		if err != nil {
			a.log.Warn("userinfo", "err", err)
		}
		return subject
	}
	return c.Name
}

// transferPage demands aal2 within transferMaxAge; short of it, it steps
// up: back to stepup with acr_values and max_age, and here again.
func (a *App) transferPage(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.session(r)
	if !ok || a.shortfall(sess.ACR, sess.AMR, sess.AuthTime, transferACR, transferMaxAge) != "" {
		a.startFlow(w, r, transferACR, transferMaxAge, "/transfer")
		return
	}
	a.render(w, http.StatusOK, "transfer", map[string]any{"Session": sess})
}

func (a *App) transfer(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.session(r)
	if !ok || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
		a.fail(w, http.StatusForbidden, "Start again", "This form has expired. Open the transfer page again.")
		return
	}
	if a.shortfall(sess.ACR, sess.AMR, sess.AuthTime, transferACR, transferMaxAge) != "" {
		http.Redirect(w, r, "/transfer", http.StatusSeeOther) // which steps up
		return
	}
	amount, err := strconv.ParseFloat(r.PostFormValue("amount"), 64)
	to := strings.TrimSpace(r.PostFormValue("to"))
	if err != nil || amount <= 0 || to == "" {
		a.fail(w, http.StatusBadRequest, "Check the transfer", "Enter a positive amount and a recipient.")
		return
	}
	a.render(w, http.StatusOK, "done", map[string]any{"Session": sess, "Amount": fmt.Sprintf("%.2f", amount), "To": to})
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := a.session(r)
	if !ok || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.sessions.delete(sess.ID)
	a.setCookie(w, sessionCookie, "", "/", -1)
	if a.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	// RP-initiated logout: stepup ends its own session too, so the next
	// sign-in asks for the password again.
	q := url.Values{"id_token_hint": {sess.IDToken}, "client_id": {a.cfg.ClientID},
		"post_logout_redirect_uri": {a.cfg.BaseURL + "/"}}
	http.Redirect(w, r, a.endSession+"?"+q.Encode(), http.StatusSeeOther)
}

// balance answers the API; stepauth.Require has checked the token.
func (a *App) balance(w http.ResponseWriter, r *http.Request) {
	c, _ := stepauth.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"subject": c.Subject, "balance": "1234.56", "currency": "EUR",
		"acr": c.ACR, "amr": c.AMR, "auth_time": c.AuthTime.Unix(),
	})
}

func (a *App) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: int(maxAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(a.cfg.BaseURL, "https://")})
}

func (a *App) seal(plain []byte) string {
	nonce := make([]byte, a.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(a.aead.Seal(nonce, nonce, plain, []byte(flowCookie)))
}

func (a *App) open(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < a.aead.NonceSize() {
		return nil, false
	}
	n := a.aead.NonceSize()
	plain, err := a.aead.Open(nil, b[:n], b[n:], []byte(flowCookie))
	return plain, err == nil
}

// localPath keeps a return address on this site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

func randomString() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *App) fail(w http.ResponseWriter, status int, title, detail string) {
	a.render(w, status, "error", map[string]any{"Title": title, "Detail": detail})
}

func (a *App) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	data["Issuer"] = a.cfg.Issuer
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		a.log.Warn("render", "page", name, "err", err)
	}
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example Bank</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #ccc}
label{display:block;margin-top:.75rem}</style></head><body>
<header><h1>Example Bank</h1></header><main>{{end}}
{{define "bottom"}}</main></body></html>{{end}}
{{define "who"}}<p id="who">Signed in as <strong>{{.Name}}</strong>: level <code id="acr">{{.ACR}}</code>,
methods <code id="amr">{{range $i, $m := .AMR}}{{if $i}} {{end}}{{$m}}{{end}}</code>, at {{when .AuthTime}}.</p>{{end}}
{{define "logout"}}<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Sign out</button></form>{{end}}

{{define "home"}}{{template "top"}}
{{if .SignedIn}}{{template "who" .Session}}
<h2>What stepup told this application</h2>
<p>The claims of the ID token stepup issued for this sign-in, checked against stepup's keys:</p>
<table id="claims">
<thead><tr><th scope="col">Claim</th><th scope="col">Value</th><th scope="col">What it means</th></tr></thead>
<tbody>{{range .Session.Claims}}<tr><th scope="row"><code>{{.Name}}</code></th><td id="claim-{{.Name}}">{{.Value}}</td><td>{{.Meaning}}</td></tr>
{{end}}</tbody></table>
<h2>A sensitive action</h2>
<p><a id="transfer" href="/transfer">Make a transfer</a>: it needs a second factor (<code>aal2</code>, asked as an essential <code>acr</code>) from the last ten minutes, so stepup asks only for what is missing.</p>
{{template "logout" .Session}}
{{else}}<p>This is an example application that signs its users in with stepup.</p>
<p><a id="signin" href="/login">Sign in</a> with stepup.</p>{{end}}
{{template "bottom"}}{{end}}

{{define "transfer"}}{{template "top"}}
<h2>Transfer money</h2>
{{template "who" .Session}}
<form method="post" action="/transfer">
<input type="hidden" name="csrf" value="{{.Session.CSRF}}">
<label for="to">To</label> <input id="to" name="to" required>
<label for="amount">Amount (EUR)</label> <input id="amount" name="amount" inputmode="decimal" required>
<button type="submit">Transfer</button>
</form>
<p><a href="/">Back</a></p>
{{template "bottom"}}{{end}}

{{define "done"}}{{template "top"}}
<h2>Transfer sent</h2>
<p id="done">Transferred {{.Amount}} EUR to {{.To}}.</p>
{{template "who" .Session}}
<p><a href="/">Back</a></p>
{{template "bottom"}}{{end}}

{{define "error"}}{{template "top"}}
<h2>{{.Title}}</h2>
<p id="error" role="alert">{{.Detail}}</p>
<p><a href="/">Back to the start page</a></p>
{{template "bottom"}}{{end}}
`))
