package protocol

import "testing"

func TestFormTarget(t *testing.T) {
	for uri, want := range map[string]string{
		"https://app.example.com/callback?x=1": "https://app.example.com",
		"http://127.0.0.1:8080/cb":             "http://127.0.0.1:8080",
		"http://[::1]:8080/cb":                 "http://[::1]:8080",
		"com.example.app:/oauth2redirect":      "com.example.app:",
		"https://evil.example; script-src *":   "",
		"":                                     "",
	} {
		ar := &AuthRequest{Data: AuthRequestData{RedirectURI: uri}}
		if got := ar.FormTarget(); got != want {
			t.Errorf("FormTarget(%q) = %q, want %q", uri, got, want)
		}
	}
	own := &AuthRequest{Data: AuthRequestData{RedirectURI: "https://app.example.com/cb", Return: "/account"}}
	if got := own.FormTarget(); got != "" {
		t.Errorf("a login for stepup's own page: FormTarget = %q, want none", got)
	}
}
