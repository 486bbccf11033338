package sdk

import "fmt"

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
