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
