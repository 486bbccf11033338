// Package web is how stepup's pages look and what they say: the HTML
// templates (embedded), the Page every template gets and the views of
// each page, rendering under stepup's Content Security Policy (no script,
// but stepup's own WebAuthn script on a page with a ceremony; a form ends
// at this origin or at the one client redirect URI the page names), the
// one script itself (static/webauthn.js), the headers every answer carries, the server-error and CSRF
// error pages, what a method's fields and displays look like on a page
// (sdk.Field, sdk.Display), and every user-facing message of the pages as
// a named constant (messages.go).
//
// What must not live here: deciding anything (who is signed in, what a
// step needs), the store, the protocol, and the JSON messages of the admin
// API (adminapi's). Every other package of the provider may import web;
// web imports none of them but storage (for the user a page shows), and
// plugins/sdk for what methods declare.
package web
