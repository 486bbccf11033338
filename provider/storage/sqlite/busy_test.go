package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// TestBusyIsUnavailable: a write that cannot get the file's write lock
// within busy_timeout, because another process holds it, is
// storage.ErrUnavailable (a retry: 503 for the caller), not an unknown
// failure (500); and the store writes again once the lock is let go.
func TestBusyIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stepup.db")
	s := open(t, path)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// Another process: a connection of its own that holds the write lock.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	err = s.CreateUser(ctx, storage.User{ID: "u1", Username: "alice", Active: true, CreatedAt: now})
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a write while another process holds the lock: %v, want storage.ErrUnavailable", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, storage.User{ID: "u1", Username: "alice", Active: true, CreatedAt: now}); err != nil {
		t.Fatalf("after the lock is let go: %v", err)
	}
	// An answer of the database stays one.
	if err := s.CreateUser(ctx, storage.User{ID: "u2", Username: "alice", CreatedAt: now}); !errors.Is(err, storage.ErrAlreadyExists) || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a taken name: %v", err)
	}
}
