package stepauth

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandsAlone keeps the package usable by any application: it may not
// import another package of this module.
func TestStandsAlone(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the import rule needs the go command:", err)
	}
	self, err := exec.Command(goTool, "list", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/stepup-mfa/stepup"
	me := strings.TrimSpace(string(self))
	for _, dep := range strings.Fields(string(out)) {
		if dep != me && (dep == module || strings.HasPrefix(dep, module+"/")) {
			t.Errorf("%s imports %s; it must depend on no other stepup package", me, dep)
		}
	}
}
