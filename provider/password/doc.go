// Package password hashes and verifies user passwords with argon2id
// (RFC 9106) and stores them as PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in standard base64 without padding, as the reference
// implementation writes them. The parameters travel inside the string, so
// a password hashed under old settings still verifies after the settings
// change; NeedsRehash tells the caller when to store a fresh hash after a
// successful login.
//
// Hasher.VerifyDummy lets a login handler spend the same work on an unknown
// user as on a wrong password, so response times do not reveal who has an
// account.
//
// This package knows nothing of users, storage or HTTP; it must stay a leaf
// that only turns passwords into strings and back.
package password
