package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/stepup-mfa/stepup/provider/config"
)

// testCert returns a self-signed certificate for 127.0.0.1 and localhost,
// as a server config and as a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stepup test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// received is one message as the test server saw it.
type received struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool
	Authed string // the username that authenticated, if any
}

// backend is an in-memory SMTP server backend that keeps every message.
type backend struct {
	user, pass string // non-empty: offer AUTH PLAIN and require it

	mu       sync.Mutex
	msgs     []received
	authTLS  []bool // TLS state at each AUTH attempt
	authFail int
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{b: b, tls: isTLS}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

func (b *backend) authAttempts() []bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bool(nil), b.authTLS...)
}

type session struct {
	b      *backend
	tls    bool
	authed string
	cur    received
}

func (s *session) AuthMechanisms() []string {
	if s.b.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.b.mu.Lock()
	s.b.authTLS = append(s.b.authTLS, s.tls)
	s.b.mu.Unlock()
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			s.b.mu.Lock()
			s.b.authFail++
			s.b.mu.Unlock()
			return errors.New("invalid credentials")
		}
		s.authed = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && s.authed == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from, TLS: s.tls, Authed: s.authed}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

type serverOpts struct {
	tls               *tls.Config // offer STARTTLS with this
	implicitTLS       bool        // serve TLS from the first byte instead
	allowInsecureAuth bool
}

// startServer runs a real SMTP server on 127.0.0.1 and returns its address.
func startServer(t *testing.T, be *backend, o serverOpts) string {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.AllowInsecureAuth = o.allowInsecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicitTLS {
		l = tls.NewListener(l, o.tls)
	} else {
		srv.TLSConfig = o.tls
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		// Close the listener too: when no client ever connected, Close may
		// run before Serve has taken the listener, and Serve would block.
		_ = l.Close()
		_ = srv.Close()
		<-done
	})
	return l.Addr().String()
}

// parsed is a received message's content, decoded.
type parsed struct {
	From, To, Subject, Body string
	Header                  mail.Header
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return parsed{
		From:    m.Header.Get("From"),
		To:      m.Header.Get("To"),
		Subject: subject,
		Body:    strings.ReplaceAll(string(b), "\r\n", "\n"),
		Header:  m.Header,
	}
}

var testMessage = Message{
	To:      "alice@example.com",
	Subject: "A verification method was added to your account",
	Text:    "Hello Alice,\n\nA security key was added = test.\nLine with trailing = sign and a long line that goes past the seventy-six characters quoted-printable allows.\n",
}

func checkDelivered(t *testing.T, be *backend, want Message, wantTLS bool, wantAuthed string) {
	t.Helper()
	msgs := be.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	r := msgs[0]
	if r.From != "stepup@example.com" {
		t.Errorf("MAIL FROM = %q, want stepup@example.com", r.From)
	}
	if len(r.To) != 1 || r.To[0] != want.To {
		t.Errorf("RCPT TO = %q, want [%s]", r.To, want.To)
	}
	if r.TLS != wantTLS {
		t.Errorf("delivered over TLS = %v, want %v", r.TLS, wantTLS)
	}
	if r.Authed != wantAuthed {
		t.Errorf("authenticated as %q, want %q", r.Authed, wantAuthed)
	}
	p := parse(t, r.Data)
	if p.From != `"Stepup" <stepup@example.com>` {
		t.Errorf("From header = %q", p.From)
	}
	if p.To != "<"+want.To+">" {
		t.Errorf("To header = %q", p.To)
	}
	if p.Subject != want.Subject {
		t.Errorf("Subject = %q, want %q", p.Subject, want.Subject)
	}
	if strings.TrimRight(p.Body, "\n") != strings.TrimRight(want.Text, "\n") {
		t.Errorf("body = %q, want %q", p.Body, want.Text)
	}
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type = %q", p.Header.Get("Content-Type"))
	}
	for _, h := range []string{"Date", "Message-Id"} {
		if p.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}

func smtpConfig(addr string) config.SMTP {
	return config.SMTP{Addr: addr, From: "Stepup <stepup@example.com>"}
}

func send(t *testing.T, s Sender, m Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return s.Send(ctx, m)
}

func TestSMTPOpportunisticSTARTTLS(t *testing.T) {
	serverTLS, roots := testCert(t)
	be := &backend{}
	addr := startServer(t, be, serverOpts{tls: serverTLS})

	s, err := NewSMTP(smtpConfig(addr), WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, s, testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, testMessage, true, "")
}

func TestSMTPOpportunisticWithoutSTARTTLSSendsInClear(t *testing.T) {
	be := &backend{}
	addr := startServer(t, be, serverOpts{})

	s, err := NewSMTP(smtpConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, s, testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, testMessage, false, "")
}

func TestSMTPAuthPlainOverSTARTTLS(t *testing.T) {
	serverTLS, roots := testCert(t)
	be := &backend{user: "mailer", pass: "s3cret"}
	addr := startServer(t, be, serverOpts{tls: serverTLS})

	cfg := smtpConfig(addr)
	cfg.Username, cfg.Password = "mailer", "s3cret"
	s, err := NewSMTP(cfg, WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, s, testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, testMessage, true, "mailer")
	if got := be.authAttempts(); len(got) != 1 || !got[0] {
		t.Errorf("AUTH attempts (TLS state each) = %v, want one over TLS", got)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	serverTLS, roots := testCert(t)
	be := &backend{user: "mailer", pass: "s3cret"}
	addr := startServer(t, be, serverOpts{tls: serverTLS})

	cfg := smtpConfig(addr)
	cfg.Username, cfg.Password = "mailer", "wrong"
	s, err := NewSMTP(cfg, WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, s, testMessage)
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	if !strings.Contains(err.Error(), "smtp.addr") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("error = %q: want smtp.addr named and no password", err)
	}
	if n := len(be.messages()); n != 0 {
		t.Errorf("server got %d messages", n)
	}
}

