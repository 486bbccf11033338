// Package totp is the authenticator-app method (RFC 6238: HMAC-SHA-1, six
// digits, 30-second steps, the previous and the next step accepted for
// clock skew), built on github.com/pquerna/otp.
//
// Enrolment shows an otpauth:// URI, the base32 key and a QR code, and is
// confirmed with a first code. Every accepted code (the confirming one
// included) moves the user's last used time step forward with
// compare-and-swap in the host's storage, so a code is accepted once and no
// code of an earlier step after it, across replicas. Time comes from
// Host.Now only.
//
// The package reaches nothing of stepup but plugins/sdk; its main is
// cmd/stepup-totp, and the stepup binary runs it as a built-in (see
// the registry in package plugins).
package totp
