// Package postgres is the PostgreSQL storage.Store backend (pgx), for one
// or many stepup replicas sharing a database.
//
// Every single-use and counting operation is atomic in SQL, so it holds
// across replicas: codes and refresh tokens are spent with DELETE ...
// RETURNING inside the statement that uses them, compare-and-swap is a
// conditional UPDATE or INSERT ... ON CONFLICT, the Update methods lock the
// row with SELECT ... FOR UPDATE, and CountEvent serialises callers of one
// key with a transaction-level advisory lock. Statements that belong
// together travel in one round trip (a pgx batch or one statement with
// data-modifying CTEs).
//
// The fn callbacks of the Update methods run while the row is locked: they
// must be quick and must not write the same row through the Store.
//
// Open applies the embedded migrations (migrations/*.sql) under an advisory
// lock, so replicas starting together migrate once. The schema lives in the
// first schema of the DSN's search_path. testing.go holds helpers that give
// each test its own schema.
package postgres
