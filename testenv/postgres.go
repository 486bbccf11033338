package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ory/dockertest/v3"

	"github.com/stepup-mfa/stepup/provider/storage/postgres/pgtest"
)

var (
	pgOnce   sync.Once
	pgServer string
	pgSource string
	pgErr    error
)

// PostgresDSN returns a DSN for a fresh schema, dropped when the test
// ends, on the first PostgreSQL server found:
//
//  1. $STEPUP_TEST_POSTGRES_DSN when set;
//  2. the machine's own server at 127.0.0.1:5432 (every stepup developer
//     and CI machine runs one, trust auth, database "test");
//  3. a postgres:16 container started with dockertest, where a Docker
//     engine answers (and removed when the test process ends).
//
// It fails the test when none is there; it never skips. The source used
// is logged once per test.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgServer, pgSource, pgErr = findPostgres() })
	if pgErr != nil {
		t.Fatal(pgErr)
	}
	t.Logf("PostgreSQL: %s", pgSource)
	return pgtest.SchemaDSN(t, pgServer)
}

func findPostgres() (dsn, source string, err error) {
	if dsn := os.Getenv("STEPUP_TEST_POSTGRES_DSN"); dsn != "" {
		return dsn, "STEPUP_TEST_POSTGRES_DSN", nil
	}
	if reachable(pgtest.DefaultDSN, 3*time.Second) {
		return pgtest.DefaultDSN, "the machine's server at 127.0.0.1:5432", nil
	}
	pool, err := dockertest.NewPool("")
	if err == nil {
		err = pool.Client.Ping()
	}
	if err != nil {
		return "", "", fmt.Errorf("no PostgreSQL for the tests: 127.0.0.1:5432 does not answer, STEPUP_TEST_POSTGRES_DSN is unset and no Docker engine answers (%v)", err)
	}
	res, err := pool.RunWithOptions(&dockertest.RunOptions{Repository: "postgres", Tag: "16",
		Env: []string{"POSTGRES_HOST_AUTH_METHOD=trust", "POSTGRES_DB=test"}})
	if err != nil {
		return "", "", fmt.Errorf("start a PostgreSQL container: %w", err)
	}
	res.Expire(30 * 60) // the container removes itself if the process dies
	dsn = fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable", res.GetHostPort("5432/tcp"))
	pool.MaxWait = 60 * time.Second
	if err := pool.Retry(func() error {
		if !reachable(dsn, 2*time.Second) {
			return fmt.Errorf("not ready")
		}
		return nil
	}); err != nil {
		return "", "", fmt.Errorf("PostgreSQL container never became ready: %w", err)
	}
	return dsn, "a dockertest container " + res.Container.Name, nil
}

func reachable(dsn string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx) == nil
}
