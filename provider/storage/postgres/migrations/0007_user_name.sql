-- A user's full name, as the upstream identity provider says it (its
-- name claim, kept up to date at each sign-in there); relying parties get
-- it as the name claim with the profile scope.
ALTER TABLE users ADD COLUMN name text NOT NULL DEFAULT '';
