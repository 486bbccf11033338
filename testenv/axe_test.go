package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAxeVendored: the vendored axe-core is the one AxeSHA256 names.
func TestAxeVendored(t *testing.T) {
	sum := sha256.Sum256([]byte(axeSource))
	if got := hex.EncodeToString(sum[:]); got != AxeSHA256 {
		t.Fatalf("testdata/axe-core/axe.min.js has SHA-256 %s, want %s (README.md there says how to update)", got, AxeSHA256)
	}
}

// TestAxeFindsViolations: the check finds what it is there to find, under
// a CSP as strict as stepup's (no script, no inline style), in both schemes: an
// input without a label (critical) and text without contrast (serious).
func TestAxeFindsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad.css" {
			w.Header().Set("Content-Type", "text/css")
			w.Write([]byte(".faint{color:#777;background:#888}"))
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>bad</title><link rel="stylesheet" href="/bad.css"></head><body><main><h1>Bad page</h1>
<form><input type="text" name="x"></form><p class="faint">low contrast</p></main></body></html>`))
	}))
	defer srv.Close()
	ctx := NewChrome(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		vs, err := AxeViolations(ctx, scheme)
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, v := range vs {
			rules = append(rules, v.Rule+"/"+v.Impact)
		}
		if !slices.Contains(rules, "label/critical") || !slices.Contains(rules, "color-contrast/serious") {
			t.Fatalf("%s: axe-core found %v on a page with an unlabelled input and low contrast", scheme, rules)
		}
	}
}
