package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/stepup-mfa/stepup/provider/config"
)

// DefaultSMTPTimeout bounds connecting to the mail server and each SMTP
// command.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPOption adjusts NewSMTP.
type SMTPOption func(*smtpSettings)

type smtpSettings struct {
	tls         *tls.Config
	timeout     time.Duration
	implicitTLS bool // tests: implicit TLS on a port other than 465
}

// WithTLSConfig sets the TLS configuration used for STARTTLS and implicit
// TLS, e.g. to trust a private CA through RootCAs. The config is cloned;
// an empty ServerName becomes the host of smtp.addr, and MinVersion is at
// least TLS 1.2. Without this option the system roots verify the server.
func WithTLSConfig(c *tls.Config) SMTPOption {
	return func(s *smtpSettings) {
		if c != nil {
			s.tls = c.Clone()
		}
	}
}

// WithTimeout replaces DefaultSMTPTimeout. A value <= 0 is ignored.
func WithTimeout(d time.Duration) SMTPOption {
	return func(s *smtpSettings) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// NewSMTP returns a Sender that delivers through the SMTP server cfg.Addr
// ("host:port"), with cfg.From as the sender.
//
// Transport security:
//   - port 465: implicit TLS (RFC 8314), always;
//   - otherwise, with cfg.Username set: STARTTLS is mandatory. A server
//     that does not offer it, or whose certificate does not verify, gets
//     no credentials and no message: Send fails;
//   - otherwise: opportunistic STARTTLS. The connection is upgraded when
//     the server offers STARTTLS (and then the certificate must verify),
//     and stays in clear when it does not.
//
// With cfg.Username set, NewSMTP authenticates with the strongest
// mechanism the server offers (SCRAM, CRAM-MD5, PLAIN, LOGIN), always
// after TLS. Each Send opens its own connection. Errors name the config
// key (smtp.addr, smtp.from, smtp.password) at fault.
func NewSMTP(cfg config.SMTP, opts ...SMTPOption) (Sender, error) {
	set := smtpSettings{timeout: DefaultSMTPTimeout}
	for _, o := range opts {
		if o != nil {
			o(&set)
		}
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp.addr %q must be host:port, e.g. smtp.example.com:587", cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("smtp.addr %q: port must be a number from 1 to 65535", cfg.Addr)
	}
	if cfg.From == "" {
		return nil, errors.New("smtp.from is empty: set the sender address, e.g. stepup@example.com")
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("smtp.from %q is not an email address, e.g. \"Stepup <stepup@example.com>\"", cfg.From)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("smtp.password is set but smtp.username is empty: set both or neither")
	}

	tlsConf := set.tls
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = host
	}
	if tlsConf.MinVersion < tls.VersionTLS12 {
		tlsConf.MinVersion = tls.VersionTLS12
	}

	s := &smtpSender{addr: cfg.Addr, from: cfg.From}
	s.opts = []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(set.timeout),
		gomail.WithTLSConfig(tlsConf),
	}
	switch {
	case port == gomail.DefaultPortSSL || set.implicitTLS:
		s.opts = append(s.opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.TLSMandatory))
		s.note = " (implicit TLS)"
	case cfg.Username != "":
		s.opts = append(s.opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		s.note = " (STARTTLS required because smtp.username is set)"
	default:
		s.opts = append(s.opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if cfg.Username != "" {
		s.opts = append(s.opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password))
	}
	s.host = host
	s.timeout = set.timeout
	// Fail now, not at the first Send, if go-mail rejects the options.
	if _, err := gomail.NewClient(host, s.opts...); err != nil {
		return nil, fmt.Errorf("smtp.addr %q: %w", cfg.Addr, err)
	}
	return s, nil
}

type smtpSender struct {
	addr, host, from string
	note             string
	timeout          time.Duration
	opts             []gomail.Option
}

func (s *smtpSender) Send(ctx context.Context, m Message) error {
	msg, err := m.build(s.from, gomail.EncodingQP)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: not sent to %s: %w", m.To, err)
	}
	// A client per message: go-mail clients hold connection state, and
	// notifications are rare enough that a fresh connection costs nothing.
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("notify: smtp.addr %q: %w", s.addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("notify: sending mail to %s via smtp.addr %q%s: %w", m.To, s.addr, s.note, err)
	}
	return nil
}
