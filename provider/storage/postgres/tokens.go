package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stepup-mfa/stepup/provider/storage"
)

const (
	refreshTokenCols = `hash, id, client_id, user_id, scopes, audience, acr, amr, auth_time, created_at, expires_at`
	accessTokenCols  = `id, client_id, user_id, scopes, audience, acr, amr, auth_time, refresh_token_id, created_at, expires_at`
)

func scanRefreshToken(row pgx.Row, t *storage.RefreshToken) error {
	return row.Scan(&t.Hash, &t.ID, &t.ClientID, &t.UserID, js(&t.Scopes), js(&t.Audience), &t.ACR, js(&t.AMR),
		tc(&t.AuthTime), tc(&t.CreatedAt), tc(&t.ExpiresAt))
}

func scanAccessToken(row pgx.Row, t *storage.AccessToken) error {
	return row.Scan(&t.ID, &t.ClientID, &t.UserID, js(&t.Scopes), js(&t.Audience), &t.ACR, js(&t.AMR),
		tc(&t.AuthTime), &t.RefreshTokenID, tc(&t.CreatedAt), tc(&t.ExpiresAt))
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

func refreshTokenArgs(t storage.RefreshToken) ([]any, error) {
	scopes, aud, amr, err := tokenJSON(t.Scopes, t.Audience, t.AMR)
	if err != nil {
		return nil, err
	}
	return []any{t.Hash, t.ID, t.ClientID, t.UserID, scopes, aud, t.ACR, amr,
		ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt)}, nil
}

func accessTokenArgs(t storage.AccessToken) ([]any, error) {
	scopes, aud, amr, err := tokenJSON(t.Scopes, t.Audience, t.AMR)
	if err != nil {
		return nil, err
	}
	return []any{t.ID, t.ClientID, t.UserID, scopes, aud, t.ACR, amr,
		ts(t.AuthTime), t.RefreshTokenID, ts(t.CreatedAt), ts(t.ExpiresAt)}, nil
}

// params returns "$from, ..., $from+n-1".
func params(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ps, ", ")
}

var (
	insertRefreshTokenSQL = `INSERT INTO refresh_tokens (` + refreshTokenCols + `) VALUES (` + params(1, 11) + `)`
	insertAccessTokenSQL  = `INSERT INTO access_tokens (` + accessTokenCols + `) VALUES (` + params(1, 11) + `)`
	// The pair in one statement: atomic without a transaction round trip.
	insertTokenPairSQL = `WITH rt AS (INSERT INTO refresh_tokens (` + refreshTokenCols + `) VALUES (` + params(1, 11) + `))
		INSERT INTO access_tokens (` + accessTokenCols + `) VALUES (` + params(12, 11) + `)`

	// Rotating a refresh token and redeeming a code each spend one row
	// and store tokens in one statement (spendThenStore).
	spendRefreshToken = `DELETE FROM refresh_tokens WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2) RETURNING 1`
	spendAuthRequest  = `DELETE FROM auth_requests WHERE id = $1 AND done AND (expires_at IS NULL OR expires_at > $2) RETURNING 1`

	rotateSQL            = spendThenStore(spendRefreshToken, true, false)
	rotateWithAccessSQL  = spendThenStore(spendRefreshToken, true, true)
	redeemSQL            = spendThenStore(spendAuthRequest, false, true)
	redeemWithRefreshSQL = spendThenStore(spendAuthRequest, true, true)
)

// spendThenStore is one statement that deletes a row with spend (which
// takes $1 and $2 and returns 1) and stores the refresh token (from $3)
// and then the access token, as asked, only for a row it deleted; it
// counts the rows deleted. A concurrent statement spending the same row
// blocks on it, then finds it gone, inserts nothing and counts 0.
func spendThenStore(spend string, refresh, access bool) string {
	q, next := `WITH gone AS (`+spend+`)`, 3
	if refresh {
		q += `, rt AS (INSERT INTO refresh_tokens (` + refreshTokenCols + `) SELECT ` + params(next, 11) + ` FROM gone)`
		next += 11
	}
	if access {
		q += `, at AS (INSERT INTO access_tokens (` + accessTokenCols + `) SELECT ` + params(next, 11) + ` FROM gone)`
	}
	return q + ` SELECT count(*) FROM gone`
}

// spend runs a spendThenStore statement for the row key names, with the
// arguments of rt and at (each when non-nil, as the statement expects),
// and returns how many rows it spent.
func (s *Store) spend(ctx context.Context, q, key string, rt *storage.RefreshToken, at *storage.AccessToken) (int64, error) {
	args := []any{key, s.liveNow()}
	if rt != nil {
		rtArgs, err := refreshTokenArgs(*rt)
		if err != nil {
			return 0, err
		}
		args = append(args, rtArgs...)
	}
	if at != nil {
		atArgs, err := accessTokenArgs(*at)
		if err != nil {
			return 0, err
		}
		args = append(args, atArgs...)
	}
	var n int64
	err := s.pool.QueryRow(ctx, q, args...).Scan(&n)
	if isUnique(err) {
		return 0, tokenExists(err, rt, at)
	}
	return n, err
}

