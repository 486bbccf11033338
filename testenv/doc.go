// Package testenv runs a whole stepup provider for tests and integrators:
// a real HTTP server over a real store (SQLite in a temporary directory, or
// the machine's PostgreSQL), a settable clock, a browser that follows the
// login pages with a cookie jar, and an independent relying party built on
// github.com/coreos/go-oidc and golang.org/x/oauth2.
//
// The provider, its store, its method plugins and the relying party all
// run on the Env's Clock, which starts at the fixed ClockStart: a test
// moves time with Clock.Advance, never by sleeping, and no test depends on
// today's date. The few stamps zitadel takes from the wall clock are
// listed on Clock. For what happens in another goroutine or process (a
// plugin's restart, a mail sent in the background), tests wait with
// Eventually, or on a signal (Server.WaitNotifications, SMTPServer.WaitFor).
package testenv
