package adminapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/provider/admin"
)

// FuzzDecodeParams: any JSON body of an admin action decodes to the
// action's declared params or is refused with an *admin.Error, never
// panics; a refusal quotes no more than a short prefix of the body.
func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{`{"ttl":"4h"}`, `{}`, ``, `{"ttl":4}`, `{"other":"x"}`, `[]`, `{"ttl":"\xff"}`, `{"ttl":` + strings.Repeat("[", 1000)} {
		f.Add(s)
	}
	a := admin.Action{AdminAction: sdk.AdminAction{Name: "issue", Verb: sdk.VerbPost, Params: []sdk.AdminParam{{Name: "ttl", Type: sdk.ParamDuration}}}}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/admin/v1/users/u/temporary-code", strings.NewReader(body))
		params, err := decodeParams(r, a)
		if err != nil {
			e, ok := admin.AsError(err)
			if !ok || e.Kind != admin.Invalid || len(e.Msg) > 400 {
				t.Fatalf("decodeParams(%.40q): %v", body, err)
			}
			return
		}
		for k := range params {
			if k != "ttl" {
				t.Fatalf("decodeParams(%.40q) passed %q, which the action does not take", body, k)
			}
		}
	})
}
