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
