// Package sms is the text-message method (seed: Salesforce SMS identity
// confirmation): a 6-digit code sent to the user's mobile number.
//
// Rules (SPEC §6, §7): the user enrols a number in E.164 (ParsePhone; a
// clear sentence with an example for anything else) by entering the code
// sent to it; a changed number is a new enrolment, which replaces the old
// one (one number per user). A code is valid for code_ttl (10 minutes),
// once; at most TriesPerCode (5) wrong codes are judged per user within
// code_ttl, whatever the number of codes sent meanwhile, so a new code
// does not bring new tries (the verify Limit, counted by the host ahead of
// each verification, successes given back). At most per_hour (5) messages
// go to a user in any rolling hour, the enrolment's included; the next is
// refused with MsgTooManyMessages. A message the gateway did not take is
// not counted (see Method.send for how, with a rate limiter that cannot
// give a count back) and is sdk.ErrUnavailable wrapping
// gateway.ErrFailed. The enrolment page says that NIST SP 800-63B counts
// SMS as a restricted authenticator and recommends a stronger method. An
// administrator removes the number (the admin action on "phone", audited
// as sms.removed); each use is audited as sms.used.
//
// The message names the product (sdk.SettingProductName), says not to
// share the code and ends with the origin-bound line "@HOST #CODE", HOST
// being the issuer's host name (sdk.SettingIssuer): browsers autofill the
// code on that origin only.
//
// Storage, in the host's namespace for the method (values sealed by the
// host; keys hold user IDs only, never a number or a code):
//
//	account/{user}      the confirmed number (E.164), its credential ID,
//	                    its label (the masked number), when it was set up
//	pending/{user}      an enrolment: the number, the code's hash, expiry
//	code/{user}         the last code sent for a challenge: its hash, the
//	                    credential it went to, expiry, whether it was used
//	send-failed/{user}  when sends failed within the hour (read only when
//	                    the hour is full)
//	hmac-key            the random key of the code hashes and challenge IDs
//
// A code is stored only as HMAC-SHA-256 under hmac-key of its purpose
// (challenge or enrolment), the user, its ID and the code, compared in
// constant time. Spending it is a compare-and-swap on code/{user} that the
// host makes as it accepts the verification (sdk.PutOnAccept): of
// concurrent verifications one wins. Rate-limiter keys: send/{user}
// (messages), verify/{user}, confirm/{user}; failed sends are kept in
// send-failed/{user} (at most FailuresPerSend×per_hour an hour are tried).
// Time comes from Host.Now only.
//
// Nothing the method returns or logs holds a full number or a code:
// pages, labels and the admin status show MaskPhone's "+•• ••• ••• ••23".
// Gateways live in package gateway.
//
// The package reaches nothing of stepup but plugins/sdk; its main is
// cmd/stepup-sms, and the stepup binary runs it as a built-in (see the
// registry in package plugins).
package sms
