// Package webauthn is the security-key and passkey method (SPEC §4, §6):
// WebAuthn with github.com/go-webauthn/webauthn, as a stepup plugin.
//
// A user holds several named credentials. What a verification reaches
// comes from the flags of that ceremony, not from what was stored: a
// device-bound credential (not backup-eligible) reaches aal2 and aal3 with
// amr "hwk", a synced passkey (backup-eligible) aal2 at most with "swk";
// "user" is added when the authenticator verified the user. A discoverable
// passkey with user verification is both factors at once: the method
// declares sdk.Description.FirstFactor, so the login page can sign a user
// in with it before it knows who they are.
//
// Everything lives in the host's storage: one record per user (its
// credentials and its pending sign-in ceremonies, sent with every call,
// so a verification makes no round trip), the pending registration, and
// the pending first-factor ceremonies. Every ceremony is single use and
// expires by the host's clock; the write that spends one is made by the
// host as it accepts the result (sdk.PutOnAccept), compare-and-swap.
//
// What must not live here: anything of the provider (pages, sessions,
// levels as policy); the browser side is the script stepup serves.
package webauthn
