// Package launch starts the configured verification methods as plugin
// processes: the built-ins of the registry (package plugins) as their own
// binaries or as stepup re-executed, and external ones from their path,
// each pinned by SHA-256. It is called by the composition roots only
// (cmd/stepup, testenv), so that the provider imports no method and not
// the registry.
//
// It takes plain values: each method's name, settings, path and checksum
// (Method, from a config.Config with FromConfig), and what the host gives
// the plugins (Options: the backend of their storage, each method's key,
// what to do with a refused file). What must not live here: the
// provider's types (sessions, the Store itself), and any method's logic.
package launch
