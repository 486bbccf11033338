package sqlite_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/conformance"
	"github.com/stepup-mfa/stepup/provider/storage/sqlite"
)

func open(t testing.TB, path string, opts ...storage.Option) *sqlite.Store {
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB, opts ...storage.Option) storage.Store {
	return open(t, filepath.Join(t.TempDir(), "new", "stepup.db"), opts...)
}

func TestConformance(t *testing.T) {
	conformance.RunTests(t, newStore)
}

// Two Stores on one file behave as two processes sharing it.
func TestReplicas(t *testing.T) {
	conformance.RunReplicaTests(t, func(t testing.TB, opts ...storage.Option) (storage.Store, storage.Store) {
		path := filepath.Join(t.TempDir(), "stepup.db")
		var stores [2]*sqlite.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path, opts...) })
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

func TestOpenFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(t.Context(), filepath.Join(file, "stepup.db")); err == nil {
		t.Fatal("Open below a regular file succeeded")
	}
}

func BenchmarkRotateRefreshToken(b *testing.B) { conformance.BenchRotateRefreshToken(b, newStore) }
func BenchmarkRedeemAuthRequest(b *testing.B)  { conformance.BenchRedeemAuthRequest(b, newStore) }
func BenchmarkGetSessionUser(b *testing.B)     { conformance.BenchGetSessionUser(b, newStore) }
