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
// This package only reads and checks values. It opens no database, starts
// no plugin, checks no checksum against a file and makes no network
// request; the provider does those at start.
package config
