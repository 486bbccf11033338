package config

import "testing"

// FuzzDecode: any config file decodes or is refused with an *Error, never
// panics, and a bounded file takes bounded work (aliases counted first).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"issuer: http://localhost:8080\n",
		"methods:\n  totp: {priority: 70}\n  tempcode: {digits: 6}\n",
		"a: &a [x, y]\nb: [*a, *a]\n",
		"methods:\n  pin: {path: /p, sha256: x, <<: {a: 1}}\n",
		"clients:\n  - id: x\n    redirect_uris: [1, {a: b}]\n",
		"{", "\xff", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxFileSize {
			return
		}
		cfg := base(testMethods)
		if err := decode(&cfg, "fuzz.yaml", data, testMethods); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("decode: %T %v, want an *Error", err, err)
			}
		}
	})
}
