package provider_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestPagesWithoutTheirStore: with the database gone, the pages answer
// 503 with Retry-After and a sentence that says so, not 500 "something
// went wrong" (issue 18, item 10).
func TestPagesWithoutTheirStore(t *testing.T) {
	env, b, rp, _ := totpEnv(t)
	ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
	if p := b.Get(ar.URL); p.Status != http.StatusOK {
		t.Fatalf("with the store: %d %s", p.Status, p.Text())
	}
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	other := env.NewBrowser(t)
	for name, get := range map[string]func() (*http.Response, error){
		"account":   func() (*http.Response, error) { return b.Client.Get(env.URL + "/account") },
		"authorize": func() (*http.Response, error) { return other.Client.Get(rp.AuthURL(nil).URL) },
	} {
		resp, err := get()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s without the store: %d %q", name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
}
