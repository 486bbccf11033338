package web

import (
	"html/template"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Page is what every template gets.
type Page struct {
	Title     string
	CSRF      template.HTML // set by Render
	RequestID string
	Username  string
	Error     string // tied to the form's fields with aria-describedby
	Notice    string
	// FormTarget is the CSP source of where the page's form may end: the
	// client's redirect URI.
	FormTarget string
	// Upstream, on the login page, links to signing in at the upstream
	// identity provider beside the password form.
	Upstream string
	// UI and SignedIn are set by Render: the deployment's name, logo and
	// support text, and whether to offer a sign-out link.
	UI       UI
	SignedIn bool

	// Method pages.
	Method      string
	MethodLabel string
	Prompt      string
	Fields      []sdk.Field // a method's, as it declared them
	Others      []Link
	Locked      []string
	// TrustDays, when above zero, offers "don't ask again on this browser"
	// for that many days (trusted_browser).
	TrustDays int
	// Ceremony is the JSON of a WebAuthn request (a challenge's
	// sdk.PublicWebAuthnRequest) or, with CeremonyCreate, creation (an
	// enrolment's sdk.DisplayWebAuthnCreation): the page's form then runs
	// it with stepup's script, which its CSP allows, and only then.
	Ceremony       string
	CeremonyCreate bool
	// Passkey is a first-factor WebAuthn request on the sign-in page
	// (sdk.Description.FirstFactor): a "sign in with a passkey" form, and
	// passkeys offered in the username field's autofill.
	Passkey *Passkey

	Account Account
	Enrol   Enrol
	Admin   Admin
	Logout  Logout
}

// Passkey is the sign-in page's passwordless form: it posts the
// ceremony's answer for the first-factor challenge of Method.
type Passkey struct {
	Method, Label string
	Options       string // the JSON of sdk.PublicWebAuthnRequest
}

// Link is a named link ("use another method").
type Link struct{ Name, Label string }

// Field is a method's form field with the value the user entered.
type Field struct {
	sdk.Field
	Value string
}

// Display is an sdk.Display as the template shows it.
type Display struct {
	Kind          string
	Label, Text   string
	URL           template.URL // a link, once its scheme is known to be safe
	PNG           string       // base64
	Width, Height int
	Values        []string
}

// Account is the account page: the user's methods and recent events.
type Account struct {
	Methods []AccountMethod
	Events  []string
	// Trust: trusted browsers are enabled; TrustedBrowsers are the user's.
	Trust           bool
	TrustedBrowsers []TrustedBrowser
}

// TrustedBrowser is one of the user's trusted browsers as a page lists it.
type TrustedBrowser struct {
	ID, Name, Trusted, LastUsed, Expires string
	// Current: it is the browser showing the page.
	Current bool
}

// AccountMethod is one method on the account page.
type AccountMethod struct {
	Name, Label string
	Healthy     bool
	SelfService bool // the user adds it themselves (not a help-desk code)
	// RemoveLabel is the button that removes a credential ("Remove", or
	// what the method declares: sdk.Removal); empty: no button (a method
	// an administrator manages, sdk.Description.Managed).
	RemoveLabel string
	Credentials []Credential
	// CanPrefer: the user may choose it as their preferred method;
	// Preferred: they have.
	CanPrefer, Preferred bool
	// Renamable: each credential has a form that renames it.
	Renamable bool
	// SetAside says why the user is not offered the method although they
	// hold it (MsgSetAside); empty: it is offered.
	SetAside string
}

// Credential is one enrolled credential of a method, as a page lists it.
type Credential struct {
	Method, ID, Label, Added string
	// Warning is the method's alert about the credential (sdk.Credential.Warning).
	Warning string
	// Note is what kind of credential it is (sdk.Credential.Note), and
	// LastUsed when it last verified ("" for never or not kept).
	Note, LastUsed string
}

// Enrol is the enrolment page: with an ID, what Enrol returned and
// the form that confirms it; without, the form of the method's
// EnrolFields that starts it.
type Enrol struct {
	ID       string
	Displays []Display
	Start    []Field
	// Restricted is the sentence of a restricted authenticator's page
	// (sdk.Description.Restricted), and Stronger the methods it offers
	// instead.
	Restricted string
	Stronger   []Link
	// Codes: the displays hold codes to save, which the page offers as a
	// text file and a print view.
	Codes bool
	// Unnamed: the method names its credentials itself; no name is asked.
	Unnamed bool
}

// Admin is what the help-desk page shows.
type Admin struct {
	Query   string
	User    *storage.User
	Methods []Credential
	Events  []string
	// Sections are the methods' resources of the user (a temporary code),
	// each with its status and the actions it offers now.
	Sections []AdminSection
	// Shown is the answer of an action with a secret, shown once.
	Shown *AdminShown
	// Trust: trusted browsers are enabled; TrustedBrowsers are the user's.
	Trust           bool
	TrustedBrowsers []TrustedBrowser
}

// AdminSection is one resource a method declared admin actions on.
type AdminSection struct {
	Heading string
	Summary string
	Forms   []AdminForm
}

// AdminForm runs one action (POST /admin/{Method} with action=Action).
type AdminForm struct {
	Method, Action, Label string
	Params                []AdminParam
}

// AdminParam is one input of an action's form; ID is unique on the page.
type AdminParam struct {
	ID, Name, Label, Default string
	Choices                  []string
}

// AdminShown is what an action answered, its secret shown this once.
type AdminShown struct {
	Secrets []AdminValue
	Values  []AdminValue
	Notes   []string
}

// AdminValue is one labelled result; ID is unique on the page.
type AdminValue struct {
	ID, Label, Value string
}

// Logout is what the confirmation page shows and posts back.
type Logout struct {
	Message               string
	Client                string // a registered client's ID, or ""
	PostLogoutRedirectURI string // registered for Client, or ""
	State                 string
}
