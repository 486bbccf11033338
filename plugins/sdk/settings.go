package sdk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SettingError is what Configure returns for one bad setting, so that the
// host can name the key. stepup validates its built-in methods in process
// when it loads the configuration and reports a SettingError as one line
// naming methods.NAME.KEY.
//
// It is an ErrInvalidInput: errors.Is matches it and UserMessage returns
// Error(). Across the plugin protocol it travels as the *InputError with
// that message that it wraps, so an external plugin may return it too; the
// host then sees the sentence, not Key on its own.
type SettingError struct {
	// Key is the setting as Configure received it, e.g. "digits".
	Key string
	// Msg is the rest of the sentence that begins with Key: what is wrong
	// and what to use instead, e.g. `is "5": use a whole number from 6 to 12`.
	Msg string
}

// InvalidSetting returns a *SettingError for key, whose value is value:
// Msg quotes at most the first 40 characters of value, then says want,
// e.g. InvalidSetting("digits", "5", "use a whole number from 6 to 12").
func InvalidSetting(key, value, want string) error {
	return &SettingError{Key: key, Msg: fmt.Sprintf("is %.40q: %s", value, want)}
}

func (e *SettingError) Error() string { return e.Key + " " + e.Msg }

// Unwrap returns the *InputError that carries Error() as its message.
func (e *SettingError) Unwrap() error { return &InputError{Message: e.Error()} }

// Settings the host adds to every method's Configure besides the method's
// own keys under methods.NAME: facts about the deployment that a method may
// need (the host name of the SMS line "@HOST #CODE", the product a message
// names, where a development outbox writes). Their prefix is the host's: a
// configuration file cannot set a key that starts with HostSettingPrefix,
// and a method ignores the ones it does not use.
const (
	HostSettingPrefix = "stepup."
	// SettingIssuer is the issuer URL, e.g. "https://login.example.com".
	SettingIssuer = HostSettingPrefix + "issuer"
	// SettingProductName is ui.product_name, e.g. "stepup".
	SettingProductName = HostSettingPrefix + "product_name"
	// SettingOutboxDir is outbox.dir as an absolute path: where messages
	// go as files when no gateway or mail server is configured.
	SettingOutboxDir = HostSettingPrefix + "outbox_dir"
)

// Types of Setting.Type.
const (
	SettingInt      = "int"      // a whole number
	SettingDuration = "duration" // a Go duration such as "10m"
	SettingBool     = "bool"     // true or false
	SettingText     = "text"     // any text
	SettingChoice   = "choice"   // one of Choices
	SettingObject   = "object"   // a mapping (it arrives as JSON)
)

// Setting declares one key under methods.NAME that the method's Configure
// takes (Description.Settings). The host checks a configuration against
// the declaration before the method starts, built in or external: a key
// that is not declared, or a value of the wrong type or out of range,
// stops the start with one line naming methods.NAME.KEY. Configure still
// checks what a declaration cannot say (min_ttl below max_ttl).
type Setting struct {
	Name string
	Type string
	// Min and Max bound an int or a duration, inclusive, written as the
	// value is ("1", "1m"); empty: no bound.
	Min, Max string
	// Choices are the values of a SettingChoice.
	Choices []string
	// Default is the value the method runs with when the key is absent.
	Default string
}

// hostKeys are the keys of a method's settings that are the host's, not
// the method's: its priority (see also HostSettingPrefix).
var hostKeys = []string{"priority"}

// CheckSettings checks settings, as Configure receives them, against the
// declared ones, and returns a *SettingError for the first key that is not
// declared or whose value does not fit. The host's keys (priority, and
// those with HostSettingPrefix) are not checked here. A method that
// declares nothing (declared nil, a plugin built with an older sdk) is not
// checked: its Configure is all there is.
func CheckSettings(declared []Setting, settings map[string]string) error {
	if declared == nil {
		return nil
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(hostKeys, k) || strings.HasPrefix(k, HostSettingPrefix) {
			continue
		}
		i := slices.IndexFunc(declared, func(s Setting) bool { return s.Name == k })
		if i < 0 {
			var names []string
			for _, s := range declared {
				names = append(names, s.Name)
			}
			want := "this method takes no settings of its own"
			if len(names) > 0 {
				want = "use one of " + strings.Join(names, ", ")
			}
			return &SettingError{Key: k, Msg: "is not a setting of this method: " + want}
		}
		if err := declared[i].check(settings[k]); err != nil {
			return err
		}
	}
	return nil
}

// check says whether v fits s.
func (s Setting) check(v string) error {
	bounds := func(unit string) string {
		switch {
		case s.Min != "" && s.Max != "":
			return fmt.Sprintf("use %s from %s to %s", unit, s.Min, s.Max)
		case s.Min != "":
			return fmt.Sprintf("use %s of at least %s", unit, s.Min)
		case s.Max != "":
			return fmt.Sprintf("use %s of at most %s", unit, s.Max)
		}
		return "use " + unit
	}
	switch s.Type {
	case SettingInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		lo, loErr := strconv.ParseInt(s.Min, 10, 64)
		hi, hiErr := strconv.ParseInt(s.Max, 10, 64)
		if err != nil || (loErr == nil && n < lo) || (hiErr == nil && n > hi) {
			return InvalidSetting(s.Name, v, bounds("a whole number"))
		}
	case SettingDuration:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		lo, loErr := time.ParseDuration(s.Min)
		hi, hiErr := time.ParseDuration(s.Max)
		if err != nil || (loErr == nil && d < lo) || (hiErr == nil && d > hi) {
			if lo == time.Nanosecond && s.Max == "" {
				return InvalidSetting(s.Name, v, `use a positive duration such as "5m"`)
			}
			return InvalidSetting(s.Name, v, bounds(`a duration such as "10m"`))
		}
	case SettingBool:
		if _, err := strconv.ParseBool(strings.TrimSpace(v)); err != nil {
			return InvalidSetting(s.Name, v, "use true or false")
		}
	case SettingChoice:
		if !slices.Contains(s.Choices, strings.TrimSpace(v)) {
			return InvalidSetting(s.Name, v, "use one of "+strings.Join(s.Choices, ", "))
		}
	}
	// A SettingText or SettingObject (a mapping, as JSON) is the method's
	// to check.
	return nil
}
