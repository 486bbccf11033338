package authflow

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the one-way flow honest: authflow is pure decisions on
// values, so it depends on the standard library only, never on net/http or
// the provider.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	const self = "github.com/stepup-mfa/stepup/authflow"
	seen := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, standard, _ := strings.Cut(line, " ")
		switch {
		case path == self:
			seen = true
		case path == "net/http" || strings.HasPrefix(path, "net/http/"):
			t.Errorf("authflow depends on %s", path)
		case path == "github.com/stepup-mfa/stepup/provider" || strings.HasPrefix(path, "github.com/stepup-mfa/stepup/provider/"):
			t.Errorf("authflow depends on %s", path)
		case standard != "true":
			t.Errorf("authflow depends on %s, outside the standard library", path)
		}
	}
	if !seen {
		t.Errorf("go list -deps did not list %s:\n%s", self, out)
	}
}
