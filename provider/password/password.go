package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Limits on parameters. Hash refuses a Hasher outside them and Verify
// refuses a stored string outside them, so a corrupt or tampered row cannot
// make one login allocate gigabytes or run for minutes.
const (
	MaxMemoryKiB  = 4 << 20 // 4 GiB
	MaxIterations = 64
	MinSaltLen    = 8 // RFC 9106 §3.1
	MaxSaltLen    = 64
	MinKeyLen     = 4 // RFC 9106 §3.1
	MaxKeyLen     = 128
)

const (
	saltLen = 16
	keyLen  = 32
	prefix  = "$argon2id$"
)

// ErrMalformed is wrapped by every error Verify returns for a string that
// is not a well-formed argon2id PHC string within the limits above.
var ErrMalformed = errors.New("password: malformed argon2id hash")

var b64 = base64.RawStdEncoding.Strict()

// Hasher holds the argon2id parameters for new hashes. Its zero value is
// not usable; take the values from the configuration (passwords.argon2).
type Hasher struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// Check reports whether h's parameters are usable: at least one iteration
// and one lane, at least 8 KiB of memory per lane, and within MaxMemoryKiB
// and MaxIterations.
func (h Hasher) Check() error {
	return checkParams(h.MemoryKiB, h.Iterations, h.Parallelism)
}

func checkParams(m, t uint32, p uint8) error {
	switch {
	case p < 1:
		return errors.New("parallelism must be at least 1")
	case t < 1:
		return errors.New("iterations must be at least 1")
	case t > MaxIterations:
		return fmt.Errorf("iterations %d is more than %d", t, MaxIterations)
	case m < 8*uint32(p):
		return fmt.Errorf("memory %d KiB is less than 8 KiB per lane (%d lanes)", m, p)
	case m > MaxMemoryKiB:
		return fmt.Errorf("memory %d KiB is more than %d KiB (4 GiB)", m, MaxMemoryKiB)
	}
	return nil
}

// Hash derives a 32-byte key from password with a fresh 16-byte random
// salt and returns it as a PHC string carrying h's parameters. It fails
// only when h's parameters are unusable (see Check).
func (h Hasher) Hash(password string) (string, error) {
	if err := h.Check(); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.Iterations, h.MemoryKiB, h.Parallelism, keyLen)
	return encode(h, salt, key), nil
}

func encode(h Hasher, salt, key []byte) string {
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", prefix, argon2.Version,
		h.MemoryKiB, h.Iterations, h.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// phc is a parsed argon2id string.
type phc struct {
	params Hasher
	salt   []byte
	key    []byte
}

func parse(encoded string) (phc, error) {
	fail := func(why string) (phc, error) { return phc{}, fmt.Errorf("%w: %s", ErrMalformed, why) }
	rest, ok := strings.CutPrefix(encoded, prefix)
	if !ok {
		return fail("does not start with " + prefix)
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return fail("want v=, parameters, salt and key separated by $")
	}
	v, ok := strings.CutPrefix(parts[0], "v=")
	if !ok {
		return fail("missing version")
	}
	if v != strconv.Itoa(argon2.Version) {
		return fail("unsupported version " + strconv.Quote(v))
	}
	kv := strings.Split(parts[1], ",")
	if len(kv) != 3 {
		return fail("want parameters m=,t=,p=")
	}
	var nums [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return fail("want parameters m=,t=,p= in that order")
		}
		// Reject signs, leading zeros and empty values: one string per hash.
		if val == "" || (len(val) > 1 && val[0] == '0') || strings.TrimLeft(val, "0123456789") != "" {
			return fail("parameter " + name + " is not a decimal number")
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return fail("parameter " + name + " is out of range")
		}
		nums[i] = n
	}
	if nums[2] > 255 {
		return fail("parallelism is more than 255")
	}
	params := Hasher{MemoryKiB: uint32(nums[0]), Iterations: uint32(nums[1]), Parallelism: uint8(nums[2])}
	if err := params.Check(); err != nil {
		return fail(err.Error())
	}
	salt, err := b64.DecodeString(parts[2])
	if err != nil {
		return fail("salt is not base64 without padding")
	}
	if len(salt) < MinSaltLen || len(salt) > MaxSaltLen {
		return fail(fmt.Sprintf("salt length %d is outside %d..%d bytes", len(salt), MinSaltLen, MaxSaltLen))
	}
	key, err := b64.DecodeString(parts[3])
	if err != nil {
		return fail("key is not base64 without padding")
	}
	if len(key) < MinKeyLen || len(key) > MaxKeyLen {
		return fail(fmt.Sprintf("key length %d is outside %d..%d bytes", len(key), MinKeyLen, MaxKeyLen))
	}
	return phc{params: params, salt: salt, key: key}, nil
}

// Verify reports whether password matches encoded, using the parameters,
// salt and key length written in encoded (not any Hasher's). The key
// comparison takes constant time. A malformed string, or one whose
// parameters exceed the package limits, returns false and an error
// wrapping ErrMalformed without doing the expensive derivation.
func Verify(encoded, password string) (bool, error) {
	p, err := parse(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), p.salt, p.params.Iterations, p.params.MemoryKiB, p.params.Parallelism, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

// NeedsRehash reports whether encoded should be replaced by a fresh
// h.Hash of the same password: its parameters, salt length or key length
// differ from what h would write now, or it does not parse at all. Call it
// after a successful Verify, when the plain password is at hand.
func NeedsRehash(encoded string, h Hasher) bool {
	p, err := parse(encoded)
	if err != nil {
		return true
	}
	return p.params != h || len(p.salt) != saltLen || len(p.key) != keyLen
}

type dummy struct {
	once    sync.Once
	encoded string
}

// dummies holds one dummy hash per parameter set: a process normally has
// exactly one Hasher, tests a few.
var dummies sync.Map // Hasher -> *dummy

// VerifyDummy does the work of Verify against a fixed hash made with h's
// parameters and discards the result. Call it when the user does not
// exist, so that an unknown user costs the same as a wrong password. The
// dummy hash is computed once per parameter set, on first use.
func (h Hasher) VerifyDummy(password string) {
	v, _ := dummies.LoadOrStore(h, new(dummy))
	d := v.(*dummy)
	d.once.Do(func() {
		if h.Check() != nil {
			return
		}
		salt := []byte("stepup-dummy-slt") // 16 bytes, as Hash would use
		key := argon2.IDKey([]byte("stepup-dummy-password"), salt, h.Iterations, h.MemoryKiB, h.Parallelism, keyLen)
		d.encoded = encode(h, salt, key)
	})
	_, _ = Verify(d.encoded, password)
}
