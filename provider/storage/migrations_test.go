package storage_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func TestMigrations(t *testing.T) {
	ms, err := storage.Migrations(fstest.MapFS{
		"migrations/0010_later.sql": {Data: []byte("B")},
		"migrations/0002_next.sql":  {Data: []byte("A")},
		"migrations/README":         {Data: []byte("not a migration")},
	})
	if err != nil || len(ms) != 2 || ms[0].Version != 2 || ms[0].SQL != "A" || ms[1].Name != "0010_later.sql" {
		t.Fatalf("Migrations = %+v, %v", ms, err)
	}
	_, err = storage.Migrations(fstest.MapFS{"migrations/init.sql": {}})
	if err == nil || !strings.Contains(err.Error(), "init.sql: name must start with a positive version number") {
		t.Fatalf("a migration without a version: %v", err)
	}
}
