package web

// Messages of the account and enrolment pages.
const (
	MsgRemove         = "Remove"
	LegacyQRLabel     = "QR code to scan with your authenticator app"
	LegacyLinkLabel   = "Open in an authenticator app on this device"
	LegacySecretLabel = "Or enter this key by hand:"
)

// Messages of the help-desk (admin) page.
const (
	// MsgSetAside: a method the user holds is not offered beside %s
	// (sdk.Description.ExceptWith).
	MsgSetAside     = "Not offered while you have %s set up; the help desk can turn it on for you."
	MsgSectionDown  = "%s is not answering right now; try again in a moment."
	MsgNoSuchAction = "There is no such action. Go back to the help desk page."
	MsgDisconnected = "The method was disconnected."
)

// Messages of a sign-in continued in another browser.
const (
	MsgForeignRequest   = "This sign-in was started in another browser, or its cookie is gone. Go back to the application and start again from this browser."
	MsgRequestCompleted = "This sign-in is already complete. Go back to the application; if it did not sign you in, start again from there."
)

// Messages of a refused redirect.
const (
	TitleRedirectRefused = "Sign-in request refused"
	MsgRedirectRefused   = "The application asked to send you back to an address that is not registered for it, " +
		"character for character. Nothing was sent there. Go back to the application and try again; " +
		"if this keeps happening, tell its developers that the redirect_uri must match a registered one exactly, " +
		"appear once, and not be percent-encoded twice."
)

// Messages of the sign-in page.
const (
	MsgBadCredentials = "The username or password is incorrect."
	// MsgPasskeyRefused: a passkey sign-in that did not verify; it says no
	// more than a wrong password does.
	MsgPasskeyRefused = "That passkey was not accepted. Try again, or sign in with your username and password."
	MsgBusy           = "Too many people are signing in right now. Try again in a moment."
	MsgInactive       = "This account is deactivated. Ask your administrator to reactivate it."
	MsgExpired        = "This sign-in request has expired or is unknown. Go back to the application and start again."
	MsgMissingFields  = "Enter your username and password."
)

// Messages of the sign-out pages.
const (
	MsgLogoutClientFmt   = "%s asks to sign you out of stepup."
	MsgLogoutNoClient    = "A page asks to sign you out of stepup."
	MsgLogoutNotSignedIn = "You are not signed in to stepup."
	MsgBadLogoutFmt      = "stepup cannot sign you out this way, and you are still signed in. Contact the owner of the application that sent you here and tell them what stepup said: %s"
	MsgBadLogoutForm     = "This sign-out request cannot be read. Go back to the application and sign out again."
)

// Messages of a sign-in request the provider cannot accept.
const (
	MsgNoClient         = "The link that brought you here names no application (client_id is missing), so you cannot sign in with it. Contact the owner of the application that sent you here."
	MsgUnknownClientFmt = "stepup does not know the application that sent you here (client_id %q), so you cannot sign in to it. Contact the application's owner: it is not registered with this stepup, or it points at the wrong one."
	MsgBadAuthorizeFmt  = "The application that sent you here made a sign-in request stepup cannot accept. Contact the application's owner and tell them what stepup said: %s"
)

// Messages of the challenge pages.
const (
	MsgWrongResponse  = "That is not correct. Check it and try again."
	MsgMethodLocked   = "%s is locked after too many failed attempts until %s UTC."
	MsgRateLimited    = "Too many attempts. Try again after %s UTC."
	MsgTooManyTries   = "Too many attempts. Try again in a few minutes."
	MsgMethodDown     = "This method is not available right now. Try again in a moment, or use another method."
	MsgNotOffered     = "That method cannot be used for this sign-in. Choose one of the methods offered."
	MsgChallengeAgain = "That challenge has expired. A new one is ready: try again."
	MsgRenewFmt       = "You have used up your %s. Set up new ones now, so that you can still sign in next time."
	MsgRestrictedFmt  = "%s is a restricted authenticator (NIST SP 800-63B): messages can be intercepted or redirected to another phone."
	MsgStrongerMethod = "A stronger method is better:"
	MsgLockedGoOn     = "You can continue without this verification; the application decides what you may do then."
)

// Messages of the pages every flow shares.
const (
	TitleFormExpired = "Form expired"
	MsgFormExpired   = "This form has expired or was sent from another site. Go back, reload the page and try again."
	TitleSignedOut   = "Signed out"
	MsgSignedOut     = "You have been signed out. You can close this window."
)

// Titles and messages of the pages, by page.
const (
	TitleUnknownMethod        = "Unknown method"
	MsgNoMethodToAdd          = "There is no method called that to add. Go back to your account page."
	TitleStartAgain           = "Start again"
	MsgEnrolmentExpired       = "This setup has expired. Go back to your account page and add the method again."
	MsgNoSuchMethod           = "There is no such method on your account. Go back to your account page."
	TitleAlreadySetUp         = "Already set up"
	MsgAlreadySetUpFmt        = "%s is already set up. Remove it first to set it up again."
	TitleNotFound             = "Not found"
	MsgMethodGone             = "That method is no longer on your account. Go back to your account page."
	TitleTooManyAttempts      = "Too many attempts"
	TitleCheckInput           = "Check your input"
	TitleNotAvailable         = "Not available"
	TitleNoPermission         = "No permission"
	MsgNoAdminPermission      = "Your account cannot administer other users (it lacks manage_mfa)."
	TitleNoSuchAction         = "No such action"
	TitleCannotContinueSignIn = "Cannot continue this sign-in"
	TitleRequestExpired       = "Request expired"
	TitleServerError          = "Something went wrong"
	TitleUnavailable          = "Temporarily unavailable"
	MsgUnavailable            = "stepup cannot reach its database just now. Try again in a few seconds."
	MsgServerError            = "stepup could not complete this step. Try again in a moment; if it keeps happening, tell your administrator."
	TitleCannotContinue       = "Cannot continue"
	MsgNoSecondMethod         = "This page needs a second verification method, and none is available to you right now. Ask your administrator for help."
	TitleCannotSignOut        = "Cannot sign out"
	TitleCannotSignIn         = "Cannot sign in"
	TitleUnknownApplication   = "Unknown application"
	TitleAccount              = "Your account"
	TitleAddFmt               = "Add %s"
	TitleHelpDesk             = "Help desk"
	TitleSignIn               = "Sign in"
	TitleSignOutConfirm       = "Sign out of stepup?"
	TitleVerificationLocked   = "Verification locked"
	TitleRenew                = "Set up again"
	TitleVerify               = "Verify it's you"
)

// The preferred method on the account page.
const (
	// MsgPreferOnlyYours: a preferred method must be one the user has set up.
	MsgPreferOnlyYours = "You can prefer only a method you have set up. Set it up first on your account page."
	// MsgPreferredSet is the account page's notice once a method is preferred.
	MsgPreferredSet = "Your preferred method is saved: it is offered first among the methods your organisation ranks equally."
	// MsgRenamed is the account page's notice once a credential is renamed.
	MsgRenamed = "The new name is saved."
)
