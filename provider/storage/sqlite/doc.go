// Package sqlite is the embedded storage.Store backend: one SQLite file,
// pure Go (modernc.org/sqlite), for a single stepup instance or several
// processes on one host sharing the file.
//
// The file runs in WAL mode. All writes go through one connection
// (BEGIN IMMEDIATE, so a read-then-write transaction never fails with
// "database is locked" halfway), and plain reads go to a small pool of
// query-only connections. SQLite serialises writers, so every
// read-modify-write method is atomic across goroutines and processes.
//
// The fn callbacks of the Update methods run inside the write transaction
// while it holds the only writer connection: they must be quick and must not
// call the Store themselves.
//
// Times are kept as INTEGER unix microseconds in UTC, slices and maps as
// JSON text. The schema lives in migrations/*.sql and is applied by Open.
// This package holds no business rules; those belong to the provider.
package sqlite
