package notify

import (
	"net"
	"strings"
	"time"
	"unicode"
)

// MethodAddedSubject is the subject of the MethodAdded message.
const MethodAddedSubject = "A verification method was added to your account"

// MethodAdded returns the message telling a user that a verification
// method was added to their account (SPEC §6), to be sent unless
// notify.method_added_email is false.
//
// to is the user's email address and userName how to greet them (may be
// empty). method is what was added as the user would name it, e.g.
// "Authenticator app (TOTP)" or "Security key \"YubiKey 5\"". when is the
// time it was added, shown in UTC. remoteAddr is where the request came
// from, an IP address or "ip:port" (the port is dropped); empty reads as
// "unknown". Control characters in the values are replaced by spaces, so
// a crafted name or key label cannot add lines to the text.
//
// The text says what was added, when and from where, and tells a user
// who did not do it to contact their administrator or help desk
// immediately. It carries no secret and no link.
func MethodAdded(to, userName, method string, when time.Time, remoteAddr string) Message {
	label := oneLine(method)
	if label == "" {
		label = "a verification method"
	}
	var b strings.Builder
	b.WriteString(greeting(userName) + "\n\n")
	b.WriteString("A verification method was added to your account.\n\n")
	b.WriteString("  What:  " + label + "\n")
	b.WriteString(whenAndFrom(when, remoteAddr))
	b.WriteString("If this was you, there is nothing more to do.\n\n")
	b.WriteString("If this wasn't you, contact your administrator or help desk immediately:\n")
	b.WriteString("someone else may be able to sign in to your account with this method.\n")
	return Message{To: strings.TrimSpace(to), Subject: MethodAddedSubject, Text: b.String()}
}

// greeting opens a message to userName (may be empty).
func greeting(userName string) string {
	if n := oneLine(userName); n != "" {
		return "Hello " + n + ","
	}
	return "Hello,"
}

// whenAndFrom are the lines that say when and from where, the port of
// remoteAddr dropped; an empty address reads as "unknown".
func whenAndFrom(when time.Time, remoteAddr string) string {
	from := oneLine(remoteAddr)
	if host, _, err := net.SplitHostPort(from); err == nil {
		from = host
	}
	if from == "" {
		from = "unknown"
	}
	return "  When:  " + when.UTC().Format("Monday, 2 January 2006, 15:04:05 UTC") + "\n" +
		"  From:  " + from + "\n\n"
}

// oneLine replaces control characters (line breaks included) by spaces
// and trims the result.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s))
}

// MethodUsed returns the message that tells a user what a method said of
// its use (sdk.Result.Notice: "A recovery code was used ...; 7 of your 10
// codes are left."), with when and from where, as MethodAdded does.
func MethodUsed(to, userName, method, notice string, when time.Time, remoteAddr string) Message {
	return event(to, userName, "Used to verify your identity: "+oneLine(method), oneLine(notice), when, remoteAddr)
}

// MethodRemoved returns the message that tells a user an administrator
// removed a verification method from their account (SPEC §6).
func MethodRemoved(to, userName, method string, when time.Time, remoteAddr string) Message {
	what := "An administrator removed a verification method from your account: " + oneLine(method) + "."
	return event(to, userName, "A verification method was removed from your account", what, when, remoteAddr)
}

// event is a message that says what happened, when and from where, and
// what to do if it was not the user.
func event(to, userName, subject, what string, when time.Time, remoteAddr string) Message {
	text := greeting(userName) + "\n\n" + what + "\n\n" + whenAndFrom(when, remoteAddr) +
		"If this wasn't you, contact your administrator or help desk immediately.\n"
	return Message{To: strings.TrimSpace(to), Subject: subject, Text: text}
}
