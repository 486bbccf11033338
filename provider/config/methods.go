package config

// Methods is what the configuration asks of the registry of built-in
// methods (package plugins, handed over by the composition root:
// cmd/stepup, testenv). config imports no method and not the registry, so
// the provider, which imports config, reaches neither.
type Methods interface {
	// Names returns the built-in methods of this build, sorted.
	Names() []string
	// Planned reports whether name is kept for a built-in this build does
	// not have yet: a configuration may name it without a path.
	Planned(name string) bool
	// Defaults returns the default priority and settings of the built-in
	// name, as the method states them.
	Defaults(name string) (priority int, settings map[string]string)
	// Configure hands settings to the built-in name's own Configure, in
	// this process; an *sdk.SettingError names the bad key.
	Configure(name string, settings map[string]string) error
}

// builtinNames is m.Names(), or none for a nil m.
func builtinNames(m Methods) []string {
	if m == nil {
		return nil
	}
	return m.Names()
}
