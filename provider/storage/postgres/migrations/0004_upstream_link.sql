-- A local user may be linked to one account at the upstream identity
-- provider, named by its issuer and subject (SPEC §11). The pair is unique
-- among linked users, so two upstream accounts never share a local one
-- and a sign-in finds its user with one indexed lookup.
ALTER TABLE users ADD COLUMN upstream_iss text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE users ALTER COLUMN upstream_sub TYPE text COLLATE "C";
CREATE UNIQUE INDEX users_upstream ON users (upstream_iss, upstream_sub) WHERE upstream_sub <> '';
