package sdk

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// What a method declares beyond how it verifies: the actions it offers
// administrators, how the account page removes its credentials, and what
// its enrolment page shows. The host reads these and names no method:
// whatever a method needs on a page, in the admin API or in the audit log,
// it declares here.

// Verbs of AdminAction.Verb: the admin API's HTTP methods.
const (
	// VerbGet reads the resource: 200 with the results. It is also the
	// status the admin page shows in the resource's section.
	VerbGet = "GET"
	// VerbPost creates the resource: 201 with the results.
	VerbPost = "POST"
	// VerbDelete ends the resource: 204, no body.
	VerbDelete = "DELETE"
)

// Types of AdminParam.Type.
const (
	// ParamText is any text (the default).
	ParamText = "text"
	// ParamDuration is a Go duration such as "4h".
	ParamDuration = "duration"
)

// Types of AdminResult.Type.
const (
	// ResultText is text (the default).
	ResultText = "text"
	// ResultBool is "true" or "false": a JSON boolean in the admin API.
	ResultBool = "bool"
	// ResultTime is an RFC 3339 time; pages show it in UTC.
	ResultTime = "time"
	// ResultSummary is a sentence for the admin page ("A temporary code is
	// active until ..."): not in the admin API's answer, not audited.
	ResultSummary = "summary"
)

// AdminAction describes one of Description.AdminActions for the host to
// offer administrators who hold manage_mfa: in the admin API, as
// Verb /admin/v1/users/{username}/{Resource}; on the admin page, as a
// button with its Params as form fields; and to the offline break-glass
// command (BreakGlass). The host runs it with Admin on behalf of the
// administrator (AdminRequest.Actor) and answers with its Results.
//
// The host maps the method's errors: ErrInvalidInput is 400 with the
// InputError's message, ErrNotFound 404, ErrConflict 409 with the
// ConflictError's message, ErrRateLimited 429 with Retry-After; anything
// else is 503. An unknown user is 404 before the method is called.
type AdminAction struct {
	// Name is what Admin receives as AdminRequest.Action.
	Name string
	// Resource is what of the user's the action is about, as the admin
	// API's path segment ("temporary-code"): lower-case letters, digits
	// and dashes, and not "methods". The actions of one method on one
	// Resource form one section of the admin page.
	Resource string
	// Verb is the admin API's HTTP method: VerbGet, VerbPost or VerbDelete.
	// One action per Resource and Verb.
	Verb string
	// Label: for a VerbGet action, the heading of the resource's section
	// on the admin page ("Temporary code"); for the others, the button
	// that runs it ("Generate code"). A VerbPost or VerbDelete action
	// without a Label is offered in the admin API only.
	Label string
	// Params are the inputs the action takes, in order: the members of the
	// admin API's JSON body of a POST (strings; the host refuses others),
	// the query parameters of a GET or DELETE, the fields of the page's
	// form. The host passes only these to Admin.
	Params []AdminParam
	// Results are the keys of Admin's result map that the host shows, in
	// order; the others are dropped. An empty ResultText or ResultTime is
	// left out of the admin API's answer.
	Results []AdminResult
	// Event is the audit event type the host writes when the action
	// succeeded ("tempcode.issued"), with the params and the results that
	// are neither Secret nor ResultSummary as details. Empty: none.
	Event string
	// EventIf names a ResultBool of Results that must be "true" for Event
	// to be written (an expiry that found nothing to expire is no event).
	// Empty: always.
	EventIf string
	// RefusedEvent is the audit event type the host writes when the action
	// was refused, by the method or by the host (an unknown or inactive
	// user, oneself), with the params and the reason. Empty: none.
	RefusedEvent string
	// OfferedIf, on the admin page, names a ResultBool of the resource's
	// VerbGet action: the button shows while that is "true", or, written
	// "!name", while it is not. Empty: always.
	OfferedIf string
	// Done is the sentence the admin page shows once the action succeeded
	// when it has no Secret result to show ("The temporary code was
	// expired.").
	Done string
	// ActiveUserOnly: the host refuses the action for an inactive user
	// (409, "activate the account first") without calling the method.
	ActiveUserOnly bool
	// NotForSelf: the host refuses an administrator the action on their
	// own account (403): another administrator must do it. The break-glass
	// command is the exception.
	NotForSelf bool
	// BreakGlass: the offline command `stepup temp-code issue --user NAME
	// --ttl D` runs this action, on the configured database, for the only
	// administrator who is locked out: NotForSelf is waived, every other
	// rule holds, and its events carry break_glass=true. It must be a
	// VerbPost action; --ttl fills its ParamDuration, if any. The command
	// takes the first such action of the enabled methods, by name.
	BreakGlass bool
	// PatchField: the admin API's PATCH /admin/v1/users/{username} runs
	// this action when its JSON body has this boolean member: the
	// Resource's VerbPost action for true, its VerbDelete action for false
	// (so both declare the same PatchField), without params, and answers
	// with the user. Lower-case letters, digits and "_", none of the
	// members of the host's user (ReservedPatchFields). Empty: none.
	PatchField string
}

