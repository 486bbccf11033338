package bank

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// essentialACR is the claims request parameter (OIDC Core §5.5.1) that
// asks for an ID token whose acr is level, or no token at all.
func essentialACR(level string) string {
	type member struct {
		Essential bool     `json:"essential"`
		Values    []string `json:"values"`
	}
	b, _ := json.Marshal(map[string]map[string]member{"id_token": {"acr": {Essential: true, Values: []string{level}}}})
	return string(b)
}

// Claim is one claim of an ID token as the start page shows it: what it
// holds and what that means for the application.
type Claim struct {
	Name, Value, Meaning string
}

// meanings are what the claims the application acts on mean.
var meanings = map[string]string{
	"iss":       "who signed the token: stepup",
	"sub":       "the user, as stepup identifies them to this application",
	"aud":       "who the token is for: this application's client ID",
	"acr":       "the assurance level stepup confirmed (aal1: a password; aal2: two factors; aal3: a hardware key)",
	"amr":       "the methods used (RFC 8176): pwd password, otp a one-time code, hwk/swk a security key or passkey, mfa two or more factors",
	"auth_time": "when the user last proved who they are",
	"iat":       "when stepup issued the token",
	"exp":       "when the token stops being valid",
	"nonce":     "ties the token to this sign-in",
}

// order puts the claims a reader looks for first.
var order = []string{"acr", "amr", "auth_time", "sub", "iss", "aud", "iat", "exp"}

// describeClaims lists the claims of an ID token: the meaningful ones
// first, the others after them by name.
func describeClaims(all map[string]any) []Claim {
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]Claim, 0, len(names))
	for _, k := range names {
		out = append(out, Claim{Name: k, Value: claimValue(k, all[k]), Meaning: meanings[k]})
	}
	return out
}

// claimValue writes a claim's value for a person: times as UTC dates,
// lists space-separated.
func claimValue(name string, v any) string {
	switch v := v.(type) {
	case float64:
		if name == "auth_time" || name == "iat" || name == "exp" || name == "nbf" {
			return time.Unix(int64(v), 0).UTC().Format("2006-01-02 15:04:05 UTC") + fmt.Sprintf(" (%d)", int64(v))
		}
		return fmt.Sprint(v)
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, " ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
