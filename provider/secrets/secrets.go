package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Secrets are the keys derived from keys.secret_file. The file holds 32
// random bytes, hex-encoded; it is created on first start. Losing it logs
// everyone out and makes encrypted data (signing keys, plugin data)
// unreadable, so operators back it up with the database.
type Secrets struct {
	CookieHash  []byte // HMAC key for the session cookie
	CookieBlock []byte // AES key for the session cookie
	CSRF        []byte // gorilla/csrf key
	DataKey     []byte // AES-256-GCM key for data at rest
	CodeHMAC    []byte // keyed hashes of short codes (kept out of the database)
}

// Load reads the secret file, creating it (mode 0600) when missing.
func Load(path string) (*Secrets, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw, err = createSecretFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys.secret_file %s: %w", path, err)
	}
	master, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(master) < 32 {
		return nil, fmt.Errorf("keys.secret_file %s: want at least 32 bytes as hex (64 characters); delete it to generate a new one", path)
	}
	return deriveSecrets(master)
}

func createSecretFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	out := []byte(hex.EncodeToString(buf) + "\n")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another replica won the race
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Write(out); err != nil {
		return nil, err
	}
	return out, f.Sync()
}

func deriveSecrets(master []byte) (*Secrets, error) {
	derive := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, "stepup "+label, 32)
		if err != nil {
			panic(err) // only for lengths hkdf cannot produce
		}
		return k
	}
	return &Secrets{
		CookieHash:  derive("cookie-hash"),
		CookieBlock: derive("cookie-block"),
		CSRF:        derive("csrf"),
		DataKey:     derive("data-at-rest"),
		CodeHMAC:    derive("code-hmac"),
	}, nil
}

// Seal encrypts plaintext with the data key; aad binds it to its place.
func (s *Secrets) Seal(plaintext, aad []byte) []byte {
	gcm := s.gcm()
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return gcm.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts what Seal produced with the same aad.
func (s *Secrets) Open(sealed, aad []byte) ([]byte, error) {
	gcm := s.gcm()
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("sealed data too short")
	}
	out, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("cannot decrypt: wrong keys.secret_file or tampered data")
	}
	return out, nil
}

func (s *Secrets) gcm() cipher.AEAD {
	block, err := aes.NewCipher(s.DataKey)
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

// PluginKey is the key that encrypts one method's data at rest; each
// method gets its own, derived from keys.secret_file.
func (s *Secrets) PluginKey(method string) []byte {
	k, err := hkdf.Key(sha256.New, s.DataKey, nil, "stepup plugin "+method, 32)
	if err != nil {
		panic(err)
	}
	return k
}
