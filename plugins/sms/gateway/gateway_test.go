package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

var (
	sentAt = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	msg    = Message{To: "+447700900123", Body: "Your stepup verification code is 123456. Don't share it with anyone.\n\n@login.example.com #123456", SentAt: sentAt}
)

const secret = "a-webhook-secret-of-some-length"

func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name, setting, key string
	}{
		{"not a mapping", `{"kind":`, "gateway"},
		{"unknown kind", `{"kind":"pigeon"}`, "gateway.kind"},
		{"kind not text", `{"kind":5}`, "gateway.kind"},
		{"webhook without url", `{"kind":"webhook","secret":"` + secret + `"}`, "gateway.url"},
		{"webhook relative url", `{"kind":"webhook","url":"/send","secret":"` + secret + `"}`, "gateway.url"},
		{"webhook plain http", `{"kind":"webhook","url":"http://sms.example.com/send","secret":"` + secret + `"}`, "gateway.url"},
		{"webhook url with password", `{"kind":"webhook","url":"https://u:p@sms.example.com/send","secret":"` + secret + `"}`, "gateway.url"},
		{"webhook without secret", `{"kind":"webhook","url":"https://sms.example.com/send"}`, "gateway.secret"},
		{"webhook short secret", `{"kind":"webhook","url":"https://sms.example.com/send","secret":"hunter2"}`, "gateway.secret"},
		{"webhook bare timeout", `{"kind":"webhook","url":"https://sms.example.com/send","secret":"` + secret + `","timeout":5}`, "gateway.timeout"},
		{"webhook long timeout", `{"kind":"webhook","url":"https://sms.example.com/send","secret":"` + secret + `","timeout":"1m"}`, "gateway.timeout"},
		{"twilio without sid", `{"kind":"twilio","auth_token":"tok-9f3","from":"+15005550006"}`, "gateway.account_sid"},
		{"twilio bad sid", `{"kind":"twilio","account_sid":"AC/../x","auth_token":"tok-9f3","from":"+15005550006"}`, "gateway.account_sid"},
		{"twilio without token", `{"kind":"twilio","account_sid":"AC123","from":"+15005550006"}`, "gateway.auth_token"},
		{"twilio without from", `{"kind":"twilio","account_sid":"AC123","auth_token":"tok-9f3"}`, "gateway.from"},
		{"twilio plain http", `{"kind":"twilio","account_sid":"AC123","auth_token":"tok-9f3","from":"+15005550006","base_url":"http://api.example.com"}`, "gateway.base_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.setting, Options{})
			var se *sdk.SettingError
			if !errors.As(err, &se) || se.Key != tc.key {
				t.Fatalf("New(%s) = %v, want a SettingError for %s", tc.setting, err, tc.key)
			}
			if !errors.Is(err, sdk.ErrInvalidInput) || se.Msg == "" {
				t.Errorf("error %v: want ErrInvalidInput with a message", err)
			}
			for _, s := range []string{secret, "hunter2", "tok-9f3", "u:p"} {
				if strings.Contains(se.Error(), s) {
					t.Errorf("error %q quotes a secret", se.Error())
				}
			}
		})
	}
}

