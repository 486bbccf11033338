package login

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseClaimsACR: the claims parameter of any authorization request
// parses or is refused, never panics, and an acr it finds keeps its value
// first.
func FuzzParseClaimsACR(f *testing.F) {
	for _, s := range []string{
		`{"id_token":{"acr":{"essential":true,"values":["aal2","aal3"]}}}`,
		`{"userinfo":{"acr":{"value":"aal1"}}}`,
		`{"id_token":{"acr":null}}`, `{"id_token":[]}`, `[]`, `null`, `{`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := parseClaimsACR(raw)
		if err != nil || c == nil {
			return
		}
		if c.Value != "" && (len(c.Values) == 0 || c.Values[0] != c.Value) {
			t.Fatalf("value %q not first in %q", c.Value, c.Values)
		}
		_ = utf8.ValidString(c.Value)
	})
}
