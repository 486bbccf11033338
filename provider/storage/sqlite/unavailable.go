package sqlite

import (
	"fmt"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// classify wraps err with storage.ErrUnavailable when the database file
// could not take the write: SQLITE_BUSY after busy_timeout, which is
// another process (a `stepup user add`, a backup) holding the write lock
// for longer. Like a PostgreSQL that went away, it is a retry for the
// caller, not a verdict. Every other error is returned unchanged.
func classify(err error) error {
	if err == nil || errCode(err)&0xff != sqlite3.SQLITE_BUSY {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}
