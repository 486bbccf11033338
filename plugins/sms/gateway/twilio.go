package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// twilio sends through the Twilio Messages REST API: a form-encoded POST
// of To, From and Body to {base_url}/2010-04-01/Accounts/{sid}/Messages.json
// with HTTP basic auth (account SID, auth token). Twilio answers 201
// Created; any 2xx is sent, anything else a failure (its error code, not
// its message, which may quote the number, goes into the error).
type twilio struct {
	endpoint string
	sid      string
	token    string
	from     string
	client   *http.Client
}

var sidPattern = regexp.MustCompile(`^[A-Za-z0-9]{2,64}$`)

func newTwilio(c *config, opts Options) (Sender, error) {
	sid := c.required("account_sid", "give the account SID (AC...) from the Twilio console")
	if c.err == nil && !sidPattern.MatchString(sid) {
		c.fail(settingErr("account_sid", "is not an account SID: use the AC... value from the Twilio console"))
	}
	token := c.required("auth_token", "give the auth token from the Twilio console")
	from := c.required("from", "give the sending number in E.164 (+15005550006) or an alphanumeric sender ID")
	base := c.str("base_url")
	if base == "" {
		base = DefaultTwilioBase
	}
	u := c.endpoint("base_url", base)
	timeout := c.timeout()
	if c.err != nil {
		return nil, c.err
	}
	endpoint := strings.TrimSuffix(u.String(), "/") + "/2010-04-01/Accounts/" + url.PathEscape(sid) + "/Messages.json"
	return &twilio{endpoint: endpoint, sid: sid, token: token, from: from, client: client(opts, timeout)}, nil
}

func (t *twilio) Send(ctx context.Context, m Message) error {
	form := url.Values{"To": {m.To}, "From": {t.from}, "Body": {m.Body}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: twilio: %v", ErrFailed, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.sid, t.token)
	return post(t.client, req, "twilio")
}
