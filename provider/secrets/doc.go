// Package secrets holds the keys derived from keys.secret_file (the
// session cookie's, CSRF's, the data-at-rest key, the key of short codes'
// hashes and one key per method), with Seal and Open for data at rest.
//
// What must not live here: where a key is used. The file is read once, by
// the composition root, and the keys are handed down.
package secrets
