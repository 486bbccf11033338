package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/conformance"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
	"github.com/stepup-mfa/stepup/provider/storage/postgres/pgtest"
)

// The server comes from $STEPUP_TEST_POSTGRES_DSN (default
// pgtest.DefaultDSN); every store gets its own schema.

func newStore(t testing.TB, opts ...storage.Option) storage.Store { return pgtest.Open(t, "", opts...) }

func TestConformance(t *testing.T) {
	conformance.RunTests(t, newStore)
}

// Two Stores on one schema, opened at once, behave as two replicas.
func TestReplicas(t *testing.T) {
	conformance.RunReplicaTests(t, func(t testing.TB, opts ...storage.Option) (storage.Store, storage.Store) {
		dsn := pgtest.DSN(t)
		var stores [2]*postgres.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), dsn, opts...) })
		}
		wg.Wait()
		for i, s := range stores {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			t.Cleanup(func() { s.Close() })
		}
		return stores[0], stores[1]
	})
}

func TestOpenUnreachable(t *testing.T) {
	start := time.Now()
	_, err := postgres.Open(context.Background(), "postgres://stepup:s3cret@127.0.0.1:1/stepup?sslmode=disable")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "storage: cannot reach postgres at 127.0.0.1:1: ") || strings.Contains(msg, "s3cret") {
		t.Fatalf("Open error: %q", msg)
	}
	t.Log(err)
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("Open took %v to fail", d)
	}
}

func BenchmarkRotateRefreshToken(b *testing.B) { conformance.BenchRotateRefreshToken(b, newStore) }
func BenchmarkRedeemAuthRequest(b *testing.B)  { conformance.BenchRedeemAuthRequest(b, newStore) }
func BenchmarkGetSessionUser(b *testing.B)     { conformance.BenchGetSessionUser(b, newStore) }
