// Package email is the email method (seed: Salesforce email identity
// confirmation): a 6-digit code the host emails to the user's address.
//
// Who is offered it (SPEC §6): only users an administrator allowed, one
// by one (the admin actions on "email-codes", also the member
// "email_codes" of the admin API's PATCH of the user), or every user when
// for_everyone is set; users cannot turn it on themselves (Managed: the
// account page offers neither Add nor Remove). A user who has set up text
// messages (ExceptWith "sms") is offered email codes only when allowed in
// particular: the credential of an allowed user is Explicit, that of
// for_everyone is not, and the host applies the rule. Turning it off for
// a user voids the code sent.
//
// Rules (SPEC §6, §7): a code is valid for code_ttl (10 minutes), once;
// at most TriesPerCode (5) wrong codes are judged per user within
// code_ttl, whatever the number of codes sent meanwhile, so a new code
// does not bring new tries (the verify Limit, counted by the host ahead of
// each verification, successes given back). At most MessagesPerHour (5)
// messages go to a user in any rolling hour; the next is refused with
// MsgTooManyF. A message the host could not send is not counted (see
// Method.send for how, with a rate limiter that cannot give a count back)
// and is an *sdk.UnavailableError saying MsgNotSent, so that the page
// offers the other methods. Each use is audited as email.used, each
// change of who is allowed as email.enabled and email.disabled, and an
// administrator refused allowing their own account as
// email.enable_refused. amr is "otp".
//
// The method reaches max_level: aal2 by default. NIST SP 800-63B-4 does
// not count email as an authenticator; with max_level aal1 the method
// declares only aal1, so it is never offered for a step-up and a session
// stays at aal1 with it.
//
// The message goes through the host (sdk.SendMail) to the address in the
// host's record of the user: the method never names an address, and
// shows only a masked one (MaskAddress). Its subject carries no code;
// its text names the product (sdk.SettingProductName), gives the code and
// its validity, and says not to share it.
//
// Storage, in the host's namespace for the method (values sealed by the
// host; keys hold user IDs only, never an address or a code):
//
//	enabled/{user}      an administrator allowed the user: when, by whom
//	code/{user}         the last code sent: its hash, ID, expiry, whether
//	                    it was used
//	send-failed/{user}  when sends failed within the hour (read only when
//	                    the hour is full)
//	hmac-key            the random key of the code hashes and challenge IDs
//
// A code is stored only as HMAC-SHA-256 under hmac-key of the user, its ID
// and the code, compared in constant time. Spending it is a
// compare-and-swap on code/{user} that the host makes as it accepts the
// verification (sdk.PutOnAccept): of concurrent verifications one wins.
// Rate-limiter keys: send/{user} (messages), send-attempt/{user} (tries to
// send, failed ones included, at most AttemptsPerHour), verify/{user}.
// Time comes from Host.Now only.
//
// The package reaches nothing of stepup but plugins/sdk; its main is
// cmd/stepup-email, and the stepup binary runs it as a built-in (see the
// registry in package plugins).
package email
