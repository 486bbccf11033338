package storage_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStorageKnowsNoHTTP keeps the one-way flow honest (STYLE.md): the
// store and its backends know nothing of HTTP or of the provider.
func TestStorageKnowsNoHTTP(t *testing.T) {
	for _, pkg := range []string{".", "./sqlite", "./postgres"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "net/http" || (strings.HasPrefix(dep, "github.com/stepup-mfa/stepup/") &&
				!strings.HasPrefix(dep, "github.com/stepup-mfa/stepup/provider/storage")) {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
