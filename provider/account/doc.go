// Package account is the signed-in user's own page (/account): the
// methods they have and can add, adding one (a method's EnrolFields
// first, then whatever its enrolment displays, then its confirming
// response), removing one, and recent activity. A user who already has a
// method proves a second factor again (within reverifyWithin) before
// changing them; adding a method emails them (notify.MethodAdded).
//
// What must not live here: a method's name or logic (what differs comes
// from its sdk.Description), signing in (login, through browser.StartLogin),
// and the administrator's view of the same user (adminpage).
package account
