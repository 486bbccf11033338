package main

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
	"github.com/stepup-mfa/stepup/testenv"
)

const cheapArgon = "passwords: {argon2: {memory_kib: 64, iterations: 1, parallelism: 1}}\n"

func TestBreakGlassTempCode(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, cheapArgon)
	if _, stderr, code := stepup(t, dir, "a long password\n", "user", "add", "root-admin", "--password-stdin", "--grant", "manage_mfa", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := stepup(t, dir, "", "temp-code", "issue", "--user", "root-admin", "--ttl", "2h", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`: ([0-9]{8})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no code printed:\n%s", out)
	}
	if strings.Contains(stderr, m[1]) {
		t.Fatal("the code reached the log")
	}
	if _, stderr, code := stepup(t, dir, "", "temp-code", "issue", "--user", "root-admin", "--config", cfg); code == 0 || !strings.Contains(stderr, "expire the current code first") {
		t.Fatalf("second code: exit %d %s", code, stderr)
	}
	if _, stderr, code := stepup(t, dir, "", "temp-code", "issue", "--user", "root-admin", "--ttl", "30m", "--config", cfg); code == 0 || !strings.Contains(stderr, "1h") {
		t.Fatalf("bad ttl: exit %d %s", code, stderr)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "stepup-data", "stepup.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ev, err := store.ListEvents(context.Background(), storage.EventFilter{Type: "tempcode.issued"})
	if err != nil || len(ev) != 1 || ev[0].Actor != "break-glass" || ev[0].Details["break_glass"] != "true" {
		t.Fatalf("break-glass not audited: %v %+v", err, ev)
	}
}

func TestAdminCommandOverHTTP(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, cheapArgon+`listen: `+addr+`
issuer: http://`+addr+`
clients:
  - id: bot
    secret: bot-secret-for-tests
    grant_types: [client_credentials]
    permissions: [manage_mfa]
`)
	if _, stderr, code := stepup(t, dir, "", "user", "add", "alice", "--email", "alice@example.com", "--config", cfg); code != 0 {
		t.Fatal(stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := exec.CommandContext(ctx, stepupBin, "serve", "--config", cfg)
	srv.Dir = dir
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	waitReady(t, "http://"+addr+"/readyz")
	admin := func(args ...string) (string, string, int) {
		return stepup(t, dir, "", append([]string{"admin", "--client-id", "bot", "--client-secret", "bot-secret-for-tests", "--config", cfg}, args...)...)
	}
	out, stderr, code := admin("users", "get", "alice")
	if code != 0 || !strings.Contains(out, `"username": "alice"`) {
		t.Fatalf("users get: exit %d %s %s", code, out, stderr)
	}
	out, stderr, code = admin("temp-code", "issue", "alice", "--ttl", "3h")
	if code != 0 || !regexp.MustCompile(`"code": "[0-9]{8}"`).MatchString(out) {
		t.Fatalf("temp-code issue: exit %d %s %s", code, out, stderr)
	}
	if _, stderr, code = admin("temp-code", "issue", "alice"); code == 0 || !strings.Contains(stderr, "409") {
		t.Fatalf("second code: exit %d %s", code, stderr)
	}
	if out, _, code = admin("events", "--user", "alice", "--type", "tempcode."); code != 0 || !strings.Contains(out, "client:bot") {
		t.Fatalf("events: %s", out)
	}
	if _, stderr, code = stepup(t, dir, "", "admin", "--token", "not-a-token", "--config", cfg, "users", "get", "alice"); code == 0 || !strings.Contains(stderr, "401") {
		t.Fatalf("bad token: exit %d %s", code, stderr)
	}
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	testenv.Eventually(t, url+" to answer 200", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
