package signing

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ExternalMFAPrepublish is how long a new key is published before it
// signs when an external-MFA client is registered: Entra ID caches the
// provider's metadata and JWKS for 24 hours (KeyRing.SetPrepublish).
const ExternalMFAPrepublish = 25 * time.Hour

// certificateLifetime is how long a key's certificate says it is valid:
// longer than any key is kept, since the certificate only carries the
// key (x5c) to verifiers that insist on one, and anchors no trust.
const certificateLifetime = 20 * 365 * 24 * time.Hour

// keyCertificate is the self-signed certificate of an RS256 signing key,
// which Entra ID's External Authentication Methods require in the JWKS
// (x5c). It is a function of the key, its ID and its creation time alone
// (RSA PKCS #1 v1.5 signatures are deterministic), so the certificate is
// made once with the key in effect: every replica, and every reload,
// publishes the very same one, and no store holds it.
func keyCertificate(id string, created time.Time, priv crypto.Signer) (*x509.Certificate, error) {
	if _, ok := priv.(*rsa.PrivateKey); !ok {
		return nil, fmt.Errorf("signing key %s: certificates are made for RSA keys only", id)
	}
	serial := sha256.Sum256([]byte("stepup signing key certificate:" + id))
	notBefore := created.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial[:16]),
		Subject:               pkix.Name{CommonName: "stepup token signing key " + id},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(certificateLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: certificate: %w", id, err)
	}
	return x509.ParseCertificate(der)
}

// JSONWebKeySet is the JWKS: every published key, the RS256 ones with
// their certificate (x5c, with its x5t and x5t#S256 thumbprints) under
// the same kid as the tokens they sign. zitadel's own keys endpoint
// carries no certificate.
func (kr *KeyRing) JSONWebKeySet(ctx context.Context) (*jose.JSONWebKeySet, error) {
	if err := kr.load(ctx, kr.now(), false); err != nil {
		return nil, err
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	set := &jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(kr.publish))}
	for _, k := range kr.publish {
		jwk := jose.JSONWebKey{KeyID: k.ID(), Algorithm: string(k.Algorithm()), Use: k.Use(), Key: k.Key()}
		if pk, ok := k.(*publicKey); ok && pk.cert != nil {
			s1, s256 := sha1.Sum(pk.cert.Raw), sha256.Sum256(pk.cert.Raw)
			jwk.Certificates = []*x509.Certificate{pk.cert}
			jwk.CertificateThumbprintSHA1, jwk.CertificateThumbprintSHA256 = s1[:], s256[:]
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}
