package stepauth

import (
	"errors"
	"fmt"
	"slices"
)

// Levels orders assurance levels from weakest to strongest. Each level has
// one or more accepted acr names; the first is its canonical name. A token
// whose acr names a level satisfies that level and every weaker one, so an
// aal3 token satisfies an aal2 requirement.
//
// The zero Levels knows no level: every acr is unknown to it.
// A Levels is immutable and safe for concurrent use.
type Levels struct {
	names [][]string
	rank  map[string]int
}

// NewLevels builds a Levels from names ordered weakest first, for example
//
//	[][]string{{"aal1"}, {"aal2", "http://idmanagement.gov/ns/assurance/aal/2"}, {"aal3", "phrh"}}
//
// It fails when a level has no name, a name is empty, or a name appears twice.
func NewLevels(levels [][]string) (Levels, error) {
	l := Levels{rank: map[string]int{}}
	for i, names := range levels {
		if len(names) == 0 {
			return Levels{}, fmt.Errorf("stepauth: level %d has no name", i)
		}
		for _, n := range names {
			if n == "" {
				return Levels{}, fmt.Errorf("stepauth: level %d has an empty name", i)
			}
			if _, dup := l.rank[n]; dup {
				return Levels{}, fmt.Errorf("stepauth: acr name %q is listed twice", n)
			}
			l.rank[n] = i
		}
		l.names = append(l.names, slices.Clone(names))
	}
	if len(l.names) == 0 {
		return Levels{}, errors.New("stepauth: no levels")
	}
	return l, nil
}

// DefaultLevels returns stepup's default acr configuration: aal1; aal2 (also
// named http://idmanagement.gov/ns/assurance/aal/2); aal3 (also named phrh).
func DefaultLevels() Levels {
	l, err := NewLevels([][]string{
		{"aal1"},
		{"aal2", "http://idmanagement.gov/ns/assurance/aal/2"},
		{"aal3", "phrh"},
	})
	if err != nil {
		panic(err)
	}
	return l
}

// Rank reports the position of the level that accepts acr, 0 being the
// weakest, and whether any level accepts it.
func (l Levels) Rank(acr string) (int, bool) {
	r, ok := l.rank[acr]
	return r, ok
}

// Satisfies reports whether an authentication at acr meets the level named
// required: both names must be known and acr's level must be at least as
// strong. An unknown acr satisfies nothing.
func (l Levels) Satisfies(acr, required string) bool {
	have, ok := l.rank[acr]
	if !ok {
		return false
	}
	want, ok := l.rank[required]
	return ok && have >= want
}

// Names returns every accepted name of the level that accepts name, the
// canonical name first, or nil when no level accepts it. The caller may
// modify the returned slice.
func (l Levels) Names(name string) []string {
	r, ok := l.rank[name]
	if !ok {
		return nil
	}
	return slices.Clone(l.names[r])
}
