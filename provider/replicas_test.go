package provider_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// TestTwoReplicasServeOneLogin puts two providers on one PostgreSQL schema
// behind a round-robin balancer: every step of the flow lands on the other
// replica from the one before.
func TestTwoReplicasServeOneLogin(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	secret := filepath.Join(t.TempDir(), "secret.key")
	var replicas [2]http.Handler
	var n atomic.Int64
	var served [2]atomic.Int64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1) % 2
		served[i].Add(1)
		replicas[i].ServeHTTP(w, r)
	}))
	defer lb.Close()
	sameIssuer := testenv.WithConfig(func(c *config.Config) { c.Issuer = lb.URL })
	a := testenv.New(t, testenv.WithPostgresDSN(dsn), testenv.WithSecretFile(secret), sameIssuer)
	b := testenv.New(t, testenv.WithPostgresDSN(dsn), testenv.WithSecretFile(secret), sameIssuer)
	replicas[0], replicas[1] = a.Server, b.Server

	a.AddUser(t, "alice", alicePassword)
	rp := a.NewRP(t, testenv.PublicClient, "")
	br := a.NewBrowser(t)
	tok := login(t, a, br, rp, nil, "alice", alicePassword)
	if tok.Claims.ACR != "aal1" {
		t.Fatalf("acr = %q", tok.Claims.ACR)
	}
	if _, err := rp.Refresh(tok.OAuth.RefreshToken); err != nil {
		t.Fatal(err)
	}
	// SSO works across replicas too.
	if br.Get(rp.AuthURL(nil).URL).IsLoginPage() {
		t.Fatal("the session was not seen by the other replica")
	}
	if served[0].Load() < 3 || served[1].Load() < 3 {
		t.Fatalf("requests per replica: %d, %d", served[0].Load(), served[1].Load())
	}
}

func TestPostgresLogin(t *testing.T) {
	env := testenv.New(t, testenv.WithPostgres())
	env.AddUser(t, "alice", alicePassword)
	tok := login(t, env, env.NewBrowser(t), env.NewRP(t, testenv.PublicClient, ""), nil, "alice", alicePassword)
	if tok.Claims.ACR != "aal1" {
		t.Fatalf("acr = %q", tok.Claims.ACR)
	}
}
