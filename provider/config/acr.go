package config

import "sort"

// LevelOrder returns the configured assurance levels weakest first: aal1,
// aal2, aal3 (those configured), then any other level in the order the
// file lists them, then levels set only in Go code, sorted by name.
func (c Config) LevelOrder() []string {
	order := make([]string, 0, len(c.ACR))
	seen := map[string]bool{}
	add := func(l string) {
		if _, ok := c.ACR[l]; ok && !seen[l] {
			seen[l] = true
			order = append(order, l)
		}
	}
	for _, l := range knownLevels {
		add(l)
	}
	for _, l := range c.levelOrder {
		add(l)
	}
	var rest []string
	for l := range c.ACR {
		if !seen[l] {
			rest = append(rest, l)
		}
	}
	sort.Strings(rest)
	return append(order, rest...)
}

// LevelOf returns the level that name stands for: the level that lists
// name among its accepted names, or the level whose key is name. ok is
// false when no level matches. Names are matched exactly.
func (c Config) LevelOf(name string) (level string, ok bool) {
	for _, l := range c.LevelOrder() {
		if contains(c.ACR[l], name) {
			return l, true
		}
	}
	if _, ok := c.ACR[name]; ok {
		return name, true
	}
	return "", false
}

// ACRValues returns every accepted acr name once, levels in LevelOrder and
// each level's names in their configured order: what discovery advertises
// as acr_values_supported.
func (c Config) ACRValues() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range c.LevelOrder() {
		for _, n := range c.ACR[l] {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}
