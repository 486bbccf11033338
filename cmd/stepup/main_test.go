package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/testenv"
)

// stepupBin is the stepup command built for the tests as make build
// builds it, with the built-in methods' own binaries beside it: a real
// binary, because serve runs its built-in methods as subprocesses.
var stepupBin string

func TestMain(m *testing.M) {
	bin, err := testenv.StepupBinary()
	if err != nil {
		panic(err)
	}
	stepupBin = bin
	os.Exit(m.Run())
}

// stepup runs the command in a subprocess, in dir, and returns its output
// and exit code.
func stepup(t *testing.T, dir, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(stepupBin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "stepup.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelpListsSubcommands(t *testing.T) {
	out, _, code := stepup(t, t.TempDir(), "", "--help")
	for _, want := range []string{"serve", "user", "keys"} {
		if !strings.Contains(out, want) || code != 0 {
			t.Fatalf("help (exit %d) does not list %s:\n%s", code, want, out)
		}
	}
}

func TestBadConfigOneLine(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown driver": {"storage: {driver: mysql}\n", "storage.driver"},
		"misspelled key": {"isuer: http://x\n", "isuer"},
		"bad duration":   {"lockout: {duration: soon}\n", "lockout.duration"},
		"postgres down":  {"storage: {driver: postgres, dsn: 'postgres://nobody@127.0.0.1:1/none?connect_timeout=2'}\n", "127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, tc.yaml)
			_, stderr, code := stepup(t, dir, "", "serve", "--config", cfg)
			if code == 0 {
				t.Fatal("exit code 0")
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("stderr is not one line naming %q:\n%s", tc.want, stderr)
			}
		})
	}
}

