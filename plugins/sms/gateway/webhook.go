package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// SignatureHeader carries the webhook's signature: "sha256=" and the hex
// HMAC-SHA-256 of the exact request body under the configured secret.
const SignatureHeader = "X-Stepup-Signature"

// WebhookMessage is the JSON body the webhook receives.
type WebhookMessage struct {
	To     string `json:"to"`
	Body   string `json:"body"`
	SentAt string `json:"sent_at"` // RFC 3339
}

// webhook posts each message as JSON to a URL the deployment runs, signed
// so that the receiver can tell it came from stepup (and, by sent_at,
// refuse an old one played again). Any 2xx answer is sent; anything else,
// a timeout included, is a failure.
type webhook struct {
	url    *url.URL
	secret []byte
	client *http.Client
}

func newWebhook(c *config, opts Options) (Sender, error) {
	raw := c.required("url", "give the https URL that takes the messages")
	secret := c.required("secret", fmt.Sprintf("give a random secret of at least %d characters that the receiver checks the signature with", MinSecretLen))
	if c.err == nil && len(secret) < MinSecretLen {
		c.fail(settingErr("secret", fmt.Sprintf("is shorter than %d characters: use a longer random secret", MinSecretLen)))
	}
	u := c.endpoint("url", raw)
	timeout := c.timeout()
	if c.err != nil {
		return nil, c.err
	}
	return &webhook{url: u, secret: []byte(secret), client: client(opts, timeout)}, nil
}

// Sign returns the value of SignatureHeader for body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(WebhookMessage{To: m.To, Body: m.Body, SentAt: m.SentAt.UTC().Format(time.RFC3339)})
	if err != nil {
		return fmt.Errorf("%w: webhook: %v", ErrFailed, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: webhook: %v", ErrFailed, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.secret, body))
	return post(w.client, req, "webhook")
}
