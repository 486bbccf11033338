-- Browsers a user trusted after a second factor ("don't ask again on this
-- browser", SPEC §5), keyed by the hash of the cookie's opaque value.
CREATE TABLE trusted_browsers (
	hash         TEXT PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL,
	name         TEXT NOT NULL,
	method       TEXT NOT NULL,
	levels       TEXT NOT NULL,
	amr          TEXT NOT NULL,
	created_at   INTEGER,
	last_used_at INTEGER,
	expires_at   INTEGER
) STRICT;
CREATE INDEX trusted_browsers_user_id ON trusted_browsers (user_id);
CREATE INDEX trusted_browsers_expires_at ON trusted_browsers (expires_at) WHERE expires_at IS NOT NULL;
