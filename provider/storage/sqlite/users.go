package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const userCols = `id, username, email, phone, password_hash, active, permissions, upstream_iss, upstream_sub, name, skeleton, created_at, updated_at`

var (
	insertUserSQL = writeSQL(`INSERT INTO users (` + userCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	lockUserSQL   = writeSQL(`SELECT ` + userCols + ` FROM users WHERE id = ?`)
	updateUserSQL = writeSQL(`UPDATE users SET username = ?, email = ?, phone = ?, password_hash = ?, active = ?,
		permissions = ?, upstream_iss = ?, upstream_sub = ?, name = ?, skeleton = ?, updated_at = ? WHERE id = ? RETURNING ` + userCols)
)

// userDest returns the scan destinations of userCols.
func userDest(u *storage.User) []any {
	return []any{&u.ID, &u.Username, &u.Email, &u.Phone, &u.PasswordHash, &u.Active,
		js(&u.Permissions), &u.UpstreamIssuer, &u.UpstreamSub, &u.Name, &u.Skeleton, ts(&u.CreatedAt), ts(&u.UpdatedAt)}
}

func scanUser(row scanner) (storage.User, error) {
	var u storage.User
	err := row.Scan(userDest(&u)...)
	return u, err
}

func userErr(err error, key string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("storage: user %q: %w", key, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: user: %w", err)
}

// LookAlike returns the first other username with skeleton.
func (s *Store) LookAlike(ctx context.Context, skeleton, except string) (string, error) {
	var name string
	err := s.readRow(ctx, `SELECT username FROM users WHERE skeleton = ? AND username <> ? ORDER BY username LIMIT 1`,
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
	rows, err := eventRows(events)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, insertUserSQL, u.ID, u.Username, u.Email, u.Phone, u.PasswordHash,
			u.Active, perms, u.UpstreamIssuer, u.UpstreamSub, u.Name, u.Skeleton, micros(u.CreatedAt), micros(u.UpdatedAt))
		if isUnique(err) {
			return fmt.Errorf("storage: user %q, username %q or upstream link: %w", u.ID, u.Username, storage.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("storage: create user: %w", err)
		}
		return s.insertEvents(ctx, tx, rows)
	})
}

// GetUser returns the user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.readRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return storage.User{}, userErr(err, id)
	}
	return u, nil
}

// GetUserByUsername returns the user by username.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (storage.User, error) {
	u, err := scanUser(s.readRow(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if err != nil {
		return storage.User{}, userErr(err, username)
	}
	return u, nil
}

// GetUserByUpstream returns the user linked to subject at issuer.
func (s *Store) GetUserByUpstream(ctx context.Context, issuer, subject string) (storage.User, error) {
	if subject == "" {
		return storage.User{}, fmt.Errorf("storage: upstream user: empty subject: %w", storage.ErrNotFound)
	}
	u, err := scanUser(s.readRow(ctx, `SELECT `+userCols+` FROM users WHERE upstream_iss = ? AND upstream_sub = ?`, issuer, subject))
	if err != nil {
		return storage.User{}, userErr(err, "upstream "+subject)
	}
	return u, nil
}

// ListUsers returns all users ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	rows, err := s.read(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("storage: list users: %w", err)
	}
	defer rows.Close()
	var us []storage.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list users: %w", err)
	}
	return us, nil
}

// UpdateUser applies fn to the user in one write transaction. ID and
// CreatedAt keep their stored values; events go in the same transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(storage.User) (storage.User, error), events ...storage.Event) (storage.User, error) {
	rows, err := eventRows(events)
	if err != nil {
		return storage.User{}, err
	}
	var out storage.User
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := scanUser(s.queryRow(ctx, tx, lockUserSQL, id))
		if err != nil {
			return userErr(err, id)
		}
		u, err := fn(cur)
		if err != nil {
			return err
		}
		perms, err := toJSON(u.Permissions)
		if err != nil {
			return err
		}
		out, err = scanUser(s.queryRow(ctx, tx, updateUserSQL, u.Username, u.Email, u.Phone, u.PasswordHash,
			u.Active, perms, u.UpstreamIssuer, u.UpstreamSub, u.Name, u.Skeleton, micros(u.UpdatedAt), id))
		if isUnique(err) {
			return fmt.Errorf("storage: username %q or upstream link: %w", u.Username, storage.ErrAlreadyExists)
		}
		if err != nil {
			return fmt.Errorf("storage: update user: %w", err)
		}
		return s.insertEvents(ctx, tx, rows)
	})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}
