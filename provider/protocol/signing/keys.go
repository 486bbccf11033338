package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// Signing algorithms stepup issues tokens with: tokens.signing_alg (RS256
// unless set) for clients that name none, either for a client that does.
// Both always have a key.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// Algs are the algorithms stepup keeps a signing key for.
var Algs = []string{AlgES256, AlgRS256}

// Sealer seals the signing keys' private halves at rest (secrets.Secrets).
type Sealer interface {
	Seal(plaintext, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
}

// NewKeyRing returns the key ring over store: private keys sealed by
// sealer, judged by the provider's clock now, a retired key published for
// publishFor (the longest token lifetime and a margin).
func NewKeyRing(store storage.Store, sealer Sealer, now func() time.Time, publishFor time.Duration) *KeyRing {
	return &KeyRing{store: store, secrets: sealer, now: now, publishFor: publishFor}
}

// KeyRing reads signing keys from the store, caching them briefly so that
// a token costs no extra query; a rotation on another replica is seen
// within keyCacheTTL, while the old key stays published long enough.
type KeyRing struct {
	store   storage.Store
	secrets Sealer
	now     func() time.Time // the provider's clock
	// publishFor is how long a retired key stays in the JWKS.
	publishFor time.Duration
	// prepublish is how long a new key is published before it signs
	// (SetPrepublish); its predecessor signs that much longer.
	prepublish time.Duration

	mu      sync.Mutex
	loaded  time.Time
	active  map[string]*signingKey // alg -> newest unretired key
	publish []op.Key
	// certs keeps the RS256 keys' certificates across reloads, by key ID.
	certs map[string]*x509.Certificate
}

const keyCacheTTL = 10 * time.Second

type signingKey struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	pub crypto.PublicKey
	// cert is an RS256 key's certificate (keyCertificate); nil for others.
	cert *x509.Certificate
}

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return k.pub }

func keyAAD(id string) []byte { return []byte("signing-key:" + id) }

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// SetPrepublish makes every key of a rotation published for d before it
// signs, its predecessor signing meanwhile (and published d longer):
// for verifiers that cache the JWKS, as Entra ID does for 24 hours, and
// would refuse a token whose kid they have not seen. The first key of a
// store, having no predecessor, signs at once; keys rotated again within
// d leave the one published longest signing. Set it before use.
func (kr *KeyRing) SetPrepublish(d time.Duration) { kr.prepublish = d }

// signsAt reports whether k is within its signing window at now: from
// its creation plus prepublish, until its retirement plus prepublish
// (when its successor starts signing).
func (kr *KeyRing) signsAt(k storage.SigningKey, now time.Time) bool {
	return kr.notEnded(k, now) && !now.Before(k.CreatedAt.Add(kr.prepublish))
}

// notEnded reports whether k is unretired, or retired less than
// prepublish ago: its signing window has not ended.
func (kr *KeyRing) notEnded(k storage.SigningKey, now time.Time) bool {
	return k.RetiredAt.IsZero() || now.Before(k.RetiredAt.Add(kr.prepublish))
}

// EnsureSigningKeys creates a key for every algorithm that has none.
func (kr *KeyRing) EnsureSigningKeys(ctx context.Context, now time.Time) error {
	if err := kr.load(ctx, now, true); err != nil {
		return err
	}
	kr.mu.Lock()
	var missing []string
	for _, alg := range Algs {
		if kr.active[alg] == nil {
			missing = append(missing, alg)
		}
	}
	kr.mu.Unlock()
	for _, alg := range missing {
		if _, err := kr.create(ctx, alg, now); err != nil {
			return err
		}
	}
	return kr.load(ctx, now, true)
}

// Rotate creates a new key for every algorithm and retires the old ones;
// they stay published for publishFor so that tokens they signed verify
// until those expire. With a prepublish delay the old ones sign until the
// new ones are that old, and stay published that much longer. It returns
// the new keys' IDs.
func (kr *KeyRing) Rotate(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	for _, alg := range Algs {
		id, err := kr.create(ctx, alg, now)
		if err != nil {
			return nil, err
		}
		if err := kr.store.RetireSigningKeys(ctx, alg, id, now, now.Add(kr.prepublish+kr.publishFor)); err != nil {
			return nil, fmt.Errorf("retire %s keys: %w", alg, err)
		}
		ids = append(ids, id)
	}
	return ids, kr.load(ctx, now, true)
}

func (kr *KeyRing) create(ctx context.Context, alg string, now time.Time) (string, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	id := rand.Text() // a key ID: 128 random bits, base32
	k := storage.SigningKey{ID: id, Algorithm: alg, PrivateKey: kr.secrets.Seal(der, keyAAD(id)), CreatedAt: now}
	if err := kr.store.CreateSigningKey(ctx, k); err != nil {
		return "", fmt.Errorf("store %s signing key: %w", alg, err)
	}
	return id, nil
}

func (kr *KeyRing) load(ctx context.Context, now time.Time, force bool) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if !force && now.Sub(kr.loaded) < keyCacheTTL && kr.active != nil {
		return nil
	}
	keys, err := kr.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	active, oldest := map[string]*signingKey{}, map[string]*signingKey{}
	certs := map[string]*x509.Certificate{}
	var publish []op.Key
	for _, k := range keys { // newest first
		der, err := kr.secrets.Open(k.PrivateKey, keyAAD(k.ID))
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		signer, ok := parsed.(crypto.Signer)
		if !ok {
			return fmt.Errorf("signing key %s is not a signer", k.ID)
		}
		alg := jose.SignatureAlgorithm(k.Algorithm)
		if kr.signsAt(k, now) && active[k.Algorithm] == nil {
			active[k.Algorithm] = &signingKey{id: k.ID, alg: alg, priv: signer}
		}
		if kr.notEnded(k, now) {
			oldest[k.Algorithm] = &signingKey{id: k.ID, alg: alg, priv: signer}
		}
		pub := &publicKey{id: k.ID, alg: alg, pub: signer.Public()}
		if k.Algorithm == AlgRS256 {
			if pub.cert = kr.certs[k.ID]; pub.cert == nil {
				if pub.cert, err = keyCertificate(k.ID, k.CreatedAt, signer); err != nil {
					return err
				}
			}
			certs[k.ID] = pub.cert
		}
		publish = append(publish, pub)
	}
	for alg, k := range oldest {
		// No key in its window: the one published longest signs (a
		// store's first key, or keys rotated again within prepublish).
		if active[alg] == nil {
			active[alg] = k
		}
	}
	kr.active, kr.publish, kr.certs, kr.loaded = active, publish, certs, now
	return nil
}

// Signing returns the active key for alg.
func (kr *KeyRing) Signing(ctx context.Context, alg string) (op.SigningKey, error) {
	if err := kr.load(ctx, kr.now(), false); err != nil {
		return nil, err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if k := kr.active[alg]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("no active %s signing key: run stepup serve once or stepup keys rotate", alg)
}

// Published returns every key the JWKS lists.
func (kr *KeyRing) Published(ctx context.Context) ([]op.Key, error) {
	if err := kr.load(ctx, kr.now(), false); err != nil {
		return nil, err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return append([]op.Key(nil), kr.publish...), nil
}
