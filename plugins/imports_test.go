package plugins

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/stepup-mfa/stepup/"

// TestMethodImports keeps the one-way flow honest: a method plugin reaches
// nothing of stepup but plugins/sdk (and its subpackages), and no database
// driver; the host does not reach the provider.
func TestMethodImports(t *testing.T) {
	forbidden := []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq", "github.com/mattn/go-sqlite3"}
	for _, pkg := range []string{"./totp", "./totp/cmd/stepup-totp", "./tempcode", "./tempcode/cmd/stepup-tempcode"} {
		own := module + "plugins/" + strings.Split(strings.TrimPrefix(pkg, "./"), "/")[0]
		for _, dep := range deps(t, pkg) {
			if strings.HasPrefix(dep, module) && !strings.HasPrefix(dep, module+"plugins/sdk") &&
				dep != own && !strings.HasPrefix(dep, own+"/") {
				t.Errorf("%s depends on %s: a method may reach only plugins/sdk", pkg, dep)
			}
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on the database package %s", pkg, dep)
				}
			}
		}
	}
	for _, pkg := range []string{"./host", "./sdk", "./conformance"} {
		for _, dep := range deps(t, pkg) {
			if strings.HasPrefix(dep, module+"provider") || strings.HasPrefix(dep, module+"authflow") || strings.HasPrefix(dep, module+"cmd") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
	for _, dep := range deps(t, "./sdk") {
		if strings.HasPrefix(dep, module) && !strings.HasPrefix(dep, module+"plugins/sdk") {
			t.Errorf("sdk depends on %s", dep)
		}
	}
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestBuiltin(t *testing.T) {
	if got := BuiltinNames(); !slices.IsSorted(got) || !slices.Contains(got, "totp") || !slices.Contains(got, "tempcode") {
		t.Fatalf("built-ins %v", got)
	}
	for name, newMethod := range Builtin {
		if newMethod() == nil {
			t.Errorf("%s: nil method", name)
		}
	}
	if err := ServeBuiltin("no-such-method"); err == nil || !strings.Contains(err.Error(), "totp") {
		t.Fatalf("unknown built-in: %v", err)
	}
}
