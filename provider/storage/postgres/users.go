package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const userCols = `id, username, email, phone, password_hash, active, permissions, upstream_iss, upstream_sub, name, skeleton, created_at, updated_at`

// userDest returns the scan destinations of userCols.
func userDest(u *storage.User) []any {
	return []any{&u.ID, &u.Username, &u.Email, &u.Phone, &u.PasswordHash, &u.Active,
		js(&u.Permissions), &u.UpstreamIssuer, &u.UpstreamSub, &u.Name, &u.Skeleton, tc(&u.CreatedAt), tc(&u.UpdatedAt)}
}

func scanUser(row pgx.Row, u *storage.User) error { return row.Scan(userDest(u)...) }

func userErr(err error, key string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("storage: user %q: %w", key, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: user: %w", err)
}

// LookAlike returns the first other username with skeleton.
func (s *Store) LookAlike(ctx context.Context, skeleton, except string) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, `SELECT username FROM users WHERE skeleton = $1 AND username <> $2 ORDER BY username LIMIT 1`,
		skeleton, except).Scan(&name)
	if err != nil {
		return "", userErr(err, "looking like "+except)
	}
	return name, nil
}

// CreateUser stores a new user; ErrAlreadyExists if the ID or username is taken.
func (s *Store) CreateUser(ctx context.Context, u storage.User, events ...storage.Event) error {
	perms, err := toJSON(u.Permissions)
	if err != nil {
		return err
	}
	rows, err := eventArgs(events)
	if err != nil {
		return err
	}
	// One batch is one implicit transaction: the user and its events, or
	// neither.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		u.ID, u.Username, u.Email, u.Phone, u.PasswordHash, u.Active, perms, u.UpstreamIssuer, u.UpstreamSub, u.Name, u.Skeleton, ts(u.CreatedAt), ts(u.UpdatedAt))
	queueEvents(b, rows)
	err = s.pool.SendBatch(ctx, b).Close()
	if isUnique(err) {
		return fmt.Errorf("storage: user %q, username %q or upstream link: %w", u.ID, u.Username, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create user: %w", err)
	}
	return nil
}

// GetUser returns the user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	var u storage.User
	if err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id), &u); err != nil {
		return storage.User{}, userErr(err, id)
	}
	return u, nil
}

// GetUserByUsername returns the user by username.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (storage.User, error) {
	var u storage.User
	if err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username), &u); err != nil {
		return storage.User{}, userErr(err, username)
	}
	return u, nil
}

// GetUserByUpstream returns the user linked to subject at issuer.
func (s *Store) GetUserByUpstream(ctx context.Context, issuer, subject string) (storage.User, error) {
	var u storage.User
	if subject == "" {
		return storage.User{}, fmt.Errorf("storage: upstream user: empty subject: %w", storage.ErrNotFound)
	}
	err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE upstream_iss = $1 AND upstream_sub = $2`, issuer, subject), &u)
	if err != nil {
		return storage.User{}, userErr(err, "upstream "+subject)
	}
	return u, nil
}

// ListUsers returns all users ordered by username (byte order).
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("storage: list users: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.User, error) {
		var u storage.User
		err := scanUser(row, &u)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list users: %w", err)
	}
	return us, nil
}

// UpdateUser applies fn to the user while its row is locked. ID and
// CreatedAt keep their stored values; events go in the same transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(storage.User) (storage.User, error), events ...storage.Event) (storage.User, error) {
	rows, err := eventArgs(events)
	if err != nil {
		return storage.User{}, err
	}
	var cur, out storage.User
	err = s.update(ctx, `SELECT `+userCols+` FROM users WHERE id = $1 FOR UPDATE`, []any{id},
		func(row pgx.Row) error {
			if err := scanUser(row, &cur); err != nil {
				return userErr(err, id)
			}
			return nil
		},
		func(tx pgx.Tx) error {
			u, err := fn(cur)
			if err != nil {
				return err
			}
			perms, err := toJSON(u.Permissions)
			if err != nil {
				return err
			}
			err = scanUser(tx.QueryRow(ctx, `UPDATE users SET username = $2, email = $3, phone = $4, password_hash = $5,
				active = $6, permissions = $7, upstream_iss = $8, upstream_sub = $9, name = $10, skeleton = $11, updated_at = $12 WHERE id = $1 RETURNING `+userCols,
				id, u.Username, u.Email, u.Phone, u.PasswordHash, u.Active, perms, u.UpstreamIssuer, u.UpstreamSub, u.Name, u.Skeleton, ts(u.UpdatedAt)), &out)
			if isUnique(err) {
				return fmt.Errorf("storage: username %q or upstream link: %w", u.Username, storage.ErrAlreadyExists)
			}
			if err != nil {
				return fmt.Errorf("storage: update user: %w", err)
			}
			return execEvents(ctx, tx, rows)
		})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}
