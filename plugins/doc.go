// Package plugins lists stepup's built-in verification methods: Builtin,
// one explicit map from a method's name to its constructor;
// BuiltinCommand, which says how stepup runs one; and ServeBuiltin, which
// the stepup binary runs when the host re-executes it as a plugin.
//
// Wiring a built-in (cmd/stepup and provider.LaunchMethods do this):
//
//   - each method has its own command, plugins/NAME/cmd/stepup-NAME, which
//     make build puts beside stepup, recording its SHA-256 in stepup's
//     build information; stepup serve launches that binary, pinned to
//     that checksum, when BuiltinCommand finds one recorded (a process of
//     its own size);
//   - otherwise, as after go install, stepup serve launches
//     Spec{Path: <os.Executable()>, Args: {"plugin", NAME}}, pinned to the
//     checksum of that file at start, and the hidden subcommand
//     `stepup plugin NAME` calls ServeBuiltin(NAME).
//
// Either way a process listing shows the method's name, and a file
// replaced after stepup chose it is refused at the next start of the
// process, also a restart after a crash.
//
// The methods themselves live in the subpackages (totp, ...), the protocol
// in sdk, the provider's side in host, and the checks every method must
// pass in conformance. Adding a method: its package (method, test, main),
// one line in Builtin, a paragraph in the docs.
package plugins
