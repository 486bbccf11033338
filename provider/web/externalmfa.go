package web

// The words of an external-MFA request (SPEC §11) that cannot go back to
// its identity provider: the person who followed it reads them.
const (
	TitleExternalMFARefused = "Cannot verify this sign-in"

	MsgHintMissing = "The identity provider sent no id_token_hint, so stepup cannot tell who is signing in. " +
		"Ask your administrator to check the external authentication method's configuration."
	MsgHintRefused = "The identity provider's statement of who you are could not be checked (%s). " +
		"Go back and sign in again; if it happens again, tell your administrator."
	MsgHintNotFormPost = "This identity provider must ask for response_mode=form_post and response_type=id_token. " +
		"Ask your administrator to check the external authentication method's configuration."
	MsgHintRepeated = "The identity provider sent the parameter %s more than once, which a request must not do. " +
		"Ask your administrator to check the external authentication method's configuration."
	MsgHintUnknownUser = "Your account at the identity provider is not linked to an account here. " +
		"Ask your administrator to set up your verification methods first."
	MsgHintNameTaken = "Your account at the identity provider cannot be linked here: an account named %q already exists and is not linked to it. " +
		"Ask your administrator to link the two."
	MsgHintBadName = "Your account at the identity provider cannot be linked here: its user name %q is not one this service accepts. " +
		"Ask your administrator to create your account."
)
