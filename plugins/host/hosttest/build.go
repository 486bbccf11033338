package hosttest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RunWithPlugin is a TestMain body for a method plugin's tests: it builds
// the command pkg (the plugin's main package) into a temporary directory,
// sets *path to the executable, runs the tests, removes the directory and
// returns the exit code for os.Exit.
func RunWithPlugin(m *testing.M, pkg string, path *string) int {
	dir, err := os.MkdirTemp("", "stepup-plugin-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*path = filepath.Join(dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", *path, pkg).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
		return 1
	}
	return m.Run()
}

// FileSHA256 returns the hex SHA-256 of the file at path: what a plugin's
// sha256 setting holds.
func FileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
