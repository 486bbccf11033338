-- The transactional outbox: a notification that must follow a change (the
-- "a method was added" email) is inserted in the change's transaction and
-- delivered after commit by a worker of any replica. A row is claimed by
-- one worker at a time (claim, until claimed_until); a claim that lapses
-- is taken again, so delivery is at least once.
CREATE TABLE outbox (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind          text NOT NULL,
	user_id       text NOT NULL,
	recipient     text NOT NULL CHECK (recipient <> ''),
	subject       text NOT NULL,
	body          text NOT NULL,
	created_at    timestamptz NOT NULL,
	next_at       timestamptz NOT NULL,
	attempts      integer NOT NULL DEFAULT 0,
	claim         text NOT NULL DEFAULT '',
	claimed_until timestamptz NOT NULL DEFAULT '-infinity',
	last_error    text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_next_at ON outbox (next_at);

-- An event always has a type: one without is a bug, and its write (with
-- the change it goes with) is refused rather than stored unreadable.
ALTER TABLE events ADD CONSTRAINT events_type_required CHECK (type <> '') NOT VALID;
