package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/stepup-mfa/stepup/provider/config"
)

// Message is one plain-text message to one recipient.
type Message struct {
	// To is the recipient's address, e.g. "alice@example.com" or
	// "Alice <alice@example.com>".
	To string
	// Subject is a single line.
	Subject string
	// Text is the plain-text body (UTF-8).
	Text string
}

// Sender delivers messages.
//
// Send returns nil once the message has been handed over (accepted by the
// mail server, or written to the outbox). It returns an error wrapping
// ErrInvalidMessage for a message that could never be sent (bad address,
// a line break in the subject), and another error when delivery failed
// and may succeed later. Senders are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by Send's error when the message itself is
// malformed; retrying it is pointless.
var ErrInvalidMessage = errors.New("notify: invalid message")

// New returns the Sender the configuration asks for: SMTP through
// cfg.SMTP when cfg.SMTP.Addr is set, otherwise an outbox in outbox.dir.
// Its error names the config key at fault. New does not contact the mail
// server: an unreachable server shows up as an error from Send.
func New(cfg config.Config, log *slog.Logger) (Sender, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.SMTP.Addr != "" {
		s, err := NewSMTP(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		log.Info("mail goes to SMTP server", "smtp_addr", cfg.SMTP.Addr)
		return s, nil
	}
	dir := cfg.Outbox.Dir
	log.Info("mail goes to the outbox (smtp.addr is empty)", "dir", dir)
	return NewOutbox(dir, log), nil
}

// validate checks what every sender needs before it touches the network
// or the disk.
func (m Message) validate() error {
	if strings.TrimSpace(m.To) == "" {
		return fmt.Errorf("%w: no recipient", ErrInvalidMessage)
	}
	if _, err := mail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("%w: recipient %q is not an email address", ErrInvalidMessage, m.To)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
	}
	return nil
}

// build renders m as a go-mail message from the given sender address.
func (m Message) build(from string, enc gomail.Encoding) (*gomail.Msg, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	msg := gomail.NewMsg(gomail.WithEncoding(enc), gomail.WithCharset(gomail.CharsetUTF8), gomail.WithNoDefaultUserAgent())
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("notify: sender %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, crlf(m.Text))
	return msg, nil
}

// crlf gives every line of a body the CRLF ending RFC 5322 asks for.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}
