-- A username's look-alike form (its UTS #39 confusable skeleton), indexed,
-- so that refusing a new name that looks like an existing one is one
-- lookup, not a read of every user. Rows from before are filled at start.
ALTER TABLE users ADD COLUMN skeleton TEXT NOT NULL DEFAULT '';
CREATE INDEX users_skeleton ON users (skeleton);
