package protocol

import (
	"reflect"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// TestAsStored: an update starts from the request as stored. When the row
// is the one the handler read, that is a copy of what it decoded, with a
// Challenges map of its own; when the row changed meanwhile, it is the row
// decoded afresh.
func TestAsStored(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	read := &AuthRequest{Data: AuthRequestData{RedirectURI: "https://rp.example/cb", Scopes: []string{"openid"},
		Challenges: map[string]Challenge{"totp": {ID: "c1", ExpiresAt: t0.Add(time.Minute)}}}}
	read.Stored = read.Encode()
	read.Stored.ID, read.Stored.ClientID, read.Stored.CreatedAt, read.Stored.ExpiresAt = "ar1", "web", t0, t0.Add(30*time.Minute)

	same, err := read.AsStored(read.Stored)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(same.Data, read.Data) || same.Stored.ID != "ar1" {
		t.Fatalf("copy of an unchanged row differs: %+v", same.Data)
	}
	same.Data.Challenges["sms"] = Challenge{ID: "c2"}
	if _, shared := read.Data.Challenges["sms"]; shared {
		t.Fatal("the copy shares its Challenges map with the request it was made from")
	}

	other := &AuthRequest{Stored: read.Stored, Data: read.Data}
	other.Data.Challenges = map[string]Challenge{"tempcode": {ID: "c3"}}
	changed := other.Encode() // another tab began a challenge of its own
	for name, cur := range map[string]storage.AuthRequest{
		"data":       changed,
		"done":       func() storage.AuthRequest { r := read.Stored; r.Done = true; return r }(),
		"expires_at": func() storage.AuthRequest { r := read.Stored; r.ExpiresAt = t0; return r }(),
	} {
		got, err := read.AsStored(cur)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := DecodeAuthRequest(cur)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed: got %+v, want the row decoded %+v", name, got, want)
		}
	}

	if _, err := read.AsStored(storage.AuthRequest{ID: "ar1", Data: []byte("{")}); err == nil {
		t.Error("a changed row that is not JSON decoded without error")
	}
}
