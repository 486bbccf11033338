package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// TestClassify: the server going away, in each of the forms pgx reports
// it, is storage.ErrUnavailable; the server's answers about the statement
// are not.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true}, // terminated by administrator (pg_ctl stop -m fast)
		{&pgconn.PgError{Code: "57P02"}, true}, // crash shutdown
		{&pgconn.PgError{Code: "57P03"}, true}, // starting up, shutting down
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{fmt.Errorf("storage: user: %w", puddle.ErrClosedPool), true},
		{fmt.Errorf("storage: user: %w", context.DeadlineExceeded), true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation: an answer
		{&pgconn.PgError{Code: "40001"}, false}, // serialization failure: an answer
		{pgx.ErrNoRows, false},
		{context.Canceled, false}, // the caller went away, not the database
		{errors.New("storage: something else"), false},
	} {
		got := classify(c.err)
		if errors.Is(got, storage.ErrUnavailable) != c.want {
			t.Errorf("classify(%v) = %v, unavailable want %v", c.err, got, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("classify(%v) = %v lost the cause", c.err, got)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}
