// Package tempcode is the temporary verification code: a code of random
// digits that a help-desk administrator issues for a user who cannot reach
// their usual method, usable many times until it expires.
//
// Rules (SPEC §5 to §8): the expiry is chosen between min_ttl and max_ttl
// (1h and 24h by default); a user holds at most one code at a time (issuing
// another while one is live is a conflict: expire it first); at most
// per_hour codes (6) are issued per user in any rolling hour; the code only
// reaches aal2 (never aal3) and, while it is live, is offered before every
// other method (Description.Bypass). The administrator ("expire") or the
// user (Remove, "expire now" on the account page) can end it early; the
// user is then back on their former methods with nothing to re-enrol.
//
// The code is returned once, by the admin action "issue", and is never
// stored: the host's storage keeps HMAC-SHA-256 of the user ID and the code
// under a random 32-byte key that itself lives in the method's storage
// (sealed by the host with a key outside the database), with the issue
// time, the expiry and who issued it. Verification compares in constant
// time and writes nothing, so a code stays usable until it expires.
//
// Issuing is exact across replicas without locks: the issue first claims
// the user's slot with a compare-and-swap (of two concurrent issues exactly
// one gets it, the other is a conflict and counts nothing), then counts one
// event in the host's rolling-hour limiter (atomic across replicas), and
// only then stores the code over its claim. A refused issue (a conflict, or
// the hourly limit) therefore never uses up the hourly budget, and no
// seventh code is issued in an hour however many requests race. Time comes
// from Host.Now only.
//
// The host knows none of this by name: Describe declares it. The three
// admin actions are served at /admin/v1/users/{username}/temporary-code
// (POST issue, GET status, DELETE expire) and offered on the admin page
// (the ttl as a list of whole hours from min_ttl to max_ttl, 4h first
// where it fits); issue is also the break-glass action of `stepup
// temp-code issue`, refused for an inactive user and for oneself (but for
// break-glass). The audit events (tempcode.issued, tempcode.issue_refused,
// tempcode.expired, tempcode.used) and the account page's "Expire now",
// which asks for no fresh second factor, are declared too.
//
// The package reaches nothing of stepup but plugins/sdk; its main is
// cmd/stepup-tempcode, and the stepup binary runs it as a built-in (see
// the registry in package plugins).
package tempcode
