-- Times are INTEGER unix microseconds (UTC); NULL is the zero time.
-- Slices and maps are JSON text.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	email         TEXT NOT NULL,
	phone         TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	active        INTEGER NOT NULL,
	permissions   TEXT NOT NULL,
	upstream_sub  TEXT NOT NULL,
	created_at    INTEGER,
	updated_at    INTEGER
) STRICT;

CREATE TABLE auth_requests (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL,
	session_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	done       INTEGER NOT NULL,
	data       BLOB,
	created_at INTEGER,
	expires_at INTEGER
) STRICT;
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE auth_codes (
	code            TEXT PRIMARY KEY,
	auth_request_id TEXT NOT NULL REFERENCES auth_requests (id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_codes_auth_request_id ON auth_codes (auth_request_id);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	factors    TEXT NOT NULL,
	created_at INTEGER,
	updated_at INTEGER,
	expires_at INTEGER
) STRICT;
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE refresh_tokens (
	hash       TEXT PRIMARY KEY,
	id         TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	audience   TEXT NOT NULL,
	acr        TEXT NOT NULL,
	amr        TEXT NOT NULL,
	auth_time  INTEGER,
	created_at INTEGER,
	expires_at INTEGER
) STRICT;
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE access_tokens (
	id               TEXT PRIMARY KEY,
	client_id        TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	scopes           TEXT NOT NULL,
	audience         TEXT NOT NULL,
	acr              TEXT NOT NULL,
	amr              TEXT NOT NULL,
	auth_time        INTEGER,
	refresh_token_id TEXT NOT NULL,
	created_at       INTEGER,
	expires_at       INTEGER
) STRICT;
CREATE INDEX access_tokens_user_id ON access_tokens (user_id, client_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE signing_keys (
	id          TEXT PRIMARY KEY,
	algorithm   TEXT NOT NULL,
	private_key BLOB,
	created_at  INTEGER,
	retired_at  INTEGER,
	expires_at  INTEGER
) STRICT;

-- AUTOINCREMENT: a seq is never reused, even after the newest rows go.
CREATE TABLE events (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	time        INTEGER,
	type        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	client_id   TEXT NOT NULL,
	remote_addr TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	details     TEXT NOT NULL
) STRICT;
CREATE INDEX events_user_id_seq ON events (user_id, seq);
CREATE INDEX events_type_seq ON events (type, seq);
CREATE INDEX events_time ON events (time);

CREATE TABLE rate_events (
	key        TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_events_key_created_at ON rate_events (key, created_at);
CREATE INDEX rate_events_expires_at ON rate_events (expires_at);

CREATE TABLE lockouts (
	key          TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	locked_until INTEGER
) STRICT, WITHOUT ROWID;

CREATE TABLE kv (
	namespace  TEXT NOT NULL,
	key        TEXT NOT NULL,
	value      BLOB,
	version    INTEGER NOT NULL,
	expires_at INTEGER,
	PRIMARY KEY (namespace, key)
) STRICT;
CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
