package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// Message is one text message to send.
type Message struct {
	// To is the recipient in E.164 ("+447700900123").
	To string
	// Body is the text, as the phone shows it.
	Body string
	// SentAt is when the method sent it, on the host's clock.
	SentAt time.Time
}

// Sender delivers text messages.
type Sender interface {
	// Send delivers m once. An error wraps ErrFailed and is safe to log: it
	// holds neither m.To nor m.Body nor a secret of the setting. When it
	// comes back the message may still have gone out (a gateway that took
	// it and then timed out), but the gateway did not say so.
	Send(ctx context.Context, m Message) error
}

// ErrFailed is what every failed Send wraps: the gateway did not confirm
// that it took the message.
var ErrFailed = errors.New("sms gateway failed")

// Kinds of gateway, the setting's "kind".
const (
	KindOutbox  = "outbox"
	KindWebhook = "webhook"
	KindTwilio  = "twilio"
)

// Defaults of the setting.
const (
	DefaultTimeout = 3 * time.Second
	// MaxTimeout bounds timeout: the host gives a method's call 5 s
	// (plugins/host.DefaultCallTimeout), and a send must end, and be
	// given back, within it.
	MaxTimeout        = 4 * time.Second
	DefaultTwilioBase = "https://api.twilio.com"
	// MinSecretLen is how many characters a webhook secret has at least.
	MinSecretLen = 16
)

// Setting is the name of the method's setting New reads, as a
// SettingError's key begins.
const Setting = "gateway"

// Options are what New needs besides the setting: facts of the host.
type Options struct {
	// OutboxDir is where the outbox gateway writes (sdk.SettingOutboxDir).
	// Empty: the outbox cannot send, and says so on each Send.
	OutboxDir string
	// Transport carries the webhook's and Twilio's requests; nil: a clone
	// of http.DefaultTransport.
	Transport http.RoundTripper
}

// New returns the Sender that setting describes: the JSON of the YAML
// mapping methods.sms.gateway, or the bare kind ("outbox"); empty is the
// outbox. Members other than the kind's are ignored. A bad member is an
// *sdk.SettingError naming it ("gateway.url").
func New(setting string, opts Options) (Sender, error) {
	s := strings.TrimSpace(setting)
	if s == "" {
		s = KindOutbox
	}
	fields := map[string]any{}
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return nil, &sdk.SettingError{Key: Setting, Msg: "is not a mapping: write it as {kind: outbox}, {kind: webhook, url: ..., secret: ...} or {kind: twilio, ...}"}
		}
	} else {
		fields["kind"] = s
	}
	c := config{fields: fields}
	kind := c.str("kind")
	if c.err != nil {
		return nil, c.err
	}
	switch kind {
	case "", KindOutbox:
		return newOutbox(opts.OutboxDir), nil
	case KindWebhook:
		return newWebhook(&c, opts)
	case KindTwilio:
		return newTwilio(&c, opts)
	}
	return nil, sdk.InvalidSetting(Setting+".kind", kind, "use outbox, webhook or twilio")
}

// config reads the members of the setting, keeping the first error.
type config struct {
	fields map[string]any
	err    error
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func settingErr(key, msg string) error {
	return &sdk.SettingError{Key: Setting + "." + key, Msg: msg}
}

// str returns a member that must be a string if present.
func (c *config) str(key string) string {
	v, ok := c.fields[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.fail(&sdk.SettingError{Key: Setting + "." + key, Msg: "is not text: write it as a string"})
		return ""
	}
	return strings.TrimSpace(s)
}

// required returns a string member that must be there; secret ones are
// never quoted.
func (c *config) required(key, what string) string {
	s := c.str(key)
	if s == "" && c.err == nil {
		c.fail(&sdk.SettingError{Key: Setting + "." + key, Msg: "is missing: " + what})
	}
	return s
}

func (c *config) timeout() time.Duration {
	v, ok := c.fields["timeout"]
	if !ok || v == nil {
		return DefaultTimeout
	}
	s, isString := v.(string)
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if !isString || err != nil || d <= 0 || d > MaxTimeout {
		c.fail(sdk.InvalidSetting(Setting+".timeout", fmt.Sprint(v), fmt.Sprintf(`use a duration up to %s such as "3s"`, MaxTimeout)))
		return 0
	}
	return d
}

// endpoint parses a gateway URL: https, or http to this machine only.
func (c *config) endpoint(key, raw string) *url.URL {
	if c.err != nil {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		c.fail(&sdk.SettingError{Key: Setting + "." + key, Msg: "is not an absolute URL such as https://sms.example.com/send (without user or password in it)"})
		return nil
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	default:
		c.fail(&sdk.SettingError{Key: Setting + "." + key, Msg: fmt.Sprintf("uses %s to %s: use https (plain http only to 127.0.0.1 or localhost)", u.Scheme, u.Hostname())})
		return nil
	}
	return u
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// client is the HTTP client of the webhook and Twilio gateways: bounded by
// timeout, following no redirect (a gateway that moved is misconfigured,
// and a redirect would carry the message elsewhere).
func client(opts Options, timeout time.Duration) *http.Client {
	rt := opts.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post sends req and says, without its URL's path or query (which may
// hold a token), why it failed; nil for a 2xx answer.
func post(c *http.Client, req *http.Request, what string) error {
	resp, err := c.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%w: %s at %s did not answer within %s", ErrFailed, what, req.URL.Host, c.Timeout)
		case errors.Is(err, context.Canceled):
			return fmt.Errorf("%w: %s at %s: the call was cancelled", ErrFailed, what, req.URL.Host)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: %s at %s: %v", ErrFailed, what, req.URL.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return fmt.Errorf("%w: %s at %s answered %s%s", ErrFailed, what, req.URL.Host, resp.Status, errorCode(resp))
}

// errorCode reads the numeric code of a JSON error answer such as
// Twilio's {"code": 21211, "message": ...}; never its message, which may
// quote the number.
func errorCode(resp *http.Response) string {
	var body struct {
		Code json.Number `json:"code"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 64<<10))
	dec.UseNumber()
	if dec.Decode(&body) != nil || body.Code == "" {
		return ""
	}
	if _, err := body.Code.Int64(); err != nil {
		return ""
	}
	return " (error code " + body.Code.String() + ")"
}
