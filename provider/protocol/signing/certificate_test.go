package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"
)

// TestKeyCertificateIsTheKeys: the certificate carries the key itself,
// and is the same every time it is made, so that replicas and reloads
// publish one certificate per key without storing it.
func TestKeyCertificateIsTheKeys(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	a, err := keyCertificate("K1", created, priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keyCertificate("K1", created, priv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Raw, b.Raw) {
		t.Error("two certificates of one key differ: replicas would publish different x5c")
	}
	if pub, ok := a.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&priv.PublicKey) {
		t.Errorf("certificate key %T is not the signing key", a.PublicKey)
	}
	if err := a.CheckSignature(a.SignatureAlgorithm, a.RawTBSCertificate, a.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if !a.NotBefore.Equal(created.Truncate(time.Second)) || !a.NotAfter.After(created.Add(10*365*24*time.Hour)) {
		t.Errorf("validity %s..%s, want from the key's creation for years", a.NotBefore, a.NotAfter)
	}
	other, err := keyCertificate("K2", created, priv)
	if err != nil {
		t.Fatal(err)
	}
	if other.SerialNumber.Cmp(a.SerialNumber) == 0 {
		t.Error("two key IDs share a serial number")
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := keyCertificate("E1", created, ec); err == nil {
		t.Error("an ECDSA key got a certificate: its signatures are randomised, replicas would disagree")
	}
}
