// Package plugins is the registry of stepup's built-in verification
// methods and says how stepup runs one.
//
// The registry is one explicit map in registry.go, one line per method: its
// name and its constructor. Nothing registers itself (no init, no blank
// import), and nothing else lists the built-ins: the default configuration
// (provider/config, handed the registry as Builtins by cmd/stepup and
// testenv) takes each one's priority from its Describe and its
// settings from its DefaultSettings (Defaults), and checks a file's
// settings with the method's own Configure in this process
// (ConfigureBuiltin: a bad one is an sdk.SettingError, reported as
// methods.NAME.KEY); stepup serve launches every one (BuiltinCommand);
// make build builds each plugins/NAME/cmd/stepup-NAME; the import rules
// (imports_test.go at the module's root) cover each.
//
// A line with a nil constructor keeps a name SPEC §6 plans for a built-in
// that this build does not have yet (PlannedNames): it is
// Planned, not in BuiltinNames. A configuration may name it without a path,
// as SPEC §3's example does: it loads, its settings are not checked (there
// is no Configure to ask), and stepup serve logs it as skipped. Any other
// unknown name needs path and sha256.
//
// A built-in's New, Configure and Describe must work in this process
// without a host and do nothing else: no I/O, no goroutine. The defaults
// and the validation call them at config load; Describe's Priority of an
// unconfigured method is its default priority.
//
// How stepup runs a built-in (plugins/launch, called by cmd/stepup and
// testenv):
//
//   - make build puts each method's own binary, stepup-NAME, beside stepup
//     and records its SHA-256 in stepup's build information; stepup serve
//     runs that binary, pinned to that checksum, when BuiltinCommand finds
//     one recorded (a process of its own size);
//   - otherwise, as after go install, stepup serve runs
//     Spec{Path: <os.Executable()>, Args: {"plugin", NAME}}, pinned to the
//     checksum of that file at start, and the hidden subcommand
//     `stepup plugin NAME` calls ServeBuiltin(NAME).
//
// Either way a process listing shows the method's name, and a file
// replaced after stepup chose it is refused at the next start of the
// process, also a restart after a crash.
//
// Adding a built-in method NAME: its package plugins/NAME (the method and
// its test, reaching nothing of stepup but plugins/sdk), its main
// plugins/NAME/cmd/stepup-NAME/main.go calling sdk.Serve(NAME.New()), one
// line in the registry (or its planned nil replaced), and its paragraph in
// the README with its line in provider/config/testdata/example.yaml (the
// reference, which a test keeps equal to the defaults).
//
// The methods themselves live in the subpackages (totp, tempcode), the
// protocol in sdk, the provider's side in host, and the checks every
// method must pass in conformance. What must not live here: anything of
// the provider, and anything a method imports (a method reaches only sdk).
package plugins
