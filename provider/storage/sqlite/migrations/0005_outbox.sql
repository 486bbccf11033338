-- The transactional outbox: a notification that must follow a change (the
-- "a method was added" email) is inserted in the change's transaction and
-- delivered after commit by a worker of any replica. A row is claimed by
-- one worker at a time (claim, until claimed_until); a claim that lapses
-- is taken again, so delivery is at least once.
CREATE TABLE outbox (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	kind          TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	recipient     TEXT NOT NULL CHECK (recipient <> ''),
	subject       TEXT NOT NULL,
	body          TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	next_at       INTEGER NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	claim         TEXT NOT NULL DEFAULT '',
	claimed_until INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_next_at ON outbox (next_at);

-- An event always has a type: one without is a bug, and its write (with
-- the change it goes with) is refused rather than stored unreadable.
CREATE TRIGGER events_type_required BEFORE INSERT ON events WHEN NEW.type = ''
BEGIN
	SELECT RAISE(ABORT, 'an audit event needs a type');
END;
