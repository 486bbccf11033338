-- A redeemed code leaves a record, and every token it began (through any
-- rotations) names its request as grant_id, so that a second use of the
-- code can revoke them (RFC 6749 §4.1.2). Tokens issued before the upgrade
-- belong to no grant.
ALTER TABLE refresh_tokens ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id) WHERE grant_id <> '';
CREATE INDEX access_tokens_grant_id ON access_tokens (grant_id) WHERE grant_id <> '';

CREATE TABLE redeemed_codes (
	request_id  TEXT PRIMARY KEY,
	client_id   TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	data        BLOB,
	redeemed_at INTEGER,
	expires_at  INTEGER
) STRICT;
CREATE INDEX redeemed_codes_expires_at ON redeemed_codes (expires_at) WHERE expires_at IS NOT NULL;
