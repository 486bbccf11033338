package authflow

import (
	"fmt"
	"slices"
)

// Policy is the configured side of the decision: the assurance levels and
// the acr names each accepts.
type Policy struct {
	// Levels are ordered lowest to highest, e.g. aal1, aal2, aal3. The first
	// level needs one first factor; each level after it needs a first factor
	// and a second factor declaring that level (Factor.Levels).
	Levels []Level
}

// Level is one assurance level.
type Level struct {
	// Name identifies the level internally ("aal2"); Factor.Levels and
	// Method.Levels refer to levels by it.
	Name string
	// Names are the acr names a request may use for this level, the first
	// being canonical (the acr of a token for which no name was asked), e.g.
	// ["aal2", "http://idmanagement.gov/ns/assurance/aal/2"]. When empty,
	// Name is the only accepted and canonical name.
	Names []string
}

// Canonical returns the level's canonical acr name: Names[0], or Name when
// Names is empty.
func (l Level) Canonical() string {
	if len(l.Names) > 0 {
		return l.Names[0]
	}
	return l.Name
}

func (l Level) accepts(acr string) bool {
	if len(l.Names) == 0 {
		return acr == l.Name
	}
	return slices.Contains(l.Names, acr)
}

// LevelOf returns the level a request's acr name stands for. The match is
// exact (acr values are case-sensitive) and only against accepted names;
// ok is false for a name the policy does not know.
func (p Policy) LevelOf(acr string) (Level, bool) {
	if i := p.indexOfACR(acr); i >= 0 {
		return p.Levels[i], true
	}
	return Level{}, false
}

// ACRNames returns every accepted acr name, lowest level first and each
// level's canonical name first: the discovery document's
// acr_values_supported.
func (p Policy) ACRNames() []string {
	var names []string
	for _, l := range p.Levels {
		if len(l.Names) == 0 {
			names = append(names, l.Name)
			continue
		}
		names = append(names, l.Names...)
	}
	return names
}

// Validate reports a Policy that Decide cannot use, wrapping
// ErrInvalidPolicy: no levels, a level without a Name, or a name (level
// name or acr name) that would stand for two levels.
func (p Policy) Validate() error {
	if len(p.Levels) == 0 {
		return fmt.Errorf("%w: no levels", ErrInvalidPolicy)
	}
	owner := map[string]int{}
	claim := func(name string, i int) error {
		if name == "" {
			return fmt.Errorf("%w: level %d has an empty name", ErrInvalidPolicy, i+1)
		}
		if j, taken := owner[name]; taken && j != i {
			return fmt.Errorf("%w: name %q used by levels %q and %q",
				ErrInvalidPolicy, name, p.Levels[j].Name, p.Levels[i].Name)
		}
		owner[name] = i
		return nil
	}
	for i, l := range p.Levels {
		if err := claim(l.Name, i); err != nil {
			return err
		}
		for _, n := range l.Names {
			if err := claim(n, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p Policy) indexOfACR(acr string) int {
	for i, l := range p.Levels {
		if l.accepts(acr) {
			return i
		}
	}
	return -1
}

// indexOfLevel resolves a level named by a factor or a method: by Name, or,
// leniently, by any of its acr names.
func (p Policy) indexOfLevel(name string) int {
	for i, l := range p.Levels {
		if l.Name == name {
			return i
		}
	}
	return p.indexOfACR(name)
}

// highest returns the index of the highest level among names, or -1.
func (p Policy) highest(names []string) int {
	top := -1
	for _, n := range names {
		top = max(top, p.indexOfLevel(n))
	}
	return top
}

// Within returns the levels of reached that are among declared, in the
// order of reached: what a method's verification says it reached, held to
// what the method declared it can reach. With reached empty, declared.
func Within(declared, reached []string) []string {
	if len(reached) == 0 {
		return declared
	}
	var out []string
	for _, l := range reached {
		if slices.Contains(declared, l) {
			out = append(out, l)
		}
	}
	return out
}

// UpTo returns the levels of levels at or below the level max (a Name or
// an acr name), in their order: a method's levels for a user whose
// credentials reach no higher than max. With max empty or unknown, levels.
func (p Policy) UpTo(levels []string, max string) []string {
	top := p.indexOfLevel(max)
	if max == "" || top < 0 {
		return levels
	}
	var out []string
	for _, l := range levels {
		if i := p.indexOfLevel(l); i >= 0 && i <= top {
			out = append(out, l)
		}
	}
	return out
}
