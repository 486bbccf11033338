package web

import (
	"io/fs"
	"strings"
	"testing"
)

// TestNoInlineStyle: the CSP allows styles from stepup's stylesheet only
// (style-src 'self'), so no template may carry a style element or
// attribute, which browsers would ignore.
func TestNoInlineStyle(t *testing.T) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatalf("templates: %v %v", names, err)
	}
	for _, name := range names {
		b, _ := fs.ReadFile(templateFS, name)
		if s := string(b); strings.Contains(s, "<style") || strings.Contains(s, " style=") {
			t.Errorf("%s has inline style: move it to static/stepup.css", name)
		}
	}
	if !strings.Contains(string(stylesheet), "prefers-color-scheme: dark") {
		t.Error("the stylesheet has no dark scheme")
	}
}
