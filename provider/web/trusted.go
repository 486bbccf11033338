package web

// Messages of trusted browsers ("don't ask again on this browser").
const (
	MsgTrustNotOffered = "This method cannot make this browser trusted (a temporary code is for one sign-in only). " +
		"Leave \"Don't ask again on this browser\" unticked and verify again."
	MsgBrowserForgotten    = "The browser was forgotten: it will ask for your second factor again."
	MsgBrowserGone         = "That browser is no longer trusted. Go back to your account page."
	MsgBrowsersForgotten   = "The user's trusted browsers were forgotten: each will ask for the second factor again."
	TitleBrowserNotTrusted = "Not trusted"
)
