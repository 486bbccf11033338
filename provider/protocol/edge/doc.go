// Package edge is what stands in front of zitadel's endpoints: the
// guards that refuse what zitadel would let through (a redirect URI that
// is not the registered one byte for byte, a token request whose client
// did not authenticate), the interceptor that gives zitadel's text/plain
// errors the form their reader expects (JSON for a relying party, a page
// for a person), and CORS for the JSON endpoints only.
//
// What must not live here: zitadel's storage (package protocol) and the
// pages (web): a page is written through Pages.
package edge
