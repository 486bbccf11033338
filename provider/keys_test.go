package provider_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/stepup-mfa/stepup/testenv"
)

func fetchJWKS(t *testing.T, env *testenv.Env) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(env.URL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /keys: %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	return set
}

// TestJWKSCertificates: every RS256 key in the JWKS carries its own
// certificate (x5c, as Entra ID's External Authentication Methods
// require) under its kid, the same on every fetch; after a rotation the
// old and the new key are published together, each with its certificate.
func TestJWKSCertificates(t *testing.T) {
	env := testenv.New(t)
	check := func(set jose.JSONWebKeySet) map[string][]byte {
		t.Helper()
		certs := map[string][]byte{}
		for _, k := range set.Keys {
			if k.Algorithm != "RS256" {
				if len(k.Certificates) != 0 {
					t.Errorf("%s key %s has x5c", k.Algorithm, k.KeyID)
				}
				continue
			}
			if len(k.Certificates) != 1 {
				t.Fatalf("RS256 key %s has %d certificates, want 1", k.KeyID, len(k.Certificates))
			}
			c := k.Certificates[0]
			if !bytes.Equal(mustMarshalPub(t, c.PublicKey), mustMarshalPub(t, k.Key)) {
				t.Errorf("key %s: the certificate holds another key", k.KeyID)
			}
			s1, s256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
			if !bytes.Equal(k.CertificateThumbprintSHA1, s1[:]) || !bytes.Equal(k.CertificateThumbprintSHA256, s256[:]) {
				t.Errorf("key %s: x5t does not match x5c", k.KeyID)
			}
			certs[k.KeyID] = c.Raw
		}
		return certs
	}
	first := check(fetchJWKS(t, env))
	if len(first) != 1 {
		t.Fatalf("%d RS256 keys, want 1", len(first))
	}
	again := check(fetchJWKS(t, env))
	for id, raw := range first {
		if !bytes.Equal(again[id], raw) {
			t.Errorf("key %s: another certificate on the second fetch", id)
		}
	}
	if _, err := env.Server.RotateSigningKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	rotated := check(fetchJWKS(t, env))
	if len(rotated) != 2 {
		t.Fatalf("after rotation %d RS256 keys published, want the old and the new", len(rotated))
	}
	for id, raw := range first {
		if !bytes.Equal(rotated[id], raw) {
			t.Errorf("the retired key %s lost or changed its certificate", id)
		}
	}
}

func mustMarshalPub(t *testing.T, key any) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
