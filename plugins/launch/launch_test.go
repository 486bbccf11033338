package launch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stepup-mfa/stepup/plugins"
	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/launch"
	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/testenv"
)

// binaries copies the stepup of make build, with the named built-in
// methods' binaries beside it, into a directory of the test's own, and
// returns the copy of stepup.
func binaries(t *testing.T, methods ...string) string {
	t.Helper()
	built, err := testenv.StepupBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range append([]string{"stepup"}, prefixed(methods)...) {
		copyExecutable(t, filepath.Join(filepath.Dir(built), name), filepath.Join(dir, name))
	}
	return filepath.Join(dir, "stepup")
}

func prefixed(methods []string) []string {
	var out []string
	for _, m := range methods {
		out = append(out, "stepup-"+m)
	}
	return out
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// onlyTOTP is a configuration that runs the totp method alone.
func onlyTOTP(env *testenv.Env) config.Config {
	cfg := env.Config
	off := false
	cfg.Methods = map[string]config.MethodConfig{}
	for name, mc := range env.Config.Methods {
		if name != "totp" {
			mc.Enabled = &off
		}
		cfg.Methods[name] = mc
	}
	return cfg
}

func launchMethods(t *testing.T, env *testenv.Env, cfg config.Config, self string, logs *testenv.LogBuffer) (*host.Registry, error) {
	t.Helper()
	reg, err := launch.Methods(context.Background(), launch.FromConfig(cfg),
		testenv.LaunchOptions(self, env.Store, env.Secrets, slog.New(slog.NewTextHandler(logs, nil)), env.Clock.Now))
	if err == nil {
		t.Cleanup(func() { reg.Close() })
	}
	return reg, err
}

// TestBuiltinSwappedWhileRunningNeverRuns replays the swap of a built-in
// method's file while stepup serves: the file is replaced by a program
// that would serve the method (here a script that leaves a mark and then
// runs the genuine binary, as a build that accepts any code would), and
// the plugin is killed. The restart refuses the file by its checksum, the
// refusal is logged and audited, and the method is down instead of
// running it. Both ways a built-in runs are pinned: its own binary, and
// stepup re-executed.
func TestBuiltinSwappedWhileRunningNeverRuns(t *testing.T) {
	for name, tc := range map[string]struct {
		methods []string // the binaries beside stepup
		file    string   // the one the totp method runs
	}{
		"own binary":         {[]string{"totp"}, "stepup-totp"},
		"re-executed stepup": {nil, "stepup"},
	} {
		t.Run(name, func(t *testing.T) {
			env := testenv.New(t)
			self := binaries(t, tc.methods...)
			dir := filepath.Dir(self)
			logs := &testenv.LogBuffer{}
			reg, err := launchMethods(t, env, onlyTOTP(env), self, logs)
			if err != nil {
				t.Fatal(err)
			}
			p, ok := reg.Method("totp")
			if !ok || !p.Healthy() {
				t.Fatalf("totp not running: %v", ok)
			}
			target := filepath.Join(dir, tc.file)
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID())); err != nil || exe != target {
				t.Fatalf("totp runs %q (%v), want %s", exe, err, target)
			}

			genuine := filepath.Join(t.TempDir(), "genuine")
			copyExecutable(t, target, genuine)
			marker := filepath.Join(dir, "swapped-file-ran")
			swapped := filepath.Join(dir, "swapped")
			script := "#!/bin/sh\necho ran > " + marker + "\nexec " + genuine + ` "$@"` + "\n"
			if err := os.WriteFile(swapped, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(swapped, target); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}

			// Until the restart is refused (audited, then logged), or the
			// swapped file runs.
			line := "plugin " + target + ": start: checksum mismatch: file has sha256 "
			var refused []storage.Event
			testenv.Eventually(t, "the restart to be refused and logged, or to run the swapped file", func() bool {
				if refused, err = env.Store.ListEvents(context.Background(), storage.EventFilter{Type: "method.plugin_refused"}); err != nil {
					t.Fatal(err)
				}
				return (len(refused) > 0 && strings.Contains(logs.String(), line)) || p.Restarts() > 0
			})
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the swapped file ran on restart")
			}
			if p.Restarts() != 0 || p.Healthy() {
				t.Fatalf("restarted %d times, healthy %v: want the method down", p.Restarts(), p.Healthy())
			}
			if len(refused) != 1 || refused[0].Details["method"] != "totp" || refused[0].Outcome != "denied" ||
				!strings.Contains(refused[0].Details["reason"], target+": checksum mismatch") {
				t.Fatalf("audit events %+v, want one refusal of %s", refused, target)
			}
			if !strings.Contains(logs.String(), line) {
				t.Fatalf("the log does not say %q:\n%s", line, logs)
			}
			if _, err := p.Begin(context.Background(), sdk.BeginRequest{User: sdk.User{ID: "u1"}}); !errors.Is(err, sdk.ErrUnavailable) {
				t.Fatalf("Begin on the refused method: %v, want ErrUnavailable (the method is skipped)", err)
			}
		})
	}
}

