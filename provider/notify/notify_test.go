package notify

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
)

func TestNewPicksSender(t *testing.T) {
	dataDir := t.TempDir()
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))

	var cfg config.Config
	cfg.Outbox.Dir = filepath.Join(dataDir, "outbox")
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ob, ok := s.(*outbox)
	if !ok {
		t.Fatalf("empty smtp.addr: got %T, want the outbox", s)
	}
	if want := filepath.Join(dataDir, "outbox"); ob.dir != want {
		t.Errorf("outbox dir = %q, want %q", ob.dir, want)
	}

	cfg.SMTP = config.SMTP{Addr: "smtp.example.com:587", From: "stepup@example.com", Username: "u", Password: "pw"}
	s, err = New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if ss, ok := s.(*smtpSender); !ok || ss.addr != cfg.SMTP.Addr {
		t.Fatalf("smtp.addr set: got %T %+v, want SMTP to %s", s, s, cfg.SMTP.Addr)
	}
	if strings.Contains(logBuf.String(), "pw") {
		t.Errorf("log shows the SMTP password:\n%s", logBuf.String())
	}

	cfg.SMTP = config.SMTP{Addr: "smtp.example.com:587"}
	if _, err := New(cfg, log); err == nil || !strings.Contains(err.Error(), "smtp.from") {
		t.Errorf("New without smtp.from = %v, want an error naming smtp.from", err)
	}
}

func TestMethodAdded(t *testing.T) {
	when := time.Date(2026, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name                     string
		userName, method, remote string
		want                     []string
		notWant                  []string
	}{
		{
			name: "ipv4 with port", userName: "Alice", method: "Security key \"YubiKey 5\"", remote: "203.0.113.7:51234",
			want: []string{"Hello Alice,", `What:  Security key "YubiKey 5"`, "When:  Saturday, 14 March 2026, 08:26:53 UTC", "From:  203.0.113.7\n"},
		},
		{
			name: "ipv6 with port", userName: "", method: "Authenticator app (TOTP)", remote: "[2001:db8::1]:443",
			want: []string{"Hello,\n", "From:  2001:db8::1\n"},
		},
		{
			name: "bare ip", method: "SMS to +41 79 *** ** 12", remote: "198.51.100.2",
			want: []string{"From:  198.51.100.2\n"},
		},
		{
			name: "unknown origin", method: "Recovery codes", remote: "",
			want: []string{"From:  unknown\n"},
		},
		{
			name: "control characters", userName: "Mallory\nBcc: x", method: "Key\r\n\r\nIf this wasn't you, do nothing.", remote: "10.0.0.1",
			want:    []string{"Hello Mallory Bcc: x,", "What:  Key    If this wasn't you, do nothing.\n"},
			notWant: []string{"\r", "\nIf this wasn't you, do nothing."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := MethodAdded(" alice@example.com ", tc.userName, tc.method, when, tc.remote)
			if m.To != "alice@example.com" || m.Subject != MethodAddedSubject {
				t.Errorf("To %q Subject %q", m.To, m.Subject)
			}
			if err := m.validate(); err != nil {
				t.Errorf("message does not validate: %v", err)
			}
			want := append([]string{
				"A verification method was added to your account.",
				"If this wasn't you, contact your administrator or help desk immediately",
			}, tc.want...)
			for _, w := range want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(m.Text, w) {
					t.Errorf("text contains %q:\n%s", w, m.Text)
				}
			}
		})
	}
}

func TestMethodAddedThroughOutbox(t *testing.T) {
	dir := t.TempDir()
	m := MethodAdded("alice@example.com", "Alice", "Authenticator app (TOTP)", time.Now(), "127.0.0.1:1234")
	if err := send(t, NewOutbox(dir, slog.New(slog.DiscardHandler)), m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadOutbox(dir)
	if err != nil || len(got) != 1 {
		t.Fatalf("ReadOutbox = %v, %v", got, err)
	}
	if got[0].Subject != MethodAddedSubject || strings.TrimRight(got[0].Text, "\n") != strings.TrimRight(m.Text, "\n") {
		t.Errorf("round trip: got %+v, want %+v", got[0], m)
	}
}
