package notify

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	ob := NewOutbox(dir, log)

	first := Message{To: "alice@example.com", Subject: "Your code", Text: "Your verification code is 493817.\nIt expires in 10 minutes.\n"}
	second := Message{To: "Bob <bob@example.com>", Subject: "Grüße — ünïcode", Text: "Zweite Nachricht: ß\n"}
	for _, m := range []Message{first, second} {
		if err := send(t, ob, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("outbox dir mode = %o, want 700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d entries, want 2 (no temporary files left)", len(entries))
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unexpected file %q", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %o, want 600", e.Name(), perm)
		}
	}

	// The file is a mail message as sent: headers, blank line, body.
	raw, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(raw, []byte("\n")) != bytes.Count(raw, []byte("\r\n")) {
		t.Errorf("file has bare LF line endings:\n%q", raw)
	}
	p := parse(t, raw)
	if p.From != `"stepup" <stepup@localhost>` || p.To != "<alice@example.com>" || p.Subject != first.Subject {
		t.Errorf("headers: From %q To %q Subject %q", p.From, p.To, p.Subject)
	}
	if p.Body != first.Text && p.Body != strings.TrimRight(first.Text, "\n") {
		t.Errorf("body = %q, want %q", p.Body, first.Text)
	}
	for _, h := range []string{"Date", "Message-Id", "Mime-Version", "Content-Type"} {
		if p.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}

	got, err := ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{first, {To: "bob@example.com", Subject: second.Subject, Text: second.Text}}
	if len(got) != len(want) {
		t.Fatalf("ReadOutbox: %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		got[i].Text = strings.TrimRight(got[i].Text, "\n") + "\n"
		if got[i] != want[i] {
			t.Errorf("ReadOutbox[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	// One log line per message, with recipient and subject, never the body.
	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log has %d lines, want 2:\n%s", len(lines), logBuf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "message written to outbox" || rec["to"] != first.To || rec["subject"] != first.Subject {
		t.Errorf("log line = %s", lines[0])
	}
	if strings.Contains(logBuf.String(), "493817") || strings.Contains(logBuf.String(), "Zweite") {
		t.Errorf("log shows a message body:\n%s", logBuf.String())
	}
}

func TestOutboxFileModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "outbox")
	if err := send(t, NewOutbox(dir, slog.New(slog.DiscardHandler)), testMessage); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("ReadDir: %v, %d entries", err, len(entries))
	}
	info, _ := entries[0].Info()
	st, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o600 || st.Mode().Perm() != 0o700 {
		t.Errorf("with umask 0: file %o, dir %o; want 600, 700", info.Mode().Perm(), st.Mode().Perm())
	}
}

func TestOutboxInvalidMessageWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	err := send(t, NewOutbox(dir, slog.New(slog.DiscardHandler)), Message{To: "x", Subject: "s"})
	if err == nil {
		t.Fatal("Send accepted an invalid recipient")
	}
	if msgs, err := ReadOutbox(dir); err != nil || len(msgs) != 0 {
		t.Errorf("ReadOutbox = %v, %v; want nothing", msgs, err)
	}
}

func TestReadOutboxMissingDir(t *testing.T) {
	msgs, err := ReadOutbox(filepath.Join(t.TempDir(), "nope"))
	if err != nil || msgs != nil {
		t.Errorf("ReadOutbox(missing) = %v, %v; want nil, nil", msgs, err)
	}
}
