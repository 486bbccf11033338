// Package plugins lists stepup's built-in verification methods: Builtin,
// one explicit map from a method's name to its constructor, and
// ServeBuiltin, which the stepup binary runs when the host re-executes it
// as a plugin.
//
// Wiring a built-in (cmd/stepup does this):
//
//   - a hidden subcommand `stepup plugin NAME` calls ServeBuiltin(NAME);
//   - `stepup serve` launches each enabled built-in with host.Launch and
//     Spec{Name: NAME, Path: <os.Executable()>, Args: {"plugin", NAME}},
//     so a process listing shows "stepup plugin totp".
//
// The methods themselves live in the subpackages (totp, ...), the protocol
// in sdk, the provider's side in host, and the checks every method must
// pass in conformance. Adding a method: its package (method, test, main),
// one line in Builtin, a paragraph in the docs.
package plugins
