package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	addr := freeAddr(t)
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
