package host

import (
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func TestCheckKeys(t *testing.T) {
	limit := func(key string) sdk.Description {
		return sdk.Description{Limits: []sdk.Limit{{Operation: sdk.OpVerify, Max: 5, Window: time.Minute, Key: key}}}
	}
	for _, ok := range []sdk.Description{{}, {UserRecords: []string{"account/{user}"}},
		{UserRecords: []string{"a/{user}", "{user}/b"}}, limit(""), limit("verify/{user}"),
		{Limits: []sdk.Limit{{Operation: sdk.OpBegin, Max: 1}}},
		{Limits: []sdk.Limit{{Operation: sdk.OpVerify, Max: 5, Window: time.Minute, Key: "v/{user}", FailuresOnly: true}}}} {
		if err := checkKeys(ok); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
	for _, bad := range []sdk.Description{{UserRecords: []string{"account"}}, {UserRecords: []string{"{user}/{user}"}},
		{UserRecords: make([]string, 9)}, limit("verify"), limit("verify/{user}/{user}"),
		limit(strings.Repeat("k", sdk.MaxKeyLen) + "{user}"),
		{Limits: []sdk.Limit{{Operation: sdk.OpVerify, Key: "v/{user}", Window: time.Minute}}},
		{Limits: []sdk.Limit{{Operation: sdk.OpVerify, Max: 5, Window: time.Minute, FailuresOnly: true}}},
		{Limits: []sdk.Limit{{Operation: sdk.OpConfirm, Max: 5, Window: time.Minute, Key: "c/{user}", FailuresOnly: true}}}} {
		if err := checkKeys(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
