package protocol

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

// TestCreatedRequestIsTheStoredRow: the request CreateAuthRequest returns,
// which the authorization endpoint hands to the login page it serves, is
// the row as the store keeps it (to the microsecond), so the first update
// of it decodes nothing (AsStored).
func TestCreatedRequestIsTheStoredRow(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC) }
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "stepup.db"), storage.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o := &Storage{Store: st, Clients: map[string]*Client{"web": NewClient(config.Client{ID: "web", Secret: "s3cret"}, 0, now, false, nil)},
		Now: now, Tokens: config.Tokens{AuthRequestTTL: 30 * time.Minute}, Bind: func(*AuthRequest) {}}
	created, err := o.CreateAuthRequest(ctx, &oidc.AuthRequest{ClientID: "web", ResponseType: oidc.ResponseTypeCode,
		RedirectURI: "https://rp.example/cb", Scopes: []string{"openid"}, ACRValues: []string{"aal2"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ar := created.(*AuthRequest)
	row, err := st.GetAuthRequest(ctx, ar.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if !sameRow(ar.Stored, row) {
		t.Fatalf("created %+v\nstored  %+v", ar.Stored, row)
	}
}
