package stepauth

import (
	"slices"
	"testing"
)

func TestLevels(t *testing.T) {
	l := DefaultLevels()
	tests := []struct {
		acr, required string
		want          bool
	}{
		{"aal1", "aal1", true},
		{"aal1", "aal2", false},
		{"aal2", "aal2", true},
		{aal2URI, "aal2", true},
		{"aal2", aal2URI, true},
		{"aal3", "aal2", true},
		{"phrh", aal2URI, true},
		{"aal2", "phrh", false},
		{"", "aal1", false},
		{"gold", "aal1", false},
		{"aal3", "gold", false},
	}
	for _, tt := range tests {
		if got := l.Satisfies(tt.acr, tt.required); got != tt.want {
			t.Errorf("Satisfies(%q, %q) = %v, want %v", tt.acr, tt.required, got, tt.want)
		}
	}
	if got, ok := l.Rank("phrh"); got != 2 || !ok {
		t.Errorf("Rank(phrh) = %d, %v", got, ok)
	}
	if _, ok := l.Rank("gold"); ok {
		t.Error("Rank(gold) found a level")
	}
	if got := l.Names(aal2URI); !slices.Equal(got, []string{"aal2", aal2URI}) {
		t.Errorf("Names(alias) = %q", got)
	}
	l.Names("aal2")[0] = "changed"
	if got := l.Names("aal2")[0]; got != "aal2" {
		t.Errorf("Names shares its slice: %q", got)
	}
	if (Levels{}).Satisfies("aal1", "aal1") {
		t.Error("zero Levels satisfied a level")
	}
}

func TestNewLevelsRefuses(t *testing.T) {
	tests := map[string][][]string{
		"none":           nil,
		"nameless level": {{"aal1"}, {}},
		"empty name":     {{"aal1", ""}},
		"duplicate":      {{"aal1"}, {"aal2", "aal1"}},
	}
	for name, in := range tests {
		if _, err := NewLevels(in); err == nil {
			t.Errorf("%s: NewLevels succeeded", name)
		}
	}
}
