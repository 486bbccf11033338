package provider

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

// TestAsStored: an update starts from the request as stored. When the row
// is the one the handler read, that is a copy of what it decoded, with a
// Challenges map of its own; when the row changed meanwhile, it is the row
// decoded afresh.
func TestAsStored(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	read := &authRequest{data: authRequestData{RedirectURI: "https://rp.example/cb", Scopes: []string{"openid"},
		Challenges: map[string]challenge{"totp": {ID: "c1", ExpiresAt: t0.Add(time.Minute)}}}}
	read.stored = read.encode()
	read.stored.ID, read.stored.ClientID, read.stored.CreatedAt, read.stored.ExpiresAt = "ar1", "web", t0, t0.Add(30*time.Minute)

	same, err := read.asStored(read.stored)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(same.data, read.data) || same.stored.ID != "ar1" {
		t.Fatalf("copy of an unchanged row differs: %+v", same.data)
	}
	same.data.Challenges["sms"] = challenge{ID: "c2"}
	if _, shared := read.data.Challenges["sms"]; shared {
		t.Fatal("the copy shares its Challenges map with the request it was made from")
	}

	other := &authRequest{stored: read.stored, data: read.data}
	other.data.Challenges = map[string]challenge{"tempcode": {ID: "c3"}}
	changed := other.encode() // another tab began a challenge of its own
	for name, cur := range map[string]storage.AuthRequest{
		"data":       changed,
		"done":       func() storage.AuthRequest { r := read.stored; r.Done = true; return r }(),
		"expires_at": func() storage.AuthRequest { r := read.stored; r.ExpiresAt = t0; return r }(),
	} {
		got, err := read.asStored(cur)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := decodeAuthRequest(cur)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed: got %+v, want the row decoded %+v", name, got, want)
		}
	}

	if _, err := read.asStored(storage.AuthRequest{ID: "ar1", Data: []byte("{")}); err == nil {
		t.Error("a changed row that is not JSON decoded without error")
	}
}

// TestCreatedRequestIsTheStoredRow: the request CreateAuthRequest returns,
// which the authorization endpoint hands to the login page it serves, is
// the row as the store keeps it (to the microsecond), so the first update
// of it decodes nothing (asStored).
func TestCreatedRequestIsTheStoredRow(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC) }
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "stepup.db"), storage.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Server{store: st, clients: map[string]*protocol.Client{"web": protocol.NewClient(config.Client{ID: "web", Secret: "s3cret"}, 0, now, false, nil)}, now: now}
	s.cfg.Tokens.AuthRequestTTL = 30 * time.Minute
	created, err := oidcStorage{s}.CreateAuthRequest(ctx, &oidc.AuthRequest{ClientID: "web", ResponseType: oidc.ResponseTypeCode,
		RedirectURI: "https://rp.example/cb", Scopes: []string{"openid"}, ACRValues: []string{"aal2"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ar := created.(*authRequest)
	row, err := st.GetAuthRequest(ctx, ar.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if !sameRow(ar.stored, row) {
		t.Fatalf("created %+v\nstored  %+v", ar.stored, row)
	}
}
