-- A local user may be linked to one account at the upstream identity
-- provider, named by its issuer and subject (SPEC §11). The pair is unique
-- among linked users, so two upstream accounts never share a local one
-- and a sign-in finds its user with one indexed lookup. Users linked
-- before the upgrade carried only a subject; none were created that way.
ALTER TABLE users ADD COLUMN upstream_iss TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_upstream ON users (upstream_iss, upstream_sub) WHERE upstream_sub <> '';
