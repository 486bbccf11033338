package username

import (
	"os/exec"
	"strings"
	"testing"
)

// TestUsernameIsALeaf keeps the rule shareable by the command, the admin
// API, the login page and the upstream login alike: it imports nothing of
// stepup and no HTTP.
func TestUsernameIsALeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || (strings.HasPrefix(dep, "github.com/stepup-mfa/stepup/") && dep != "github.com/stepup-mfa/stepup/provider/username") {
			t.Errorf("depends on %s", dep)
		}
	}
}
