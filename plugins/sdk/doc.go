// Package sdk is everything the author of a stepup verification-method
// plugin imports: the Method interface a plugin implements, the Host it is
// handed on every call (private storage, rate limits, the host's clock),
// the sentinel errors both sides compare with errors.Is, and Serve, which
// turns a Method into a go-plugin server speaking gRPC.
//
// A plugin's main is a few lines:
//
//	func main() { sdk.Serve(totp.New()) }
//
// A plugin never opens a database, never reads the wall clock for a
// security decision (it uses Host.Now), and never learns another method's
// data: its storage is a namespace the host chose, encrypted at rest by the
// host. The host decides which method runs; the plugin only answers the
// calls of the Method interface.
//
// Every storage call is a round trip to the host. The records most calls
// read, the user's own (an authenticator's account, say), can be declared
// in Description.UserRecords: the host then sends them with each call
// about that user and Get answers from them at once.
// Likewise a verify Limit that declares its Key is counted by the host
// just before Verify, and CheckLimit with that key answers at once (with
// Limit.FailuresOnly, a successful verification gives its attempt back); and
// the write that spends what a response used (a code's time step) can be
// left to the host with PutOnAccept, which makes it as it accepts the
// result. A TOTP verification then makes no round trip at all. In the same
// way the one write that is a call's change (a credential confirmed or
// removed, a code issued) is left to the host with PutOnCommit or
// DeleteOnCommit, which makes it in one transaction with the change's
// audit event and the user's email. A Begin that sends a code does the
// same: the host counts the message ahead under a begin Limit with a Key
// (SendBudget.Limit), and writes the code the Begin keeps (PutOnCommit)
// with the challenge and the code's sent event; an SMS challenge then
// makes no round trip either.
//
// A method's special behaviour is something it declares, never a name the
// host checks. Besides Limits and Bypass, Description says what the host's
// pages and admin API offer for it: the admin actions it serves at
// /admin/v1/users/{username}/{resource} and on the admin page, with their
// params, their results (one shown once) and the audit events they write
// (AdminAction); how the account page removes its credentials (Removal),
// and whether it renames them (Renamable, with the Method a Renamer;
// RenameOneCredential serves a method of one credential per user);
// the event of each use (UsedEvent); and the fields the enrolment page asks
// for before Enrol (EnrolFields). An Enrolment's Displays are what that
// page shows: a QR code, a link, a key to copy, codes to save. A host that
// predates these fields ignores them; a method that sends none gets the
// behaviour of before (a "Remove" button, no admin action, TOTP's Display
// and ImagePNG read as a QR code, a link and a key).
//
// What must not live here: anything of the provider (HTTP, sessions, the
// store), and the host's side of the protocol (plugins/host). ToStatus and
// FromStatus are exported for plugins/host, which shares the error codec;
// plugin authors do not need them.
package sdk