func TestExternalPluginRefusedAtStart(t *testing.T) {
	for name, tc := range map[string]struct{ method, want string }{
		"checksum mismatch": {"myplugin: {path: " + stepupBin + ", sha256: '" + strings.Repeat("ab", 32) + "', priority: 50}", "checksum"},
		"missing file":      {"myplugin: {path: /nonexistent/plugin, sha256: '" + strings.Repeat("ab", 32) + "'}", "/nonexistent/plugin"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, "listen: 127.0.0.1:0\nmethods:\n  "+tc.method+"\n")
			_, stderr, code := stepup(t, dir, "", "serve", "--config", cfg)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if code == 0 || !strings.Contains(last, "myplugin") || !strings.Contains(last, tc.want) {
				t.Fatalf("exit %d, last line does not name myplugin and %q:\n%s", code, tc.want, stderr)
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := stepup(t, dir, "", "serve", "--config", filepath.Join(dir, "nope.yaml"))
	if code == 0 || !strings.Contains(stderr, "nope.yaml") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "passwords: {argon2: {memory_kib: 64, iterations: 1, parallelism: 1}}\n")
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, stderr, code := stepup(t, dir, stdin, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	run("s3cret-password\n", "user", "add", "Alice", "--email", "alice@example.com", "--password-stdin", "--grant", "manage_mfa")
	run("", "user", "add", "bob")
	run("", "user", "deactivate", "bob")
	run("another-password\n", "user", "set-password", "bob")
	run("", "user", "grant", "bob", "manage_mfa")
	out := run("", "user", "list")
	if !strings.Contains(out, "alice") || !strings.Contains(out, "manage_mfa") || !strings.Contains(out, "false") {
		t.Fatalf("user list:\n%s", out)
	}
	if _, stderr, code := stepup(t, dir, "", "user", "add", "alice", "--config", cfg); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("duplicate user: exit %d %s", code, stderr)
	}
	if _, stderr, code := stepup(t, dir, "", "user", "grant", "alice", "root", "--config", cfg); code == 0 || !strings.Contains(stderr, "unknown permission") {
		t.Fatalf("bad permission: exit %d %s", code, stderr)
	}
	run("", "keys", "rotate")
}

// TestServeDemo starts the real command with --demo and waits for /readyz.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	cmd, addr, out := startServe(t, stepupBin, dir, "--demo", "--demo-listen", freeAddr(t))
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"totp":"ok"`) {
		t.Fatalf("readyz does not report the totp plugin: %s", body)
	}
	// Each built-in method runs as its own binary from the same build,
	// named in a process listing.
	children := childCommands(t, cmd.Process.Pid)
	for _, name := range plugins.BuiltinNames() {
		want := filepath.Join(filepath.Dir(stepupBin), "stepup-"+name)
		if !slices.Contains(children, want) {
			t.Errorf("no %s process among %q", want, children)
		}
	}
	// It prints once the demo application answers, after /readyz may.
	testenv.Eventually(t, "the demo printing how to sign in", func() bool {
		return strings.Contains(out.String(), "alice") && strings.Contains(out.String(), "demo-app")
	})
	if _, err := os.Stat(filepath.Join(dir, "stepup-data", "stepup.db")); err != nil {
		t.Fatalf("database not under ./stepup-data: %v", err)
	}
}

// TestBuiltinMethodsReexecWithoutTheirBinaries: a stepup without its
// methods' binaries (as go install gives) re-executes itself for each.
func TestBuiltinMethodsReexecWithoutTheirBinaries(t *testing.T) {
	binDir := t.TempDir()
	self := filepath.Join(binDir, "stepup")
	copyFile(t, stepupBin, self)
	cmd, _, out := startServe(t, self, t.TempDir())
	children := childCommands(t, cmd.Process.Pid)
	for _, name := range plugins.BuiltinNames() {
		if want := self + " plugin " + name; !slices.Contains(children, want) {
			t.Errorf("no %q process among %q", want, children)
		}
	}
	if logs := out.String(); strings.Contains(logs, "re-executes stepup") {
		t.Errorf("a missing stepup-NAME is not worth a log line:\n%s", logs)
	}
}

// TestBuiltinBinaryReplacedRefusedAtStart: a stepup-totp with the build
// information of the one make build made, but other content (as a build
// that accepts any code and copies the stamp would have), is not run:
// serve stops with one line naming the file and its checksum.
func TestBuiltinBinaryReplacedRefusedAtStart(t *testing.T) {
	binDir := t.TempDir()
	self := filepath.Join(binDir, "stepup")
	for _, name := range []string{"stepup", "stepup-tempcode", "stepup-totp"} {
		copyFile(t, filepath.Join(filepath.Dir(stepupBin), name), filepath.Join(binDir, name))
	}
	f, err := os.OpenFile(filepath.Join(binDir, "stepup-totp"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("other code"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "listen: "+freeAddr(t)+"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a serve that runs is killed, and fails the test
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "serve", "--config", cfg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if err == nil || !strings.Contains(last, "method totp: plugin "+filepath.Join(binDir, "stepup-totp")) || !strings.Contains(last, "checksum mismatch") {
		t.Fatalf("serve: %v; the last line should refuse stepup-totp by its checksum:\n%s", err, stderr.String())
	}
}

// startServe runs bin serve in dir on a free address, with args, until
// the test ends, and returns once /readyz answers 200; out collects its
// output.
func startServe(t *testing.T, bin, dir string, args ...string) (cmd *exec.Cmd, addr string, out *testenv.LogBuffer) {
	t.Helper()
	addr = freeAddr(t)
	cfg := writeConfig(t, dir, "listen: "+addr+"\nissuer: http://"+addr+"\n")
	cmd = exec.Command(bin, append([]string{"serve", "--config", cfg}, args...)...)
	cmd.Dir = dir
	out = &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	waitReady(t, "http://"+addr+"/readyz")
	return cmd, addr, out
}

// childCommands returns the command lines of pid's children.
func childCommands(t *testing.T, pid int) []string {
	t.Helper()
	kids, err := testenv.Children(pid)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, kid := range kids {
		line, err := os.ReadFile("/proc/" + kid + "/cmdline")
		if err == nil {
			cmds = append(cmds, strings.TrimSpace(strings.ReplaceAll(string(line), "\x00", " ")))
		}
	}
	return cmds
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