func TestSMTPRefusesCredentialsWithoutTLS(t *testing.T) {
	// The server would accept AUTH PLAIN in clear; the client must not offer it.
	be := &backend{user: "mailer", pass: "s3cret"}
	addr := startServer(t, be, serverOpts{allowInsecureAuth: true})

	cfg := smtpConfig(addr)
	cfg.Username, cfg.Password = "mailer", "s3cret"
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, s, testMessage)
	if err == nil {
		t.Fatal("Send succeeded without TLS while a username is set")
	}
	for _, want := range []string{"smtp.addr", addr, "STARTTLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := be.authAttempts(); len(got) != 0 {
		t.Errorf("client attempted AUTH %d times without TLS", len(got))
	}
	if n := len(be.messages()); n != 0 {
		t.Errorf("server got %d messages", n)
	}
}

func TestSMTPUntrustedCertificateFails(t *testing.T) {
	serverTLS, _ := testCert(t)
	be := &backend{}
	addr := startServer(t, be, serverOpts{tls: serverTLS})

	s, err := NewSMTP(smtpConfig(addr)) // system roots: the test cert is unknown
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, s, testMessage)
	if err == nil {
		t.Fatal("Send succeeded over STARTTLS with an untrusted certificate")
	}
	if !strings.Contains(err.Error(), "smtp.addr") {
		t.Errorf("error %q does not name smtp.addr", err)
	}
	if n := len(be.messages()); n != 0 {
		t.Errorf("server got %d messages", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, roots := testCert(t)
	be := &backend{user: "mailer", pass: "s3cret"}
	addr := startServer(t, be, serverOpts{tls: serverTLS, implicitTLS: true})

	cfg := smtpConfig(addr)
	cfg.Username, cfg.Password = "mailer", "s3cret"
	// Port 465 selects implicit TLS; the test server has a random port.
	forceImplicit := func(s *smtpSettings) { s.implicitTLS = true }
	s, err := NewSMTP(cfg, WithTLSConfig(&tls.Config{RootCAs: roots}), forceImplicit)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, s, testMessage); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, testMessage, true, "mailer")
}

func TestSMTPPort465IsImplicitTLS(t *testing.T) {
	s, err := NewSMTP(config.SMTP{Addr: "smtp.example.com:465", From: "stepup@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if note := s.(*smtpSender).note; !strings.Contains(note, "implicit TLS") {
		t.Errorf("port 465: note = %q, want implicit TLS", note)
	}
}

func TestSMTPUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	s, err := NewSMTP(smtpConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, s, testMessage)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("smtp.addr %q", addr)) {
		t.Fatalf("error = %v, want one naming smtp.addr %q", err, addr)
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	serverTLS, roots := testCert(t)
	be := &backend{}
	addr := startServer(t, be, serverOpts{tls: serverTLS})
	s, err := NewSMTP(smtpConfig(addr), WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := testMessage
			m.To = fmt.Sprintf("user%d@example.com", i)
			errs <- send(t, s, m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(be.messages()); got != n {
		t.Errorf("server got %d messages, want %d", got, n)
	}
}

func TestSMTPInvalidMessage(t *testing.T) {
	be := &backend{}
	addr := startServer(t, be, serverOpts{})
	s, err := NewSMTP(smtpConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]Message{
		"no recipient":        {Subject: "s", Text: "t"},
		"bad recipient":       {To: "not an address", Subject: "s", Text: "t"},
		"two recipients":      {To: "a@example.com, b@example.com", Subject: "s", Text: "t"},
		"header in subject":   {To: "a@example.com", Subject: "hi\r\nBcc: eve@example.com", Text: "t"},
		"header in recipient": {To: "a@example.com\r\nBcc: eve@example.com", Subject: "s", Text: "t"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := send(t, s, m); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("Send = %v, want ErrInvalidMessage", err)
			}
		})
	}
	if n := len(be.messages()); n != 0 {
		t.Errorf("server got %d messages", n)
	}
}

func TestNewSMTPConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config.SMTP
		key  string
	}{
		{"no port", config.SMTP{Addr: "mail", From: "a@example.com"}, "smtp.addr"},
		{"no host", config.SMTP{Addr: ":25", From: "a@example.com"}, "smtp.addr"},
		{"bad port", config.SMTP{Addr: "mail:smtp", From: "a@example.com"}, "smtp.addr"},
		{"port out of range", config.SMTP{Addr: "mail:70000", From: "a@example.com"}, "smtp.addr"},
		{"no from", config.SMTP{Addr: "mail:25"}, "smtp.from"},
		{"bad from", config.SMTP{Addr: "mail:25", From: "not an address"}, "smtp.from"},
		{"password without username", config.SMTP{Addr: "mail:25", From: "a@example.com", Password: "pw"}, "smtp.password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSMTP(tc.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.key) {
				t.Errorf("NewSMTP(%+v) = %v, want an error starting with %s", tc.cfg, err, tc.key)
			}
			if err != nil && tc.cfg.Password != "" && strings.Contains(err.Error(), tc.cfg.Password) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
