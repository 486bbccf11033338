package sdk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSettingError: a bad setting names its key for the host in process,
// and crosses the plugin protocol as the invalid input it was before.
func TestSettingError(t *testing.T) {
	err := fmt.Errorf("configure: %w", InvalidSetting("digits", "5", "use a whole number from 6 to 12"))
	var se *SettingError
	if !errors.As(err, &se) || se.Key != "digits" || se.Msg != `is "5": use a whole number from 6 to 12` {
		t.Fatalf("InvalidSetting = %#v", se)
	}
	if want := `digits is "5": use a whole number from 6 to 12`; se.Error() != want || UserMessage(err) != want {
		t.Errorf("Error() %q, UserMessage %q; want %q", se.Error(), UserMessage(err), want)
	}
	if !errors.Is(err, ErrInvalidInput) {
		t.Errorf("%v is not ErrInvalidInput", err)
	}
	back := FromStatus(ToStatus(err))
	var ie *InputError
	if !errors.As(back, &ie) || ie.Message != se.Error() {
		t.Errorf("across the protocol: %#v, want an *InputError saying %q", back, se.Error())
	}

	long := InvalidSetting("issuer", strings.Repeat("x", 1000), "use a shorter name").Error()
	if len(long) > 80 || !strings.Contains(long, strings.Repeat("x", 40)+`"`) {
		t.Errorf("a long value is quoted whole: %q", long)
	}
}

// TestCheckSettings: a key a method does not declare, or a value that does
// not fit its declaration, is a *SettingError naming it; the host's keys
// pass; a method that declares nothing is not checked.
func TestCheckSettings(t *testing.T) {
	declared := []Setting{
		{Name: "limit", Type: SettingInt, Min: "1", Max: "10"},
		{Name: "window", Type: SettingDuration, Min: "1m", Max: "1h"},
		{Name: "on", Type: SettingBool},
		{Name: "level", Type: SettingChoice, Choices: []string{"aal1", "aal2"}},
		{Name: "gateway", Type: SettingObject},
	}
	for _, tc := range []struct {
		settings map[string]string
		key      string // "": accepted
	}{
		{map[string]string{"limit": "10", "window": "1h", "on": "true", "level": "aal1", "gateway": `{"kind":"outbox"}`}, ""},
		{map[string]string{"priority": "50", HostSettingPrefix + "issuer": "https://x"}, ""},
		{map[string]string{"limt": "3"}, "limt"},
		{map[string]string{"limit": "11"}, "limit"},
		{map[string]string{"limit": "three"}, "limit"},
		{map[string]string{"window": "30s"}, "window"},
		{map[string]string{"on": "yes please"}, "on"},
		{map[string]string{"level": "aal3"}, "level"},
	} {
		err := CheckSettings(declared, tc.settings)
		var se *SettingError
		switch {
		case tc.key == "" && err != nil:
			t.Errorf("%v: %v, want accepted", tc.settings, err)
		case tc.key != "" && (!errors.As(err, &se) || se.Key != tc.key):
			t.Errorf("%v: %v, want a SettingError for %s", tc.settings, err, tc.key)
		}
	}
	if err := CheckSettings([]Setting{}, map[string]string{"x": "1"}); err == nil {
		t.Error("a method that declares it takes no settings accepted one")
	}
	if err := CheckSettings(nil, map[string]string{"x": "1"}); err != nil {
		t.Errorf("a method that declares nothing was checked: %v", err)
	}
}
