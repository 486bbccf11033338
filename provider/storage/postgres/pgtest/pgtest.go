// Package pgtest gives each test its own schema on the test PostgreSQL
// server (STEPUP_TEST_POSTGRES_DSN, or the machine's 127.0.0.1:5432), so
// test binaries, not the stepup binary, link the testing package.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stepup-mfa/stepup/provider/storage"
	"github.com/stepup-mfa/stepup/provider/storage/postgres"
)

// Helpers for tests, here and in other packages: each test gets its own
// schema on one shared PostgreSQL server, dropped when the test ends.

// DefaultDSN is the PostgreSQL every development and CI machine runs
// (trust authentication, database "test").
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// ServerDSN returns $STEPUP_TEST_POSTGRES_DSN, or DefaultDSN when
// it is unset. Tests never skip when the server is missing: they fail.
func ServerDSN() string {
	if dsn := os.Getenv("STEPUP_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// DSN creates a fresh, empty schema on the test server (ServerDSN),
// drops it when t ends, and returns a DSN whose search_path is that schema.
// Open it as often as needed, for example once per replica or from a child
// process; Stores opened on it must be closed before t's cleanup drops the
// schema (register their Close after calling DSN).
func DSN(t testing.TB) string {
	t.Helper()
	return newTestSchema(t, ServerDSN())
}

// Open opens a Store with opts for t and closes it when t ends. If dsn
// already sets a search_path (a DSN from DSN), the Store opens that
// schema; otherwise dsn names a server ("" means ServerDSN) and the
// Store gets a fresh schema on it, dropped when t ends.
func Open(t testing.TB, dsn string, opts ...storage.Option) *postgres.Store {
	t.Helper()
	if dsn == "" {
		dsn = ServerDSN()
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("postgres test DSN: %v", err)
	}
	if cfg.RuntimeParams["search_path"] == "" {
		dsn = newTestSchema(t, dsn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("%v (is PostgreSQL running? set STEPUP_TEST_POSTGRES_DSN)", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SchemaDSN is DSN on a given server: a fresh schema on serverDSN, dropped
// when t ends.
func SchemaDSN(t testing.TB, serverDSN string) string {
	t.Helper()
	return newTestSchema(t, serverDSN)
}

// newTestSchema creates schema stepup_test_<random> on the server of dsn,
// registers its removal, and returns dsn with search_path set to it.
func newTestSchema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "stepup_test_" + hex.EncodeToString(b)
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("creating test schema: %v (is PostgreSQL running? set STEPUP_TEST_POSTGRES_DSN)", err)
	}
	t.Cleanup(func() {
		if err := admin(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

// withSearchPath adds search_path=schema to a URL or key=value DSN.
func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("postgres test DSN is not a valid URL")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}
