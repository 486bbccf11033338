package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// TestWALIsCutBackAfterABurst: after a burst of writes has grown the WAL,
// a checkpoint and the next write cut the file back to WALSizeLimit
// (issue 18, item 12: the WAL kept its high-water mark).
func TestWALIsCutBackAfterABurst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stepup.db")
	s := open(t, path)
	ctx := t.Context()
	now := time.Now()
	value := make([]byte, 512<<10)
	for i := range 48 { // 24 MiB
		value[0] = byte(i)
		if _, err := s.KVPut(ctx, "burst", fmt.Sprint(i), value, -1, time.Time{}, now); err != nil {
			t.Fatal(err)
		}
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if n := walSize(); n <= sqlite.WALSizeLimit {
		t.Fatalf("the burst left a WAL of %d bytes: too little to test the limit", n)
	}
	// The background checkpointer runs every 250 ms; each small write
	// after it has caught up restarts the WAL.
	deadline := time.Now().Add(20 * time.Second)
	for walSize() > sqlite.WALSizeLimit {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL stays at %d bytes, above %d", walSize(), sqlite.WALSizeLimit)
		}
		if _, err := s.KVPut(ctx, "burst", "tick", []byte("x"), -1, time.Time{}, now); err != nil {
			t.Fatal(err)
		}
	}
}
