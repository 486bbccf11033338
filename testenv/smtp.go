package testenv

import (
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is a message the test SMTP server accepted.
type Mail struct {
	From, To, Subject, Body string
}

// SMTPServer is a real SMTP server on loopback (emersion/go-smtp) that
// keeps what it receives; point smtp.addr at Addr.
type SMTPServer struct {
	Addr string

	mu   sync.Mutex
	mail []Mail
	// arrived is closed, and replaced, when a message arrives.
	arrived chan struct{}
}

// StartSMTP starts an SMTP server for the test (plain, no authentication:
// stepup sends without credentials, so it needs no TLS).
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	s := &SMTPServer{arrived: make(chan struct{})}
	srv := smtp.NewServer(smtpBackend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { ln.Close(); srv.Close(); <-done })
	return s
}

// Received returns the messages so far.
func (s *SMTPServer) Received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

// WaitFor returns the first message to "to", waiting up to
// EventuallyTimeout for it to arrive.
func (s *SMTPServer) WaitFor(t testing.TB, to string) Mail {
	t.Helper()
	timeout := time.After(EventuallyTimeout)
	for {
		s.mu.Lock()
		for _, m := range s.mail {
			if strings.EqualFold(m.To, to) {
				s.mu.Unlock()
				return m
			}
		}
		arrived, n := s.arrived, len(s.mail)
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timeout:
			t.Fatalf("no mail to %s arrived in %v (got %d others)", to, EventuallyTimeout, n)
		}
	}
}

type smtpBackend struct{ s *SMTPServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: b.s}, nil }

type smtpSession struct {
	s        *SMTPServer
	from, to string
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { x.to = to; return nil }
func (x *smtpSession) Reset()                                      {}
func (x *smtpSession) Logout() error                               { return nil }

func (x *smtpSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(msg.Body)
	x.s.mu.Lock()
	x.s.mail = append(x.s.mail, Mail{From: x.from, To: x.to, Subject: msg.Header.Get("Subject"), Body: string(body)})
	close(x.s.arrived)
	x.s.arrived = make(chan struct{})
	x.s.mu.Unlock()
	return nil
}
