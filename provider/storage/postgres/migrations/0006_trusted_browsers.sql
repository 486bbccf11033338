-- Browsers a user trusted after a second factor ("don't ask again on this
-- browser", SPEC §5), keyed by the hash of the cookie's opaque value.
CREATE TABLE trusted_browsers (
	hash         text PRIMARY KEY,
	id           text NOT NULL UNIQUE,
	user_id      text NOT NULL,
	name         text NOT NULL,
	method       text NOT NULL,
	levels       text NOT NULL,
	amr          text NOT NULL,
	created_at   timestamptz,
	last_used_at timestamptz,
	expires_at   timestamptz
);
CREATE INDEX trusted_browsers_user_id ON trusted_browsers (user_id);
CREATE INDEX trusted_browsers_expires_at ON trusted_browsers (expires_at) WHERE expires_at IS NOT NULL;
