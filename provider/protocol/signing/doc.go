// Package signing holds stepup's signing keys and what it signs itself:
// the key ring (an ES256 and an RS256 key, their private halves sealed
// at rest, rotation with the retired keys published until the tokens they
// signed have expired, a short cache so that a token costs no query) and
// the RFC 9068 access tokens, which zitadel cannot type "at+jwt".
//
// What must not live here: which key a client gets (protocol.Client) and
// how zitadel is handed a minted token (protocol.TokenCrypto).
package signing
