// Package recovery is the recovery-codes method (SPEC §6; seed: Heroku): a
// set of count (10) single-use codes that the user generates on the
// account page, saves, and keeps for the day their phone is gone.
//
// Each code is 80 random bits from crypto/rand, written in Crockford's
// base32 (no I, L, O or U) as four groups of four for reading aloud
// ("7KQ4-M2XD-9RTA-WP3C"). Input ignores case, spaces and dashes, and reads
// O as 0 and I and L as 1.
//
// Enrol generates a set and shows it once (sdk.DisplayCodes), with a
// checkbox "I have saved them"; the set waits, hashed, in a pending record
// that expires after EnrolmentTTL. ConfirmEnrolment with the box ticked
// makes it the user's set: the one record set/{user} is replaced by
// compare-and-swap, so the old set is void at once. A user may generate a
// new set whenever they like; the host asks for a fresh second factor
// first, and the old set works until the new one is confirmed.
//
// Nothing stored holds a code: set/{user} keeps, for each code,
// HMAC-SHA-256 of the user ID and the normalised code under a random
// 32-byte key that lives in the method's storage (sealed by the host with a
// key outside the database), the hashes sorted in one byte string, a bitmap
// of the spent ones, and the set's ID and creation time. A check is one
// keyed hash, one binary search and a constant-time comparison of the
// hash found, whatever the number of codes. The spent mark is written with
// sdk.PutOnAccept at the record's version, so of concurrent verifications
// with one code, across replicas, exactly one wins. Failed verifications
// are limited per user (verify_limit in verify_window, failures only).
//
// Once the last code is spent the set lists no credential and Begin
// answers sdk.ErrNotEnrolled, so the host moves on to the user's other
// methods and the account page offers a new set. The account page's label
// says how many codes are left and warns from WarnAt (2) down (the
// credential's Warning). Each use is audited as recovery.used, and the
// host mails the user how many are left (usedNotice, as sdk.Result.Notice);
// after the last code it asks the user to generate a new set before the
// sign-in goes on (sdk.Result.Renew).
//
// The package reaches nothing of stepup but plugins/sdk; its main is
// cmd/stepup-recovery, and the stepup binary runs it as a built-in (see
// the registry in package plugins).
package recovery
