package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const (
	refreshTokenCols = `hash, id, client_id, user_id, scopes, audience, acr, amr, auth_time, created_at, expires_at, grant_id`
	accessTokenCols  = `id, client_id, user_id, scopes, audience, acr, amr, auth_time, refresh_token_id, created_at, expires_at, grant_id`
)

var (
	insertRefreshTokenSQL = writeSQL(`INSERT INTO refresh_tokens (` + refreshTokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	spendRefreshTokenSQL  = writeSQL(`DELETE FROM refresh_tokens WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)
		RETURNING grant_id`)
	deleteRefreshTokenSQL = writeSQL(`DELETE FROM refresh_tokens WHERE hash = ?`)
	insertAccessTokenSQL  = writeSQL(`INSERT INTO access_tokens (` + accessTokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	deleteAccessTokenSQL  = writeSQL(`DELETE FROM access_tokens WHERE id = ?`)
	deleteUserTokensSQL   = []string{
		writeSQL(`DELETE FROM refresh_tokens WHERE user_id = ?1 AND (?2 = '' OR client_id = ?2) RETURNING expires_at`),
		writeSQL(`DELETE FROM access_tokens WHERE user_id = ?1 AND (?2 = '' OR client_id = ?2) RETURNING expires_at`),
	}
)

func scanRefreshToken(row scanner) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	err := row.Scan(&t.Hash, &t.ID, &t.ClientID, &t.UserID, js(&t.Scopes), js(&t.Audience), &t.ACR, js(&t.AMR),
		ts(&t.AuthTime), ts(&t.CreatedAt), ts(&t.ExpiresAt), &t.GrantID)
	return t, err
}

func scanAccessToken(row scanner) (storage.AccessToken, error) {
	var t storage.AccessToken
	err := row.Scan(&t.ID, &t.ClientID, &t.UserID, js(&t.Scopes), js(&t.Audience), &t.ACR, js(&t.AMR),
		ts(&t.AuthTime), &t.RefreshTokenID, ts(&t.CreatedAt), ts(&t.ExpiresAt), &t.GrantID)
	return t, err
}

// tokenJSON encodes the three JSON columns both token tables have.
func tokenJSON(scopes, audience, amr []string) (string, string, string, error) {
	s, err := toJSON(scopes)
	if err != nil {
		return "", "", "", err
	}
	a, err := toJSON(audience)
	if err != nil {
		return "", "", "", err
	}
	m, err := toJSON(amr)
	return s, a, m, err
}

func (s *Store) insertRefreshToken(ctx context.Context, tx *sql.Tx, t storage.RefreshToken) error {
	scopes, aud, amr, err := tokenJSON(t.Scopes, t.Audience, t.AMR)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, insertRefreshTokenSQL, t.Hash, t.ID, t.ClientID, t.UserID, scopes, aud, t.ACR, amr,
		micros(t.AuthTime), micros(t.CreatedAt), micros(t.ExpiresAt), t.GrantID)
	if isUnique(err) {
		return fmt.Errorf("storage: refresh token %q: %w", t.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: store refresh token: %w", err)
	}
	return nil
}

func (s *Store) insertAccessToken(ctx context.Context, tx *sql.Tx, t storage.AccessToken) error {
	scopes, aud, amr, err := tokenJSON(t.Scopes, t.Audience, t.AMR)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, insertAccessTokenSQL, t.ID, t.ClientID, t.UserID, scopes, aud, t.ACR, amr,
		micros(t.AuthTime), t.RefreshTokenID, micros(t.CreatedAt), micros(t.ExpiresAt), t.GrantID)
	if isUnique(err) {
		return fmt.Errorf("storage: access token %q: %w", t.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: store access token: %w", err)
	}
	return nil
}

// insertTokens stores rt and at in tx, each when non-nil.
func (s *Store) insertTokens(ctx context.Context, tx *sql.Tx, rt *storage.RefreshToken, at *storage.AccessToken) error {
	if rt != nil {
		if err := s.insertRefreshToken(ctx, tx, *rt); err != nil {
			return err
		}
	}
	if at != nil {
		return s.insertAccessToken(ctx, tx, *at)
	}
	return nil
}

// CreateRefreshToken stores rt and, when at is non-nil, at in one
// transaction; ErrAlreadyExists if either key is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, rt storage.RefreshToken, at *storage.AccessToken) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertTokens(ctx, tx, &rt, at)
	})
}

// GetRefreshToken returns the live token with that hash, whose user
// exists and is active.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (storage.RefreshToken, error) {
	t, err := scanRefreshToken(s.readRow(ctx, `SELECT `+refreshTokenCols+` FROM refresh_tokens
		WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)
		AND EXISTS (SELECT 1 FROM users u WHERE u.id = refresh_tokens.user_id AND u.active)`, hash, s.liveNow()))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.RefreshToken{}, fmt.Errorf("storage: refresh token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.RefreshToken{}, fmt.Errorf("storage: get refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken deletes the live token oldHash and stores next (and
// at), with its grant, in one write transaction; ErrNotFound if oldHash is
// not live.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next storage.RefreshToken, at *storage.AccessToken) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, spendRefreshTokenSQL, oldHash, s.liveNow()).Scan(&next.GrantID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("storage: refresh token: %w", storage.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("storage: rotate refresh token: %w", err)
		}
		if at != nil {
			withGrant := *at
			withGrant.GrantID = next.GrantID
			at = &withGrant
		}
		return s.insertTokens(ctx, tx, &next, at)
	})
}

// DeleteRefreshToken removes one refresh token; absent is not an error.
func (s *Store) DeleteRefreshToken(ctx context.Context, hash string, events ...storage.Event) error {
	return s.deleteWith(ctx, "refresh token", deleteRefreshTokenSQL, hash, events)
}

// DeleteUserTokens removes the user's refresh and access tokens (only
// clientID's when it is not empty) and returns how many live ones went.
func (s *Store) DeleteUserTokens(ctx context.Context, userID, clientID string) (int64, error) {
	var total int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range deleteUserTokensSQL {
			n, err := s.deleteCountingLive(ctx, tx, q, userID, clientID)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: delete user tokens: %w", err)
	}
	return total, nil
}

// CreateAccessToken records an issued access token; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateAccessToken(ctx context.Context, at storage.AccessToken) error {
	return s.insertAccessToken(ctx, nil, at)
}

// GetAccessToken returns the live access token by ID.
func (s *Store) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	t, err := scanAccessToken(s.readRow(ctx, `SELECT `+accessTokenCols+` FROM access_tokens
		WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)`, id, s.liveNow()))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.AccessToken{}, fmt.Errorf("storage: access token %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return storage.AccessToken{}, fmt.Errorf("storage: get access token: %w", err)
	}
	return t, nil
}

// DeleteAccessToken revokes one access token; absent is not an error.
func (s *Store) DeleteAccessToken(ctx context.Context, id string, events ...storage.Event) error {
	return s.deleteWith(ctx, "access token", deleteAccessTokenSQL, id, events)
}
