package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stepup-mfa/stepup/plugins"
)

const binDirPrefix = "stepup-testenv-"

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// StepupBinary builds cmd/stepup once per test process, as `make build`
// does: in one go build with the built-in methods' own binaries beside it
// (stepup-totp, ...) and one build stamp, so that stepup serve runs them
// as it does in a deployment. It returns the path of stepup. The binaries
// are left in the system's temporary directory, keyed by the test
// process, for its plugins to use until the process ends; the next build
// removes those of processes that have ended.
func StepupBinary() (string, error) {
	buildOnce.Do(func() {
		removeEnded()
		dir := filepath.Join(os.TempDir(), binDirPrefix+strconv.Itoa(os.Getpid()))
		if buildErr = os.MkdirAll(dir, 0o700); buildErr != nil {
			return
		}
		builtPath = filepath.Join(dir, "stepup")
		args := []string{"build", "-o", dir + string(filepath.Separator),
			"-ldflags", plugins.BuildStampFlag + "test-" + strconv.FormatInt(time.Now().UnixNano(), 10),
			"github.com/stepup-mfa/stepup/cmd/stepup"}
		for _, name := range plugins.BuiltinNames() {
			args = append(args, plugins.BuiltinPackage(name))
		}
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/stepup and the built-in methods: %v\n%s", err, out)
		}
	})
	return builtPath, buildErr
}

// removeEnded removes the binary directories of test processes that no
// longer run.
func removeEnded() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), binDirPrefix))
		if err == nil && pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}
