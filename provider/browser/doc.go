// Package browser is what stepup knows of a browser: its session (a
// signed cookie naming a server-side storage.Session, and the signed-in
// user it loads), the binding of a sign-in request to the browser that
// started it, and sending the browser to sign in for one of stepup's own
// pages.
//
// A sign-in request belongs to the browser that started it. Where a
// request is created, that browser gets a random cookie of its own, named
// after the request; the request keeps only the cookie's hash. Every step
// of the login (/login, /login/verify) needs the cookie, so a link to
// someone else's request (/login?id=R) is an error page in any other
// browser, however signed in it is: an attacker cannot have a victim's
// session complete a request whose code the attacker then redeems.
//
// A cookie per request, not one per browser, so that a request created by
// a cross-site POST (which carries no SameSite=Lax cookie) never re-keys
// the sign-ins of the browser's other tabs. The cookie lives as long as the
// request can and is deleted when the login ends. Over https its name
// has the __Host- prefix, so that no sibling subdomain can plant one.
//
// A trusted browser ("don't ask again on this browser", Trust) holds an
// opaque random cookie of its own, whose hash the store keeps with the
// user and the second factor that earned it; it stands for that factor,
// at its time and never above aal2, for trusted_browser.days.
//
// What must not live here: what a login does next (package login), pages
// (web), and anything a relying party sends (protocol).
package browser
