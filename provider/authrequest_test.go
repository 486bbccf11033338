package provider

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/provider/protocol"
	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

// TestCreatedRequestIsTheStoredRow: the request CreateAuthRequest returns,
// which the authorization endpoint hands to the login page it serves, is
// the row as the store keeps it (to the microsecond), so the first update
// of it decodes nothing (protocol.AuthRequest.AsStored).
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
	ar := created.(*protocol.AuthRequest)
	row, err := st.GetAuthRequest(ctx, ar.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if st := ar.Stored; st.ID != row.ID || st.ClientID != row.ClientID || st.UserID != row.UserID || st.SessionID != row.SessionID ||
		st.Done != row.Done || !st.CreatedAt.Equal(row.CreatedAt) || !st.ExpiresAt.Equal(row.ExpiresAt) || string(st.Data) != string(row.Data) {
		t.Fatalf("created %+v\nstored  %+v", ar.Stored, row)
	}
}