func TestNewAcceptsGoodSettings(t *testing.T) {
	for _, setting := range []string{
		"", "outbox", `{"kind":"outbox"}`, `{}`,
		`{"kind":"webhook","url":"https://sms.example.com/send","secret":"` + secret + `"}`,
		`{"kind":"webhook","url":"http://127.0.0.1:9000/send","secret":"` + secret + `","timeout":"2s"}`,
		`{"kind":"webhook","url":"http://localhost:9000/send","secret":"` + secret + `"}`,
		`{"kind":"webhook","url":"http://[::1]:9000/send","secret":"` + secret + `"}`,
		`{"kind":"twilio","account_sid":"AC123","auth_token":"tok-9f3","from":"+15005550006"}`,
		`{"kind":"twilio","account_sid":"AC123","auth_token":"tok-9f3","from":"Stepup","base_url":"http://127.0.0.1:1","unknown":"ignored"}`,
	} {
		if _, err := New(setting, Options{}); err != nil {
			t.Errorf("New(%s): %v", setting, err)
		}
	}
}

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	s, err := New(`{"kind":"outbox"}`, Options{OutboxDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the same instant twice: two files
		if err := s.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name() == entries[1].Name() {
		t.Fatalf("outbox holds %v, want two files", entries)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir mode %v, want 0700", st.Mode().Perm())
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sms.json") || !strings.HasPrefix(e.Name(), "20310314T150926.000000000Z-") {
			t.Errorf("file name %q, want <UTC time>-<random>.sms.json", e.Name())
		}
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		raw, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		want := `{"to":"+447700900123","body":"Your stepup verification code is 123456. Don't share it with anyone.\n\n@login.example.com #123456","sent_at":"2031-03-14T15:09:26Z"}`
		if string(raw) != want {
			t.Errorf("%s holds %s, want %s", e.Name(), raw, want)
		}
	}
	names, msgs, err := ReadOutbox(dir)
	if err != nil || len(names) != 2 || msgs[0].To != msg.To || msgs[1].Body != msg.Body {
		t.Errorf("ReadOutbox = %v, %v, %v", names, msgs, err)
	}
}

func TestOutboxWithoutDir(t *testing.T) {
	s, err := New("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), msg)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "stepup.outbox_dir") {
		t.Fatalf("Send without a dir: %v, want ErrFailed naming stepup.outbox_dir", err)
	}
}

func TestOutboxUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := New("", Options{OutboxDir: file})
	if err := s.Send(context.Background(), msg); !errors.Is(err, ErrFailed) {
		t.Fatalf("Send into a file: %v, want ErrFailed", err)
	}
}

// receiver is an HTTP server that records what it was sent and answers
// with status.
type receiver struct {
	mu     sync.Mutex
	status int
	answer string
	reqs   []received
	srv    *httptest.Server
}

type received struct {
	method, path, contentType, signature, user, pass string
	basic                                            bool
	body                                             []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		user, pass, basic := req.BasicAuth()
		r.mu.Lock()
		r.reqs = append(r.reqs, received{req.Method, req.URL.Path, req.Header.Get("Content-Type"), req.Header.Get(SignatureHeader), user, pass, basic, body})
		status, answer := r.status, r.answer
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(status int, answer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.answer = status, answer
}

func (r *receiver) last(t *testing.T) received {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return r.reqs[len(r.reqs)-1]
}

// hanging is a server that never answers until the test ends.
func hanging(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func wantFailed(t *testing.T, err error, contains string) {
	t.Helper()
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Send: %v, want ErrFailed", err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("error %q does not say %q", err, contains)
	}
	for _, s := range []string{msg.To, "447700900123", "123456", secret, "the-auth-token"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds %q", err, s)
		}
	}
}

