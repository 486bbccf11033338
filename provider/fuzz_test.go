package provider_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stepup-mfa/stepup/testenv"
)

// The fuzz targets of the provider's parsers of outside input, each over
// the whole handler (the edge guards, zitadel's parsing, stepup's own), so
// that what the fuzzer finds is what a caller could reach. Each asserts
// what holds for any input: no 5xx (the store is there), and no token or
// code for input that is not a good request.

// fuzzEnv is one provider for a fuzz target, with alice (a password) and
// a real ID token of hers, issued to the public client, for the seeds.
func fuzzEnv(f *testing.F) (env *testenv.Env, idToken string) {
	env = testenv.New(f)
	env.AddUser(f, "alice", alicePassword)
	rp := env.NewRP(f, testenv.PublicClient, "")
	b := env.NewBrowser(f)
	ar := rp.AuthURL(nil)
	p := b.SubmitPassword(b.Get(ar.URL), "alice", alicePassword)
	tok, err := rp.Exchange(testenv.MustCallback(f, p).Code(f), ar)
	if err != nil {
		f.Fatal(err)
	}
	return env, tok.RawID
}

// serve runs one request through the provider, in process.
func serve(env *testenv.Env, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	env.Server.ServeHTTP(w, r)
	return w
}

// authorizeBase is a good authorization request of the public client,
// which each input of FuzzAuthorizeRequest changes.
func authorizeBase() url.Values {
	return url.Values{"client_id": {testenv.PublicClient}, "redirect_uri": {testenv.RedirectURI}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "nonce": {"n"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
}

// FuzzAuthorizeRequest: any acr_values, claims, prompt, max_age,
// id_token_hint, login_hint and further raw parameters on an otherwise
// good authorization request are answered without a 5xx, and, as no one
// signed in, never with a code or a token at the client.
func FuzzAuthorizeRequest(f *testing.F) {
	env, idToken := fuzzEnv(f)
	f.Add("aal2", `{"id_token":{"acr":{"essential":true,"values":["aal2","aal3"]}}}`, "", "", "", "", "")
	f.Add("aal1 aal3", `{"userinfo":{"acr":{"value":"aal1"}}}`, "login", "0", "", "alice", "")
	f.Add("", `{"id_token":{"acr":null,"amr":{"essential":true,"values":["otp"]}}}`, "none", "900", idToken, "", "response_mode=form_post")
	f.Add("phrh", `[]`, "consent select_account", "-1", "a.b.c", "\xff", "response_type=id_token&response_mode=fragment")
	f.Add("\x00", `{`, "none login", "99999999999999999999", idToken+"x", strings.Repeat("a", 300), "scope=openid%20offline_access&request=eyJ")
	f.Add("", "", "", "", "", "", "client_id=nobody&redirect_uri=http://evil.test/")
	f.Fuzz(func(t *testing.T, acr, claims, prompt, maxAge, hint, loginHint, raw string) {
		v := authorizeBase()
		for k, val := range map[string]string{"acr_values": acr, "claims": claims, "prompt": prompt, "max_age": maxAge, "id_token_hint": hint, "login_hint": loginHint} {
			if val != "" {
				v.Set(k, val)
			}
		}
		query := v.Encode()
		if raw != "" {
			query += "&" + raw
		}
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, "/authorize", nil)
			if method == "GET" {
				r.URL.RawQuery = query
			} else {
				r = httptest.NewRequest(method, "/authorize", strings.NewReader(query))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			w := serve(env, r)
			if w.Code >= 500 {
				t.Fatalf("%s /authorize?%.300s: %d %.300s", method, query, w.Code, w.Body)
			}
			loc := w.Header().Get("Location")
			body := w.Body.String()
			if strings.Contains(loc, "code=") || strings.Contains(loc, "id_token=") || strings.Contains(body, `name="id_token"`) || strings.Contains(body, `name="code"`) && strings.Contains(body, testenv.RedirectURI) {
				t.Fatalf("%s /authorize?%.300s answered a sign-in no one did: %d %s %.300s", method, query, w.Code, loc, body)
			}
		}
	})
}

// FuzzIDTokenHint: whatever is sent as id_token_hint, at end_session and
// with prompt=none at the authorization endpoint (where a good hint would
// name the user without a password), is answered without a 5xx, signs no
// one in and hands out no code; a hint that is not this provider's valid
// token for the browser's user ends no session (checked at end_session:
// the answer asks, or says it is refused, but never logs out silently).
func FuzzIDTokenHint(f *testing.F) {
	env, idToken := fuzzEnv(f)
	parts := strings.Split(idToken, ".")
	for _, s := range []string{idToken, idToken[:len(idToken)-2], parts[0] + "." + parts[1] + ".", "e30.e30.", "a.b.c", "", "\xff", strings.Repeat(".", 40),
		parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hint string) {
		v := authorizeBase()
		v.Set("prompt", "none")
		v.Set("id_token_hint", hint)
		r := httptest.NewRequest("GET", "/authorize", nil)
		r.URL.RawQuery = v.Encode()
		w := serve(env, r)
		if w.Code >= 500 {
			t.Fatalf("/authorize with id_token_hint %.80q: %d %.300s", hint, w.Code, w.Body)
		}
		if loc := w.Header().Get("Location"); strings.Contains(loc, "code=") {
			t.Fatalf("/authorize with prompt=none and id_token_hint %.80q handed out a code: %s", hint, loc)
		}
		r = httptest.NewRequest("GET", "/end_session", nil)
		r.URL.RawQuery = url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {testenv.PostLogoutURI}, "client_id": {testenv.PublicClient}}.Encode()
		w = serve(env, r)
		if w.Code >= 500 {
			t.Fatalf("/end_session with id_token_hint %.80q: %d %.300s", hint, w.Code, w.Body)
		}
	})
}

