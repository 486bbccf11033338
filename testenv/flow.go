package testenv

import (
	"net/url"
	"strings"
	"testing"
)

// Callback is what reached the relying party's redirect URI.
type Callback struct {
	Params url.Values // code, state, id_token, error, error_description
}

// Code returns the authorization code, failing the test on an error.
func (c Callback) Code(t testing.TB) string {
	t.Helper()
	if c.Params.Get("error") != "" {
		t.Fatalf("authorization failed: %s: %s", c.Params.Get("error"), c.Params.Get("error_description"))
	}
	code := c.Params.Get("code")
	if code == "" {
		t.Fatalf("no code in callback: %v", c.Params)
	}
	return code
}

// CallbackOf reads the callback from a page: a redirect to the RP (query or
// fragment) or a form_post page.
func CallbackOf(t testing.TB, p *Page) (Callback, bool) {
	t.Helper()
	if p.Location != nil && strings.HasPrefix(p.Location.String(), RedirectURI) {
		params := p.Location.Query()
		if p.Location.Fragment != "" {
			frag, _ := url.ParseQuery(p.Location.Fragment)
			for k, v := range frag {
				params[k] = v
			}
		}
		return Callback{Params: params}, true
	}
	for _, f := range p.Forms() {
		if strings.HasPrefix(f.Action, RedirectURI) {
			return Callback{Params: f.Values}, true
		}
	}
	return Callback{}, false
}

// MustCallback is CallbackOf that fails the test when the page is not one.
func MustCallback(t testing.TB, p *Page) Callback {
	t.Helper()
	cb, ok := CallbackOf(t, p)
	if !ok {
		t.Fatalf("expected a callback to the relying party, got %d at %s:\n%s", p.Status, p.URL, p.Text())
	}
	return cb
}

// SubmitPassword fills and submits the login form on p.
func (b *Browser) SubmitPassword(p *Page, username, password string) *Page {
	b.t.Helper()
	f := p.Form(b.t, "/login")
	return b.Submit(p, f, map[string]string{"username": username, "password": password})
}

// IsLoginPage reports whether p asks for a username and password.
func (p *Page) IsLoginPage() bool {
	for _, f := range p.Forms() {
		for _, in := range f.Inputs {
			if in.Autocomplete == "current-password" {
				return true
			}
		}
	}
	return false
}
