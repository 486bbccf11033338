// Package gateway delivers the SMS method's text messages: a Sender that
// takes a Message (the number in E.164, the text, when it was sent) and
// either writes it to the development outbox, posts it to a webhook the
// deployment runs, or hands it to the Twilio Messages API.
//
// New builds the Sender the setting methods.sms.gateway asks for (a YAML
// mapping, which reaches the method as JSON): {kind: outbox}, the
// default; {kind: webhook, url, secret, timeout}; or {kind: twilio,
// account_sid, auth_token, from, base_url, timeout}. A bad setting is an
// *sdk.SettingError whose key names the member ("gateway.url"), and never
// quotes a secret. Webhook and Twilio URLs must be https, but for
// 127.0.0.1, ::1 and localhost.
//
// Every failure of Send wraps ErrFailed and says what went wrong (a status
// code, a timeout, a refused connection) without the number, the text or
// any secret of the setting, so that it may be logged as it is. A message
// is sent once: nothing here retries, and no redirect is followed.
//
// What must not live here: anything of the SMS method itself (codes, the
// hourly limit, storage) and anything of stepup but plugins/sdk.
package gateway
