package authflow

import (
	"slices"
	"testing"
)

func TestTrustedLevels(t *testing.T) {
	p := Policy{Levels: []Level{{Name: "aal1"}, {Name: "aal2", Names: []string{"aal2", "urn:aal2"}}, {Name: "aal3", Names: []string{"aal3", "phrh"}}}}
	for _, c := range []struct {
		name   string
		p      Policy
		levels []string
		want   []string
	}{
		{"an aal2 method", p, []string{"aal2"}, []string{"aal2"}},
		{"a security key: capped below aal3", p, []string{"aal2", "aal3"}, []string{"aal2"}},
		{"aal3 alone: still only aal2", p, []string{"aal3"}, []string{"aal2"}},
		{"by an acr name", p, []string{"phrh"}, []string{"aal2"}},
		{"a method of aal1 only (email at max_level aal1): nothing", p, []string{"aal1"}, nil},
		{"unknown levels", p, []string{"gold"}, nil},
		{"a policy of one level", Policy{Levels: []Level{{Name: "aal1"}}}, []string{"aal1"}, nil},
	} {
		if got := TrustedLevels(c.p, c.levels); !slices.Equal(got, c.want) {
			t.Errorf("%s: TrustedLevels(%v) = %v, want %v", c.name, c.levels, got, c.want)
		}
	}
}
