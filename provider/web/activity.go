package web

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// Activity writes an audit event as a sentence for the user it concerns
// ("Signed in with an authenticator app, from 127.0.0.1, 5 minutes ago"),
// never as an event name: what happened, from where, and how long before
// now. method names a method as the pages do (methods.Set.DisplayName).
func Activity(e storage.Event, now time.Time, method func(string) string) string {
	return activityWhat(e, method) + whereWhen(e, now)
}

// whereWhen is the end of an activity's sentence: from where, how long ago.
func whereWhen(e storage.Event, now time.Time) string {
	from := ""
	if e.RemoteAddr != "" {
		from = ", from " + e.RemoteAddr
	}
	return from + ", " + Ago(e.Time, now)
}

// HelpDeskActivity writes an event of user u as a sentence for the help
// desk: as Activity, of "their" account rather than "your", and by whom
// when someone else acted (an administrator, a client).
func HelpDeskActivity(e storage.Event, u storage.User, now time.Time, method func(string) string) string {
	what := strings.NewReplacer("Your ", "Their ", "your ", "their ").Replace(activityWhat(e, method))
	if e.Actor != "" && e.Actor != u.ID && e.Actor != u.Username {
		what += " (by " + e.Actor + ")"
	}
	if e.Outcome == "denied" {
		what += " (refused)"
	}
	return what + whereWhen(e, now)
}

func activityWhat(e storage.Event, method func(string) string) string {
	m := "a verification method"
	if name := e.Details["method"]; name != "" {
		m = withArticle(method(name))
	}
	client := ""
	if e.ClientID != "" {
		client = " to " + e.ClientID
	}
	switch e.Type {
	case "login.password.succeeded":
		return "Signed in with your password"
	case "login.password.failed":
		return "A sign-in failed: wrong password"
	case "login.password.locked", "lockout.started":
		return "Sign-in was locked for a while after too many wrong attempts"
	case "verification.succeeded":
		return "Signed in with " + m
	case "verification.failed":
		return "A sign-in with " + m + " failed"
	case "login.completed":
		if e.Details["acr"] != "" {
			return "Signed in" + client + " at level " + e.Details["acr"]
		}
		return "Signed in" + client
	case "login.refused", "login.request_refused":
		return "A sign-in" + client + " was refused"
	case "method.added":
		return "Added " + m
	case "method.removed":
		return "Removed " + m
	case "method.renamed":
		return "Renamed " + m
	case "method.add_failed":
		return "Adding " + m + " did not succeed"
	case "method.preferred":
		return "Chose " + m + " as your preferred method"
	case "admin.method.remove":
		return "The help desk disconnected " + m
	case "session.ended":
		return "Signed out"
	case "user.created", "admin.user.create":
		return "Your account was created"
	case "user.password_set":
		return "Your password was set"
	case "admin.user.update", "user.permission_granted":
		return "The help desk changed your account"
	case "token.revoked":
		return "An application's access was revoked"
	}
	// A method's own event ("recovery.used", "tempcode.issued"): its
	// method, then what happened.
	if name, what, ok := strings.Cut(e.Type, "."); ok && method(name) != name {
		return method(name) + ": " + strings.ReplaceAll(what, "_", " ")
	}
	return capitalize(strings.NewReplacer(".", " ", "_", " ").Replace(e.Type))
}

// Ago says how long before now t was, as a person would.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return "on " + t.UTC().Format("2 January 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// withArticle puts a method's display name in a sentence: "Authenticator
// app" is "an authenticator app", "SMS code" "an SMS code", "Recovery
// codes" "recovery codes".
func withArticle(name string) string {
	words := strings.Fields(name)
	if len(words) == 0 {
		return name
	}
	first, last := words[0], words[len(words)-1]
	acronym := len(first) > 1 && strings.ToUpper(first) == first
	if !acronym {
		name = strings.ToLower(name[:1]) + name[1:]
	}
	if strings.HasSuffix(last, "s") && !strings.HasSuffix(last, "ss") {
		return name // a plural takes no article
	}
	if acronym && strings.ContainsRune("AEFHILMNORSX", rune(first[0])) || !acronym && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

func capitalize(s string) string {
	for i, r := range s {
		return string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}
