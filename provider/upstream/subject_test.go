package upstream

import "testing"

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"sub", map[string]any{"sub": "248289761001"}, "248289761001"},
		{"entra", map[string]any{"sub": "pairwise-1", "tid": "t1", "oid": "o1"}, "entra:t1/o1"},
		// An oid without its tenant names no one across tenants: sub then.
		{"oid alone", map[string]any{"sub": "s", "oid": "o1"}, "s"},
		{"not strings", map[string]any{"sub": 42, "tid": 1, "oid": true}, ""},
		{"none", map[string]any{}, ""},
	} {
		if got := Subject(tc.claims); got != tc.want {
			t.Errorf("%s: Subject = %q, want %q", tc.name, got, tc.want)
		}
	}
}