// ReservedPatchFields are the members of the admin API's user object: no
// AdminAction.PatchField may take these names.
var ReservedPatchFields = []string{"id", "username", "email", "phone", "active", "permissions", "created_at"}

// AdminParam is one input of an AdminAction.
type AdminParam struct {
	// Name is the JSON member and form field: lower-case letters, digits
	// and "_".
	Name string
	// Label names the field on the admin page ("Valid for").
	Label string
	// Type is ParamText (empty) or ParamDuration; the method checks the
	// value, the host only passes it on.
	Type string
	// Default is the value the admin page selects first and the
	// break-glass command takes when none is given.
	Default string
	// Choices are the values the admin page offers as a list; none: a text
	// input.
	Choices []string
}

// AdminResult is one key of the map an AdminAction's Admin returns.
type AdminResult struct {
	// Name is the key, and the admin API's JSON member.
	Name string
	// Label is how the admin page and the command line name the value
	// ("Temporary code", "Valid until").
	Label string
	// Type is ResultText (empty), ResultBool, ResultTime or ResultSummary.
	Type string
	// Secret: shown once, in the answer of the action that created it
	// (never a VerbGet's), and never audited or logged; the page says it
	// will not be shown again.
	Secret bool
}

// Removal says how the account page offers the user the removal of one of
// their own credentials (Remove). The zero value is a "Remove" button that
// asks for a fresh second factor first, audited as method.removed.
type Removal struct {
	// Label is the button ("Expire now"); empty: "Remove".
	Label string
	// Event is the audit event type written instead of method.removed
	// ("tempcode.expired").
	Event string
	// NoReverify: removing only gives something up (a temporary code the
	// help desk issued), so no fresh second factor is asked for first.
	NoReverify bool
}

// Kinds of Display.Kind.
const (
	// DisplayText is a paragraph: Value.
	DisplayText = "text"
	// DisplayImage is a PNG picture (a QR code); Label is its alternative
	// text.
	DisplayImage = "image"
	// DisplayLink is a link to Value, an https: or otpauth: URI, reading
	// Label.
	DisplayLink = "link"
	// DisplaySecret is a value to copy by hand (a key), after the words of
	// Label.
	DisplaySecret = "secret"
	// DisplayCodes is a list of codes to save (recovery codes), after the
	// words of Label.
	DisplayCodes = "codes"
)

// Display is one thing an enrolment page shows besides its form, in the
// order Enrolment.Displays gives them.
type Display struct {
	// Kind is one of DisplayText, DisplayImage, DisplayLink,
	// DisplaySecret, DisplayCodes.
	Kind string
	// Label: the alternative text of an image, the text of a link, the
	// words before a secret or a list of codes.
	Label string
	// Value: the text, the link's URI, the secret.
	Value string
	// Values are the codes of DisplayCodes.
	Values []string
	// PNG is the picture of DisplayImage.
	PNG []byte
}

var (
	resourcePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	paramPattern    = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// ReservedDetails are the audit-event details the host writes itself
// (why an action was refused, that the break-glass command ran it): no
// param or result of an AdminAction may take these names.
var ReservedDetails = []string{"reason", "break_glass"}

// CheckAdminActions returns the well-formed actions of d.Admin, and one
// error for each of the others, saying what is wrong. The host offers only
// the well-formed ones; the conformance kit fails on any error.
func CheckAdminActions(d Description) (valid []AdminAction, problems []error) {
	type slot struct{ resource, verb string }
	taken := map[slot]bool{}
	patched := map[string]string{} // patch field -> its resource
	gets := map[string]AdminAction{}
	for _, a := range d.Admin {
		if a.Verb == VerbGet {
			gets[a.Resource] = a
		}
	}
	for _, a := range d.Admin {
		err := checkAdminAction(d, a, gets[a.Resource])
		if err == nil && taken[slot{a.Resource, a.Verb}] {
			err = fmt.Errorf("a second %s action on %q", a.Verb, a.Resource)
		}
		if r, ok := patched[a.PatchField]; err == nil && a.PatchField != "" && ok && r != a.Resource {
			err = fmt.Errorf("patch field %q: already runs the actions on %q", a.PatchField, r)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("admin action %q: %w", a.Name, err))
			continue
		}
		taken[slot{a.Resource, a.Verb}] = true
		if a.PatchField != "" {
			patched[a.PatchField] = a.Resource
		}
		valid = append(valid, a)
	}
	return valid, problems
}