// TestBuiltinReplacedBeforeStartRefused: a stepup-totp that is not the
// binary make build recorded in stepup, here another method's binary of
// the same build, is refused at start with one line naming the file, and
// audited.
func TestBuiltinReplacedBeforeStartRefused(t *testing.T) {
	env := testenv.New(t)
	self := binaries(t, "tempcode")
	target := filepath.Join(filepath.Dir(self), "stepup-totp")
	copyExecutable(t, filepath.Join(filepath.Dir(self), "stepup-tempcode"), target)
	_, err := launchMethods(t, env, onlyTOTP(env), self, &testenv.LogBuffer{})
	if err == nil || !errors.Is(err, host.ErrChecksumMismatch) || !strings.Contains(err.Error(), "method totp: plugin "+target) ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("launch: %v; want one line refusing %s by its checksum", err, target)
	}
	refused, err := env.Store.ListEvents(context.Background(), storage.EventFilter{Type: "method.plugin_refused"})
	if err != nil || len(refused) != 1 {
		t.Fatalf("audit events %+v, %v; want the refusal", refused, err)
	}
}

// TestUnbuiltMethodsLoggedOnlyWhenNamed: a file may name methods that are
// planned but not in this build (plugins.Planned, as SPEC §3's example
// does); start-up then names them in one log line, and otherwise says
// nothing of them.
func TestUnbuiltMethodsLoggedOnlyWhenNamed(t *testing.T) {
	env := testenv.New(t)
	const skipped = "configured methods not in this build, skipped"
	cases := map[string]struct{ methods, want string }{"only defaults": {"", ""}}
	planned := plugins.PlannedNames()
	if len(planned) >= 1 {
		a := planned[0]
		cases["names one"] = struct{ methods, want string }{"  " + a + ": {priority: 45}\n", "methods=" + a + "\n"}
	}
	if len(planned) >= 2 {
		a, b := planned[0], planned[1]
		cases["names two"] = struct{ methods, want string }{"  " + b + ": {priority: 80}\n  " + a + ": {x: 10}\n", "methods=" + a + "," + b + "\n"}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "stepup.yaml")
			yaml := "methods:\n"
			for _, b := range plugins.BuiltinNames() { // none of them runs here
				yaml += "  " + b + ": {enabled: false}\n"
			}
			yaml += tc.methods
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(file, plugins.Builtins)
			if err != nil {
				t.Fatal(err)
			}
			logs := &testenv.LogBuffer{}
			if _, err := launchMethods(t, env, cfg, "/nonexistent/stepup", logs); err != nil {
				t.Fatal(err)
			}
			got := logs.String()
			if tc.want == "" && strings.Contains(got, skipped) || tc.want != "" && !strings.Contains(got, skipped+"\" "+tc.want) {
				t.Fatalf("log %q, want %q", got, tc.want)
			}
		})
	}
}
