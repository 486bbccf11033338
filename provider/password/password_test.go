package password

import (
	"errors"
	"strings"
	"testing"
)

// fast keeps the tests quick; the parameters travel in the string.
var fast = Hasher{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// Vectors from the reference implementation's src/test.c (Argon2id, v=19,
// 32-byte output).
var referenceVectors = []struct {
	name, password, encoded string
}{
	{"m=256,t=2,p=1", "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"m=256,t=2,p=2", "password", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
	{"m=65536,t=2,p=1", "password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
	{"m=65536,t=1,p=1", "password", "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg"},
	{"differentpassword", "differentpassword", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"},
	{"diffsalt", "password", "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw"},
}

func TestReferenceVectors(t *testing.T) {
	for _, tc := range referenceVectors {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(tc.encoded, tc.password)
			if err != nil || !ok {
				t.Fatalf("Verify(reference, %q) = %v, %v; want true, nil", tc.password, ok, err)
			}
			ok, err = Verify(tc.encoded, tc.password+"x")
			if err != nil || ok {
				t.Fatalf("Verify(reference, wrong) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestEncodeMatchesReference(t *testing.T) {
	// Re-encoding the parsed reference vector must reproduce it byte for byte.
	p, err := parse(referenceVectors[0].encoded)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Hasher{MemoryKiB: 256, Iterations: 2, Parallelism: 1}); p.params != want || string(p.salt) != "somesalt" {
		t.Fatalf("parsed %+v salt %q", p.params, p.salt)
	}
	if got := encode(p.params, p.salt, p.key); got != referenceVectors[0].encoded {
		t.Fatalf("encode = %q, want %q", got, referenceVectors[0].encoded)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "", "pässwörd ✓", strings.Repeat("x", 1000)} {
		enc, err := fast.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("Hash = %q", enc)
		}
		p, err := parse(enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.salt) != 16 || len(p.key) != 32 {
			t.Fatalf("salt %d bytes, key %d bytes; want 16, 32", len(p.salt), len(p.key))
		}
		if ok, err := Verify(enc, pw); !ok || err != nil {
			t.Fatalf("Verify(right) = %v, %v", ok, err)
		}
		if ok, err := Verify(enc, pw+"!"); ok || err != nil {
			t.Fatalf("Verify(wrong) = %v, %v", ok, err)
		}
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	a, _ := fast.Hash("same")
	b, _ := fast.Hash("same")
	if a == b {
		t.Fatal("two hashes of the same password are equal")
	}
}

func TestVerifyUsesParametersFromString(t *testing.T) {
	other := Hasher{MemoryKiB: 128, Iterations: 3, Parallelism: 2}
	enc, err := other.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(enc, "$m=128,t=3,p=2$") {
		t.Fatalf("Hash = %q", enc)
	}
	if ok, err := Verify(enc, "pw"); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	// Changing a parameter in the string changes the derivation.
	tampered := strings.Replace(enc, "t=3", "t=2", 1)
	if ok, err := Verify(tampered, "pw"); ok || err != nil {
		t.Fatalf("Verify(tampered t) = %v, %v; want false, nil", ok, err)
	}
}

func TestHashRefusesBadParameters(t *testing.T) {
	for _, h := range []Hasher{
		{},
		{MemoryKiB: 64, Iterations: 0, Parallelism: 1},
		{MemoryKiB: 64, Iterations: 1, Parallelism: 0},
		{MemoryKiB: 15, Iterations: 1, Parallelism: 2},
		{MemoryKiB: MaxMemoryKiB + 1, Iterations: 1, Parallelism: 1},
		{MemoryKiB: 64, Iterations: MaxIterations + 1, Parallelism: 1},
	} {
		if _, err := h.Hash("pw"); err == nil {
			t.Errorf("%+v.Hash: no error", h)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	good := "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key
	for _, tc := range []struct{ name, enc string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"no version", "$argon2id$m=256,t=2,p=1$" + salt + "$" + key},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"missing $ before salt", "$argon2id$v=19$m=256,t=2,p=1" + salt + "$" + key},
		{"missing $ before key", "$argon2id$v=19$m=256,t=2,p=1$" + salt + key},
		{"extra field", good + "$x"},
		{"empty salt", "$argon2id$v=19$m=256,t=2,p=1$$" + key},
		{"short salt", "$argon2id$v=19$m=256,t=2,p=1$c29tZQ$" + key},
		{"short key", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$AAAA"},
		{"padded salt", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$" + key},
		{"bad base64", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$!!!!"},
		{"parameter order", "$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + key},
		{"missing p", "$argon2id$v=19$m=256,t=2$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-256,t=2,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + key},
		{"hex", "$argon2id$v=19$m=0x100,t=2,p=1$" + salt + "$" + key},
		{"t=0", "$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + key},
		{"p=0", "$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + key},
		{"p=256", "$argon2id$v=19$m=4096,t=2,p=256$" + salt + "$" + key},
		{"memory below 8p", "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + key},
		{"memory above 4 GiB", "$argon2id$v=19$m=4194305,t=2,p=1$" + salt + "$" + key},
		{"memory overflows uint32", "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key},
		{"absurd iterations", "$argon2id$v=19$m=256,t=4294967295,p=1$" + salt + "$" + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(tc.enc, "password")
			if ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrMalformed", tc.enc, ok, err)
			}
		})
	}
	if ok, err := Verify(good, "password"); !ok || err != nil {
		t.Fatalf("control: Verify(good) = %v, %v", ok, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	enc, err := fast.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		enc  string
		h    Hasher
		want bool
	}{
		{"same parameters", enc, fast, false},
		{"more memory", enc, Hasher{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, true},
		{"more iterations", enc, Hasher{MemoryKiB: 64, Iterations: 2, Parallelism: 1}, true},
		{"more lanes", enc, Hasher{MemoryKiB: 64, Iterations: 1, Parallelism: 2}, true},
		{"short salt from elsewhere", referenceVectors[0].encoded, Hasher{MemoryKiB: 256, Iterations: 2, Parallelism: 1}, true},
		{"malformed", "not a hash", fast, true},
	} {
		if got := NeedsRehash(tc.enc, tc.h); got != tc.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestVerifyDummy(t *testing.T) {
	h := Hasher{MemoryKiB: 72, Iterations: 1, Parallelism: 1}
	h.VerifyDummy("anything")
	h.VerifyDummy("again")
	v, ok := dummies.Load(h)
	if !ok {
		t.Fatal("no dummy hash stored for h")
	}
	d := v.(*dummy)
	p, err := parse(d.encoded)
	if err != nil {
		t.Fatalf("dummy hash %q: %v", d.encoded, err)
	}
	if p.params != h || NeedsRehash(d.encoded, h) {
		t.Fatalf("dummy hash %q does not use h's parameters", d.encoded)
	}
	// A broken Hasher must not panic.
	Hasher{}.VerifyDummy("x")
}

func BenchmarkHash(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    Hasher
	}{
		{"owasp-19MiB-t2-p1", Hasher{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}},
		{"test-64KiB-t1-p1", fast},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.h.Hash("correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := Hasher{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}
	h.VerifyDummy("warm up")
	for b.Loop() {
		h.VerifyDummy("correct horse battery staple")
	}
}
