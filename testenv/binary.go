package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// StepupBinary builds cmd/stepup once per test process and returns its
// path: built-in methods run as `stepup plugin NAME` subprocesses, exactly
// as under stepup serve. The binary is left in the system's temporary
// directory, keyed by the test process, for its plugins to use until the
// process ends.
func StepupBinary() (string, error) {
	buildOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("stepup-testenv-%d", os.Getpid()))
		if buildErr = os.MkdirAll(dir, 0o700); buildErr != nil {
			return
		}
		builtPath = filepath.Join(dir, "stepup")
		out, err := exec.Command("go", "build", "-o", builtPath, "github.com/stepup-mfa/stepup/cmd/stepup").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/stepup: %v\n%s", err, out)
		}
	})
	return builtPath, buildErr
}