func checkAdminAction(d Description, a AdminAction, get AdminAction) error {
	switch {
	case a.Name == "" || !slices.Contains(d.AdminActions, a.Name):
		return errors.New("not one of AdminActions")
	case !resourcePattern.MatchString(a.Resource) || len(a.Resource) > 64 || a.Resource == "methods":
		return fmt.Errorf("resource %q: use lower-case letters, digits and dashes, not \"methods\"", a.Resource)
	case a.Verb != VerbGet && a.Verb != VerbPost && a.Verb != VerbDelete:
		return fmt.Errorf("verb %q: use GET, POST or DELETE", a.Verb)
	case a.BreakGlass && a.Verb != VerbPost:
		return errors.New("a break-glass action must be a POST")
	case a.PatchField != "" && a.Verb != VerbPost && a.Verb != VerbDelete:
		return fmt.Errorf("patch field %q: only a POST (true) or a DELETE (false) action can have one", a.PatchField)
	case a.PatchField != "" && (!paramPattern.MatchString(a.PatchField) || slices.Contains(ReservedPatchFields, a.PatchField)):
		return fmt.Errorf("patch field %q: use lower-case letters, digits and _, and none of %v", a.PatchField, ReservedPatchFields)
	}
	seen := map[string]bool{}
	for _, p := range a.Params {
		switch {
		case !paramPattern.MatchString(p.Name) || seen[p.Name]:
			return fmt.Errorf("param %q: use a unique name of lower-case letters, digits and _", p.Name)
		case slices.Contains(ReservedDetails, p.Name):
			return fmt.Errorf("param %q: the host's audit events use that name; choose another", p.Name)
		case p.Type != "" && p.Type != ParamText && p.Type != ParamDuration:
			return fmt.Errorf("param %q: type %q: use text or duration", p.Name, p.Type)
		case p.Default != "" && len(p.Choices) > 0 && !slices.Contains(p.Choices, p.Default):
			return fmt.Errorf("param %q: default %q is not one of its choices", p.Name, p.Default)
		}
		seen[p.Name] = true
	}
	types := map[string]string{}
	for _, r := range a.Results {
		switch {
		case r.Name == "" || types[r.Name] != "":
			return fmt.Errorf("result %q: give each result a unique name", r.Name)
		case slices.Contains(ReservedDetails, r.Name):
			return fmt.Errorf("result %q: the host's audit events use that name; choose another", r.Name)
		case r.Type != "" && r.Type != ResultText && r.Type != ResultBool && r.Type != ResultTime && r.Type != ResultSummary:
			return fmt.Errorf("result %q: type %q: use text, bool, time or summary", r.Name, r.Type)
		case r.Secret && a.Verb == VerbGet:
			return fmt.Errorf("result %q: a GET action shows no secret: a secret is shown once, by the action that creates it", r.Name)
		}
		types[r.Name] = r.Type
		if types[r.Name] == "" {
			types[r.Name] = ResultText
		}
	}
	if a.EventIf != "" && types[a.EventIf] != ResultBool {
		return fmt.Errorf("event_if %q is not a bool result of the action", a.EventIf)
	}
	if a.OfferedIf != "" {
		name := strings.TrimPrefix(a.OfferedIf, "!")
		if !slices.ContainsFunc(get.Results, func(r AdminResult) bool { return r.Name == name && r.Type == ResultBool }) {
			return fmt.Errorf("offered_if %q is not a bool result of the GET action on %q", a.OfferedIf, a.Resource)
		}
	}
	return nil
}

// What a browser ceremony needs from the page (WebAuthn): the host's pages
// carry these options to the one script stepup serves, which calls
// navigator.credentials and posts its JSON answer in the form's hidden
// fields (Field.Type FieldHidden), so the host's form handling stays one
// path. A method offers them by declaring them, never by its name.
const (
	// DisplayWebAuthnCreation is an enrolment Display whose Value is the
	// JSON of a WebAuthn credential creation ({"publicKey": {...}}, binary
	// members base64url): the page asks the browser to create a
	// credential with it when the form is submitted. Label is the sentence
	// for a browser that cannot.
	DisplayWebAuthnCreation = "webauthn-creation"
	// PublicWebAuthnRequest is the key of Challenge.Public whose value is
	// the JSON of a WebAuthn credential request ({"publicKey": {...}}):
	// the page asks the browser for an assertion with it when the form is
	// submitted (and, for a first-factor challenge, offers the user's
	// passkeys in the username field's autofill).
	PublicWebAuthnRequest = "webauthn-request"
	// FieldHidden is the Field.Type of a field the page does not show: the
	// page's script fills it (the ceremony's JSON answer, or the name of
	// the browser's error).
	FieldHidden = "hidden"
)
