package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/stepup-mfa/stepup/plugins"
)

const binDirPrefix = "stepup-testenv-"

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// StepupBinary builds cmd/stepup once per test process, as `make build`
// does: the built-in methods' own binaries (stepup-totp, ...) first, then
// stepup beside them with their SHA-256 recorded in it, so that stepup
// serve runs them as it does in a deployment. It returns the path of
// stepup. The binaries are left in the system's temporary directory, keyed
// by the test process, for its plugins to use until the process ends; the
// next build removes those of processes that have ended.
func StepupBinary() (string, error) {
	buildOnce.Do(func() {
		removeEnded()
		dir := filepath.Join(os.TempDir(), binDirPrefix+strconv.Itoa(os.Getpid()))
		if buildErr = os.MkdirAll(dir, 0o700); buildErr != nil {
			return
		}
		builtPath = filepath.Join(dir, "stepup")
		out := dir + string(filepath.Separator)
		args := []string{"build", "-o", out}
		for _, name := range plugins.BuiltinNames() {
			args = append(args, plugins.BuiltinPackage(name))
		}
		if buildErr = goBuild(args...); buildErr != nil {
			return
		}
		var sums []string
		for _, name := range plugins.BuiltinNames() {
			sum, err := fileSHA256(filepath.Join(dir, "stepup-"+name))
			if err != nil {
				buildErr = err
				return
			}
			sums = append(sums, name+":"+sum)
		}
		buildErr = goBuild("build", "-o", out, "-ldflags", plugins.BuiltinSHA256Flag+strings.Join(sums, ","),
			"github.com/stepup-mfa/stepup/cmd/stepup")
	})
	return builtPath, buildErr
}

func goBuild(args ...string) error {
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
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