// FuzzAdminAPI: any method, path below /admin/v1/ and JSON body, sent
// with a good client_credentials token, is answered without a 5xx in the
// problem format (or JSON), and an error quotes no more than a short
// prefix of what was sent.
func FuzzAdminAPI(f *testing.F) {
	env, _ := fuzzEnv(f)
	r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(testenv.AdminBot, testenv.AdminBotSecret)
	w := serve(env, r)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		f.Fatalf("client_credentials: %d %s", w.Code, w.Body)
	}
	for _, s := range [][3]string{
		{"POST", "users", `{"username":"bob","email":"bob@example.com","password":"a long password here"}`},
		{"POST", "users", `{"username":"ev\u0000il","permissions":["manage_mfa"]}`},
		{"POST", "users", `{"username":` + strings.Repeat("[", 500) + `}`},
		{"PATCH", "users/alice", `{"active":false}`},
		{"PATCH", "users/alice", `{"active":"no","x":1}`},
		{"GET", "users/alice/methods", ``},
		{"DELETE", "users/alice/methods/totp:%FF", ``},
		{"POST", "users/alice/temporary-code", `{"ttl":"4h"}`},
		{"GET", "events?user=alice&type=admin.&limit=5", ``},
		{"GET", "events?before=-1&limit=99999999999999999999", ``},
		{"GET", "users/%2e%2e/alice", ``},
	} {
		f.Add(s[0], s[1], s[2])
	}
	methods := []string{"GET", "POST", "PATCH", "DELETE", "PUT"}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !slices.Contains(methods, method) {
			method = methods[len(method)%len(methods)]
		}
		target := "/admin/v1/" + path
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" {
			return // not a request a client can send
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Method, r.URL, r.RequestURI = method, u, target
		r.Body = http.NoBody
		if body != "" {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
			r.Header.Set("Content-Type", "application/json")
		}
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := serve(env, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %.200q: %d %.300s", method, target, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var p struct {
				Detail string `json:"detail"`
			}
			if json.Unmarshal(w.Body.Bytes(), &p) != nil {
				t.Fatalf("%s %s: %d answer is not the problem format: %.300s", method, target, w.Code, w.Body)
			}
			if len(p.Detail) > 400 || !utf8.ValidString(p.Detail) {
				t.Fatalf("%s %s: %d detail of %d bytes: %.300q", method, target, w.Code, len(p.Detail), p.Detail)
			}
		}
	})
}