func TestWebhook(t *testing.T) {
	r := newReceiver(t)
	s, err := New(`{"kind":"webhook","url":"`+r.srv.URL+`/hooks/sms?token=abc","secret":"`+secret+`"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := r.last(t)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(got.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); got.signature != want {
		t.Errorf("signature %q, want %q (HMAC-SHA-256 of the body)", got.signature, want)
	}
	if got.method != http.MethodPost || got.path != "/hooks/sms" || got.contentType != "application/json" {
		t.Errorf("request %s %s (%s), want POST /hooks/sms application/json", got.method, got.path, got.contentType)
	}
	var body map[string]string
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"to": msg.To, "body": msg.Body, "sent_at": "2031-03-14T15:09:26Z"}
	if len(body) != len(want) || body["to"] != want["to"] || body["body"] != want["body"] || body["sent_at"] != want["sent_at"] {
		t.Errorf("body %v, want %v", body, want)
	}

	for _, status := range []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusFound} {
		r.set(status, `{"error":"quoting `+msg.To+`"}`)
		err := s.Send(context.Background(), msg)
		wantFailed(t, err, http.StatusText(status))
		if strings.Contains(err.Error(), "token=abc") || strings.Contains(err.Error(), "/hooks") {
			t.Errorf("error %q shows the URL's path or query", err)
		}
	}
	r.set(http.StatusAccepted, "")
	if err := s.Send(context.Background(), msg); err != nil {
		t.Errorf("Send answered 202: %v", err)
	}
}

func TestWebhookSignatureIsOfTheExactBody(t *testing.T) {
	body := []byte(`{"to":"+447700900123"}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if got, want := Sign([]byte(secret), body), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if Sign([]byte(secret), append(body, ' ')) == Sign([]byte(secret), body) {
		t.Fatal("a changed body has the same signature")
	}
}

func TestWebhookTimeout(t *testing.T) {
	srv := hanging(t)
	s, err := New(`{"kind":"webhook","url":"`+srv.URL+`","secret":"`+secret+`","timeout":"150ms"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantFailed(t, s.Send(context.Background(), msg), "did not answer within 150ms")
}

func TestWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, _ := New(`{"kind":"webhook","url":"`+url+`","secret":"`+secret+`"}`, Options{})
	wantFailed(t, s.Send(context.Background(), msg), strings.TrimPrefix(url, "http://"))
}

func TestTwilio(t *testing.T) {
	r := newReceiver(t)
	r.set(http.StatusCreated, `{"sid":"SM123","status":"queued"}`)
	s, err := New(`{"kind":"twilio","account_sid":"AC0123abc","auth_token":"the-auth-token","from":"+15005550006","base_url":"`+r.srv.URL+`/"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := r.last(t)
	if got.method != http.MethodPost || got.path != "/2010-04-01/Accounts/AC0123abc/Messages.json" || got.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("request %s %s (%s), want POST /2010-04-01/Accounts/AC0123abc/Messages.json form-encoded", got.method, got.path, got.contentType)
	}
	if !got.basic || got.user != "AC0123abc" || got.pass != "the-auth-token" {
		t.Errorf("basic auth %v %q:%q, want the account SID and the auth token", got.basic, got.user, got.pass)
	}
	form, err := parseForm(got.body)
	if err != nil {
		t.Fatal(err)
	}
	if form["To"] != msg.To || form["From"] != "+15005550006" || form["Body"] != msg.Body || len(form) != 3 {
		t.Errorf("form %v, want To, From and Body", form)
	}

	r.set(http.StatusBadRequest, `{"code": 21211, "message": "The 'To' number `+msg.To+` is not a valid phone number.", "status": 400}`)
	wantFailed(t, s.Send(context.Background(), msg), "error code 21211")
	r.set(http.StatusUnauthorized, `{"code": 20003, "message": "Authenticate"}`)
	wantFailed(t, s.Send(context.Background(), msg), "401")
	r.set(http.StatusServiceUnavailable, `not json`)
	wantFailed(t, s.Send(context.Background(), msg), "503")
}

func TestTwilioTimeout(t *testing.T) {
	srv := hanging(t)
	s, err := New(`{"kind":"twilio","account_sid":"AC1","auth_token":"the-auth-token","from":"+15005550006","base_url":"`+srv.URL+`","timeout":"150ms"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantFailed(t, s.Send(context.Background(), msg), "did not answer within 150ms")
}

func TestDefaultTwilioBase(t *testing.T) {
	s, err := New(`{"kind":"twilio","account_sid":"AC1","auth_token":"tok-9f3","from":"+15005550006"}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*twilio).endpoint; got != "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json" {
		t.Errorf("endpoint %s", got)
	}
}

func parseForm(body []byte) (map[string]string, error) {
	req, err := http.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range req.PostForm {
		out[k] = strings.Join(v, ",")
	}
	return out, nil
}