// tokenExists reports a unique violation on either token table.
func tokenExists(err error, rt *storage.RefreshToken, at *storage.AccessToken) error {
	var pe *pgconn.PgError
	if at != nil && (rt == nil || errors.As(err, &pe) && strings.HasPrefix(pe.ConstraintName, "access_tokens")) {
		return fmt.Errorf("storage: access token %q: %w", at.ID, storage.ErrAlreadyExists)
	}
	return fmt.Errorf("storage: refresh token %q: %w", rt.ID, storage.ErrAlreadyExists)
}

// CreateRefreshToken stores rt and, when at is non-nil, at in one
// statement; ErrAlreadyExists if either key is taken.
func (s *Store) CreateRefreshToken(ctx context.Context, rt storage.RefreshToken, at *storage.AccessToken) error {
	args, err := refreshTokenArgs(rt)
	if err != nil {
		return err
	}
	q := insertRefreshTokenSQL
	if at != nil {
		atArgs, err := accessTokenArgs(*at)
		if err != nil {
			return err
		}
		q, args = insertTokenPairSQL, append(args, atArgs...)
	}
	_, err = s.pool.Exec(ctx, q, args...)
	if isUnique(err) {
		return tokenExists(err, &rt, at)
	}
	if err != nil {
		return fmt.Errorf("storage: create refresh token: %w", err)
	}
	return nil
}

// GetRefreshToken returns the live token with that hash.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	err := scanRefreshToken(s.pool.QueryRow(ctx, `SELECT `+refreshTokenCols+` FROM refresh_tokens
		WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)
		AND EXISTS (SELECT 1 FROM users u WHERE u.id = refresh_tokens.user_id AND u.active)`, hash, s.liveNow()), &t)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.RefreshToken{}, fmt.Errorf("storage: refresh token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.RefreshToken{}, fmt.Errorf("storage: get refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken deletes the live token oldHash and stores next (and
// at) in one statement; ErrNotFound if oldHash is not live.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next storage.RefreshToken, at *storage.AccessToken) error {
	q := rotateSQL
	if at != nil {
		q = rotateWithAccessSQL
	}
	n, err := s.spend(ctx, q, oldHash, &next, at)
	if err != nil {
		return fmt.Errorf("storage: rotate refresh token: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("storage: refresh token: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteRefreshToken removes one refresh token; absent is not an error.
func (s *Store) DeleteRefreshToken(ctx context.Context, hash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("storage: delete refresh token: %w", err)
	}
	return nil
}

// DeleteUserTokens removes the user's refresh and access tokens (only
// clientID's when it is not empty) in one statement and returns how many
// live ones went.
func (s *Store) DeleteUserTokens(ctx context.Context, userID, clientID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `WITH
		r AS (DELETE FROM refresh_tokens WHERE user_id = $1 AND ($2 = '' OR client_id = $2) RETURNING expires_at),
		a AS (DELETE FROM access_tokens WHERE user_id = $1 AND ($2 = '' OR client_id = $2) RETURNING expires_at)
		SELECT (SELECT count(*) FROM r WHERE expires_at IS NULL OR expires_at > $3)
			+ (SELECT count(*) FROM a WHERE expires_at IS NULL OR expires_at > $3)`,
		userID, clientID, s.liveNow()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("storage: delete user tokens: %w", err)
	}
	return n, nil
}

// CreateAccessToken records an issued access token; ErrAlreadyExists on a duplicate ID.
func (s *Store) CreateAccessToken(ctx context.Context, at storage.AccessToken) error {
	args, err := accessTokenArgs(at)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, insertAccessTokenSQL, args...)
	if isUnique(err) {
		return fmt.Errorf("storage: access token %q: %w", at.ID, storage.ErrAlreadyExists)
	}
	if err != nil {
		return fmt.Errorf("storage: create access token: %w", err)
	}
	return nil
}

// GetAccessToken returns the live access token by ID.
func (s *Store) GetAccessToken(ctx context.Context, id string) (storage.AccessToken, error) {
	var t storage.AccessToken
	err := scanAccessToken(s.pool.QueryRow(ctx, `SELECT `+accessTokenCols+` FROM access_tokens
		WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, s.liveNow()), &t)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.AccessToken{}, fmt.Errorf("storage: access token %q: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return storage.AccessToken{}, fmt.Errorf("storage: get access token: %w", err)
	}
	return t, nil
}

// DeleteAccessToken revokes one access token; absent is not an error.
func (s *Store) DeleteAccessToken(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM access_tokens WHERE id = $1`, id); err != nil {
		return fmt.Errorf("storage: delete access token: %w", err)
	}
	return nil
}
