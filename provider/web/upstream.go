package web

// The words of signing in through the upstream identity provider (SPEC
// §11). Each says what happened and what to do; none repeats what the
// upstream or the token said, which go to the log.
const (
	TitleUpstreamFailed         = "Cannot sign in with your organisation's account"
	MsgUpstreamUnreachable      = "stepup cannot reach your organisation's identity provider just now. Try again in a few minutes; if it keeps happening, tell your administrator."
	MsgUpstreamRefused          = "Your organisation's identity provider did not sign you in (it answered: %s). Go back to the application and try again."
	MsgUpstreamInvalidToken     = "The answer from your organisation's identity provider could not be verified, so stepup did not sign you in. Go back to the application and try again; if it keeps happening, tell your administrator."
	MsgUpstreamBadState         = "This sign-in answer does not belong to a sign-in this browser started, or was used already. Go back to the application and sign in again."
	MsgUpstreamStale            = "The application asked for a fresh sign-in, and your organisation's identity provider did not sign you in again. Go back to the application and try again."
	MsgUpstreamOtherUser        = "The application asked for another account than the one your organisation's identity provider signed you in with. Sign out there, or go back to the application and start again."
	MsgUpstreamInactive         = "Your account here is deactivated. Ask your administrator for help."
	MsgPasswordsUpstreamOnly    = "Sign in with your organisation's account: this stepup does not take passwords."
	MsgUpstreamLinkedNoPassword = "This account signs in with your organisation's account, not a password here."
)
