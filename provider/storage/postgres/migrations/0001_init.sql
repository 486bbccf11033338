-- Times are timestamptz (NULL is the zero time); slices and maps are JSON
-- text. Columns compared by range or sorted (usernames, event types, KV
-- keys) use the "C" collation: byte order, the same as SQLite's.

CREATE TABLE users (
	id            text PRIMARY KEY,
	username      text COLLATE "C" NOT NULL UNIQUE,
	email         text NOT NULL,
	phone         text NOT NULL,
	password_hash text NOT NULL,
	active        boolean NOT NULL,
	permissions   text NOT NULL,
	upstream_sub  text NOT NULL,
	created_at    timestamptz,
	updated_at    timestamptz
);

CREATE TABLE auth_requests (
	id         text PRIMARY KEY,
	client_id  text NOT NULL,
	session_id text NOT NULL,
	user_id    text NOT NULL,
	done       boolean NOT NULL,
	data       bytea,
	created_at timestamptz,
	expires_at timestamptz
);
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE auth_codes (
	code            text PRIMARY KEY,
	auth_request_id text NOT NULL REFERENCES auth_requests (id) ON DELETE CASCADE
);
CREATE INDEX auth_codes_auth_request_id ON auth_codes (auth_request_id);

CREATE TABLE sessions (
	id         text PRIMARY KEY,
	user_id    text NOT NULL,
	factors    text NOT NULL,
	created_at timestamptz,
	updated_at timestamptz,
	expires_at timestamptz
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE refresh_tokens (
	hash       text PRIMARY KEY,
	id         text NOT NULL,
	client_id  text NOT NULL,
	user_id    text NOT NULL,
	scopes     text NOT NULL,
	audience   text NOT NULL,
	acr        text NOT NULL,
	amr        text NOT NULL,
	auth_time  timestamptz,
	created_at timestamptz,
	expires_at timestamptz
);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id, client_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE access_tokens (
	id               text PRIMARY KEY,
	client_id        text NOT NULL,
	user_id          text NOT NULL,
	scopes           text NOT NULL,
	audience         text NOT NULL,
	acr              text NOT NULL,
	amr              text NOT NULL,
	auth_time        timestamptz,
	refresh_token_id text NOT NULL,
	created_at       timestamptz,
	expires_at       timestamptz
);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id, client_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE signing_keys (
	id          text PRIMARY KEY,
	algorithm   text NOT NULL,
	private_key bytea,
	created_at  timestamptz,
	retired_at  timestamptz,
	expires_at  timestamptz
);

CREATE TABLE events (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time        timestamptz,
	type        text COLLATE "C" NOT NULL,
	actor       text NOT NULL,
	user_id     text NOT NULL,
	client_id   text NOT NULL,
	remote_addr text NOT NULL,
	outcome     text NOT NULL,
	details     text NOT NULL
);
CREATE INDEX events_user_id_seq ON events (user_id, seq);
CREATE INDEX events_type_seq ON events (type, seq);
CREATE INDEX events_time ON events (time);

CREATE TABLE rate_events (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key        text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX rate_events_key_created_at ON rate_events (key, created_at);
CREATE INDEX rate_events_expires_at ON rate_events (expires_at);

CREATE TABLE lockouts (
	key          text PRIMARY KEY,
	failures     integer NOT NULL,
	locked_until timestamptz
);

CREATE TABLE kv (
	namespace  text NOT NULL,
	key        text COLLATE "C" NOT NULL,
	value      bytea NOT NULL,
	version    bigint NOT NULL,
	expires_at timestamptz,
	PRIMARY KEY (namespace, key)
);
CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL;
