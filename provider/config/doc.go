// Package config holds stepup's configuration: the YAML file of SPEC §3,
// its defaults and the STEPUP_<SECTION>_<KEY> environment overrides.
//
// Load is the one way in: it starts from Default, decodes the file over it
// (an unknown key is an error naming the key and its line), applies the
// environment, fills derived defaults and runs Validate, so a Config that
// Load returns is usable as it is. Validate reports the first problem as
// one *Error whose message names the key and says what to do; `stepup
// serve` prints it and exits.
//
// testdata/example.yaml is the configuration reference: every key, its
// default and a comment. A test keeps it complete and loadable.
//
// The methods come from the registry of package plugins, which the
// composition root (cmd/stepup, testenv) hands to Default, Load and
// Validate as a Methods; this package imports neither the registry nor any
// method, so the provider, which imports it, reaches none. Default has every
// built-in method of this build, enabled, with the priority and settings
// the method itself states, and Validate hands a built-in's settings to
// the method's own Configure, in this process, so a bad one stops the load
// with one line naming methods.NAME.KEY (sdk.SettingError). A name the
// registry plans but this build does not have (Methods.Planned) may be
// configured without a path; its settings are not checked, and stepup
// serve logs it as skipped. Any other method needs path and sha256.
//
// This package only reads and checks values. It opens no database, starts
// no plugin (Configure runs on a method value, no process), checks no
// checksum against a file and makes no network request; the provider does
// those at start.
package config
