package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/notify"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestKilledAfterEnrolmentKeepsEventAndMail: a `stepup serve` killed with
// SIGKILL right after it acknowledged a TOTP enrolment has written the
// credential, its method.added event and the "a method was added" email
// in one transaction, so nothing is lost: after a restart the event is
// there (once) and the email is delivered. The first process cannot send
// mail (its SMTP server refuses connections), so the email can only
// arrive from the restarted one: the outbox survived the kill. On SQLite
// and on PostgreSQL.
func TestKilledAfterEnrolmentKeepsEventAndMail(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			storageCfg := "storage: {driver: sqlite, dsn: " + filepath.Join(dir, "stepup.db") + "}\n"
			var dsn string
			if backend == "postgres" {
				dsn = testenv.PostgresDSN(t)
				storageCfg = "storage: {driver: postgres, dsn: '" + dsn + "'}\n"
			}
			sink := testenv.StartSMTP(t)
			refused := freeAddr(t) // nothing listens there
			cfg := writeConfig(t, dir, cheapArgon+storageCfg+`keys: {secret_file: `+filepath.Join(dir, "secret.key")+`}
outbox: {dir: `+filepath.Join(dir, "outbox")+`}
smtp: {addr: "`+refused+`", from: stepup@example.com}
notify: {retry_after: 100ms, max_attempts: 100}
clients:
  - id: app
    redirect_uris: [`+rpCallback+`]
methods:
  totp: {enabled: true}
  recovery: {enabled: false}
  tempcode: {enabled: false}
  sms: {enabled: false}
`)
			if _, stderr, code := stepup(t, dir, "correct horse battery\n", "user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--config", cfg); code != 0 {
				t.Fatalf("user add: %s", stderr)
			}

			first := startKillable(t, dir, cfg)
			br := newCookieBrowser(first.url)
			p, err := br.get(first.url + "/account")
			if err == nil {
				_, err = br.submitPassword(p, "alice", "correct horse battery")
			}
			if err == nil {
				_, err = br.enrolTOTP() // acknowledged: "The method was added"
			}
			if err != nil {
				t.Fatal(err)
			}
			first.kill(t)
			if got := sink.Received(); len(got) != 0 {
				t.Fatalf("mail arrived before the restart: %+v", got)
			}

			second := startKillable(t, dir, cfg, "STEPUP_SMTP_ADDR="+sink.Addr)
			m := sink.WaitFor(t, "alice@example.com")
			if m.Subject != notify.MethodAddedSubject {
				t.Fatalf("mail after the restart: %+v", m)
			}
			second.stop(t)

			store := openTestStore(t, backend, filepath.Join(dir, "stepup.db"), dsn)
			alice, err := store.GetUserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			evs, err := store.ListEvents(t.Context(), storage.EventFilter{UserID: alice.ID, Type: "method.added"})
			if err != nil || len(evs) != 1 || evs[0].Details["method"] != "totp" {
				t.Fatalf("method.added events after the kill and the restart: %+v, %v", evs, err)
			}
			if n := len(sink.Received()); n != 1 {
				t.Errorf("%d mails delivered, want 1", n)
			}
		})
	}
}

// killable is a `stepup serve` process that the test kills or stops.
type killable struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	logs *testenv.LogBuffer
}

// startKillable runs stepup serve with cfg (and env) on an address of
// its own until the test kills or stops it.
func startKillable(t *testing.T, dir, cfg string, env ...string) *killable {
	t.Helper()
	return startKillableAt(t, dir, cfg, freeAddr(t), env...)
}

// startKillableAt is startKillable on addr (and issuer http://addr).
func startKillableAt(t *testing.T, dir, cfg, addr string, env ...string) *killable {
	t.Helper()
	cmd := exec.Command(stepupBin, "serve", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "STEPUP_LISTEN="+addr, "STEPUP_ISSUER=http://"+addr), env...)
	k := &killable{url: "http://" + addr, cmd: cmd, done: make(chan struct{}), logs: &testenv.LogBuffer{}}
	cmd.Stdout, cmd.Stderr = k.logs, k.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(k.done) }()
	t.Cleanup(func() {
		k.stop(t)
		if t.Failed() {
			t.Logf("stepup serve on %s:\n%s", addr, k.logs.String())
		}
	})
	waitReady(t, k.url+"/readyz")
	return k
}

// kill ends the process with SIGKILL: no shutdown runs. Its plugin
// processes see their parent go and end by themselves.
func (k *killable) kill(t *testing.T) {
	t.Helper()
	if err := k.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-k.done
}

