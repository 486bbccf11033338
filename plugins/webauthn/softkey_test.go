package webauthn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// softKey is a test-only software authenticator: one ECDSA P-256
// credential that answers WebAuthn creation and request options as a
// browser would post them (the JSON of PublicKeyCredential.toJSON()), with
// "none" attestation. Its flags and counter are set by the test.
type softKey struct {
	id      []byte
	key     *ecdsa.PrivateKey
	user    []byte // the user handle it was created for
	origin  string
	counter uint32
	// be and bs are the backup-eligible and backup-state flags; uv says
	// whether it verifies the user.
	be, bs, uv bool
}

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

func newSoftKey(t testing.TB, origin string) *softKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softKey{id: id, key: k, origin: origin, uv: true}
}

var b64 = base64.RawURLEncoding

type optionsJSON struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parseOptions(t testing.TB, raw string) optionsJSON {
	t.Helper()
	var o optionsJSON
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatalf("options %q: %v", raw, err)
	}
	return o
}

func (k *softKey) flags() byte {
	f := byte(flagUP)
	if k.uv {
		f |= flagUV
	}
	if k.be {
		f |= flagBE
	}
	if k.bs {
		f |= flagBS
	}
	return f
}

func (k *softKey) clientData(typ, challenge string) []byte {
	raw, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return raw
}

func authData(rpID string, flags byte, counter uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, counter)
}

// create answers creation options (sdk.DisplayWebAuthnCreation's value).
func (k *softKey) create(t testing.TB, options string) string {
	t.Helper()
	o := parseOptions(t, options)
	user, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatalf("user id %q: %v", o.PublicKey.User.ID, err)
	}
	k.user = user
	x, y := k.key.X.FillBytes(make([]byte, 32)), k.key.Y.FillBytes(make([]byte, 32))
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		t.Fatal(err)
	}
	ad := authData(o.PublicKey.RP.ID, k.flags()|flagAT, k.counter)
	ad = append(ad, make([]byte, 16)...) // AAGUID: none
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.id)))
	ad = append(append(ad, k.id...), cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	return k.answer(map[string]any{
		"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", o.PublicKey.Challenge)),
		"attestationObject": b64.EncodeToString(att),
		"transports":        []string{"usb"},
	})
}

// get answers request options (Challenge.Public[sdk.PublicWebAuthnRequest]),
// counting one signature; signer, when not nil, signs instead of the key
// (a wrong signature).
func (k *softKey) get(t testing.TB, options string, signer *ecdsa.PrivateKey) string {
	t.Helper()
	o := parseOptions(t, options)
	k.counter++
	ad := authData(o.PublicKey.RPID, k.flags(), k.counter)
	cd := k.clientData("webauthn.get", o.PublicKey.Challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	if signer == nil {
		signer = k.key
	}
	sig, err := ecdsa.SignASN1(rand.Reader, signer, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return k.answer(map[string]any{
		"clientDataJSON":    b64.EncodeToString(cd),
		"authenticatorData": b64.EncodeToString(ad),
		"signature":         b64.EncodeToString(sig),
		"userHandle":        b64.EncodeToString(k.user),
	})
}

func (k *softKey) answer(response map[string]any) string {
	raw, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"authenticatorAttachment": "cross-platform", "clientExtensionResults": map[string]any{}, "response": response,
	})
	return string(raw)
}