// stop ends the process as an operator would (SIGINT), or kills it when
// it does not end.
func (k *killable) stop(t *testing.T) {
	select {
	case <-k.done:
		return
	default:
	}
	k.cmd.Process.Signal(os.Interrupt)
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		k.cmd.Process.Kill()
		<-k.done
	}
}

// openTestStore opens the store the processes used, to read it.
func openTestStore(t *testing.T, backend, path, dsn string) storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var s storage.Store
	var err error
	if backend == "postgres" {
		s, err = postgres.Open(ctx, dsn)
	} else {
		s, err = sqlite.Open(ctx, path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestKilledAfterRemovalKeepsEventAndMail: an administrator's removal of
// a user's authenticator app (stepup admin methods remove, over the admin
// API) is written with its method.removed event and the user's "a method
// was removed" email; a serve killed with SIGKILL right after it
// answered loses neither: after a restart the event is there once and
// the email arrives (the killed process could not send it). On SQLite and
// PostgreSQL.
func TestKilledAfterRemovalKeepsEventAndMail(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			storageCfg := "storage: {driver: sqlite, dsn: " + filepath.Join(dir, "stepup.db") + "}\n"
			var dsn string
			if backend == "postgres" {
				dsn = testenv.PostgresDSN(t)
				storageCfg = "storage: {driver: postgres, dsn: '" + dsn + "'}\n"
			}
			sink := testenv.StartSMTP(t)
			refused := freeAddr(t)
			addr := freeAddr(t) // every process serves here, so the admin command finds it in the config
			cfg := writeConfig(t, dir, cheapArgon+storageCfg+`listen: `+addr+`
issuer: http://`+addr+`
keys: {secret_file: `+filepath.Join(dir, "secret.key")+`}
smtp: {addr: "`+sink.Addr+`", from: stepup@example.com}
notify: {retry_after: 100ms, max_attempts: 100}
clients:
  - id: bot
    secret: bot-secret-for-tests
    grant_types: [client_credentials]
    permissions: [manage_mfa]
methods:
  totp: {enabled: true}
  recovery: {enabled: false}
  tempcode: {enabled: false}
  sms: {enabled: false}
`)
			if _, stderr, code := stepup(t, dir, "correct horse battery\n", "user", "add", "alice", "--email", "alice@example.com", "--password-stdin", "--config", cfg); code != 0 {
				t.Fatalf("user add: %s", stderr)
			}
			// Alice adds an app; its email goes out at once.
			first := startKillableAt(t, dir, cfg, addr)
			br := newCookieBrowser(first.url)
			p, err := br.get(first.url + "/account")
			if err == nil {
				_, err = br.submitPassword(p, "alice", "correct horse battery")
			}
			if err == nil {
				_, err = br.enrolTOTP()
			}
			if err != nil {
				t.Fatal(err)
			}
			sink.WaitFor(t, "alice@example.com")
			first.stop(t)

			// The help desk removes it on a process that cannot send mail,
			// killed as soon as the removal is answered.
			second := startKillableAt(t, dir, cfg, addr, "STEPUP_SMTP_ADDR="+refused)
			admin := func(args ...string) (string, string, int) {
				return stepup(t, dir, "", append([]string{"admin", "--client-id", "bot", "--client-secret", "bot-secret-for-tests", "--config", cfg}, args...)...)
			}
			out, stderr, code := admin("methods", "list", "alice")
			id := regexp.MustCompile(`"id": "(totp:[^"]+)"`).FindStringSubmatch(out)
			if code != 0 || id == nil {
				t.Fatalf("methods list: exit %d %s %s", code, out, stderr)
			}
			if _, stderr, code := admin("methods", "remove", "alice", id[1]); code != 0 {
				t.Fatalf("methods remove: exit %d %s", code, stderr)
			}
			second.kill(t)
			if n := len(sink.Received()); n != 1 {
				t.Fatalf("%d mails before the restart, want only the first (method added)", n)
			}

			third := startKillableAt(t, dir, cfg, addr)
			testenv.Eventually(t, "the method-removed email after the restart", func() bool {
				got := sink.Received()
				return len(got) == 2 && got[1].Subject == "A verification method was removed from your account"
			})
			third.stop(t)

			store := openTestStore(t, backend, filepath.Join(dir, "stepup.db"), dsn)
			alice, err := store.GetUserByUsername(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			evs, err := store.ListEvents(t.Context(), storage.EventFilter{UserID: alice.ID, Type: "method.removed"})
			if err != nil || len(evs) != 1 || evs[0].Actor != "client:bot" {
				t.Fatalf("method.removed events after the kill and the restart: %+v, %v", evs, err)
			}
		})
	}
}
