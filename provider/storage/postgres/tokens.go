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
	refreshTokenCols = `hash, id, client_id, user_id, scopes, audience, acr, amr, auth_time, created_at, expires_at, grant_id`
	accessTokenCols  = `id, client_id, user_id, scopes, audience, acr, amr, auth_time, refresh_token_id, created_at, expires_at, grant_id`
	// tokenParams is how many arguments refreshTokenArgs and
	// accessTokenArgs each return: every column but grant_id.
	tokenParams = 11
)

func scanRefreshToken(row pgx.Row, t *storage.RefreshToken) error {
	return row.Scan(&t.Hash, &t.ID, &t.ClientID, &t.UserID, js(&t.Scopes), js(&t.Audience), &t.ACR, js(&t.AMR),
		tc(&t.AuthTime), tc(&t.CreatedAt), tc(&t.ExpiresAt), &t.GrantID)
}

func scanAccessToken(row pgx.Row, t *storage.AccessToken) error {
	return row.Scan(&t.ID, &t.ClientID, &t.UserID, js(&t.Scopes), js(&t.Audience), &t.ACR, js(&t.AMR),
		tc(&t.AuthTime), &t.RefreshTokenID, tc(&t.CreatedAt), tc(&t.ExpiresAt), &t.GrantID)
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

// refreshTokenArgs and accessTokenArgs are t's columns but grant_id, which
// a spending statement takes from the row it spends.
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
	insertRefreshTokenSQL = `INSERT INTO refresh_tokens (` + refreshTokenCols + `) VALUES (` + params(1, 12) + `)`
	insertAccessTokenSQL  = `INSERT INTO access_tokens (` + accessTokenCols + `) VALUES (` + params(1, 12) + `)`
	// The pair in one statement: atomic without a transaction round trip.
	insertTokenPairSQL = `WITH rt AS (INSERT INTO refresh_tokens (` + refreshTokenCols + `) VALUES (` + params(1, 12) + `))
		INSERT INTO access_tokens (` + accessTokenCols + `) VALUES (` + params(13, 12) + `)`

	// Rotating a refresh token and redeeming a code each spend one row
	// and store tokens in one statement (spendThenStore). The spent row
	// gives the tokens their grant: the old token's, or the request
	// itself, whose redemption is recorded (redeemed_codes) until the
	// request and the new tokens have all expired (NULL, never, when any
	// of them never does).
	spendRefreshToken = `gone AS (DELETE FROM refresh_tokens WHERE hash = $1 AND (expires_at IS NULL OR expires_at > $2)
		RETURNING grant_id)`
	spendAuthRequest = `gone AS (DELETE FROM auth_requests WHERE id = $1 AND done AND (expires_at IS NULL OR expires_at > $2)
		RETURNING id AS grant_id, client_id, user_id, data, expires_at),
		rc AS (INSERT INTO redeemed_codes (` + redeemedCodeCols + `)
		SELECT grant_id, client_id, user_id, data, $2,
			CASE WHEN num_nulls(expires_at, $3::timestamptz, $4::timestamptz) = 0
			THEN greatest(expires_at, $3::timestamptz, $4::timestamptz) END FROM gone)`

	rotateSQL            = spendThenStore(spendRefreshToken, 3, true, false)
	rotateWithAccessSQL  = spendThenStore(spendRefreshToken, 3, true, true)
	redeemSQL            = spendThenStore(spendAuthRequest, 5, false, true)
	redeemWithRefreshSQL = spendThenStore(spendAuthRequest, 5, true, true)

	// lockGrantSQL share-locks the redemption record of oldHash's grant,
	// if it has one, for the rest of the rotation: a RevokeCodeGrant then
	// waits for the rotation to end, and sees the token it stores; or a
	// rotation waits for the revocation, and finds oldHash gone.
	lockGrantSQL = `SELECT 1 FROM redeemed_codes
		WHERE request_id = (SELECT grant_id FROM refresh_tokens WHERE hash = $1 AND grant_id <> '') FOR SHARE`
)

// spendThenStore is one statement that deletes a row with spend (a CTE
// "gone" that takes $1, $2 and any arguments up to first, and returns the
// grant_id for the tokens) and stores the refresh token (from
// $first) and then the access token, as asked, only for a row it deleted;
// it counts the rows deleted. A concurrent statement spending the same row
// blocks on it, then finds it gone, inserts nothing and counts 0.
func spendThenStore(spend string, first int, refresh, access bool) string {
	q, next := `WITH `+spend, first
	if refresh {
		q += `, rt AS (INSERT INTO refresh_tokens (` + refreshTokenCols + `) SELECT ` + params(next, tokenParams) + `, grant_id FROM gone)`
		next += tokenParams
	}
	if access {
		q += `, at AS (INSERT INTO access_tokens (` + accessTokenCols + `) SELECT ` + params(next, tokenParams) + `, grant_id FROM gone)`
	}
	return q + ` SELECT count(*) FROM gone`
}

// spend runs a spendThenStore statement for the row key names, with the
// extra arguments the spend takes, and the arguments of rt and at (each
// when non-nil, as the statement expects), and returns how many rows it
// spent. With lock, lockGrantSQL runs first, in the same transaction and
// round trip.
func (s *Store) spend(ctx context.Context, q, key string, extra []any, lock bool, rt *storage.RefreshToken, at *storage.AccessToken) (int64, error) {
	args := append([]any{key, s.liveNow()}, extra...)
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
	var err error
	if lock {
		// A batch outside a transaction runs as one implicit transaction.
		b := &pgx.Batch{}
		b.Queue(lockGrantSQL, key)
		b.Queue(q, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
		err = s.pool.SendBatch(ctx, b).Close()
	} else {
		err = s.pool.QueryRow(ctx, q, args...).Scan(&n)
	}
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
	q, args := insertRefreshTokenSQL, append(args, rt.GrantID)
	if at != nil {
		atArgs, err := accessTokenArgs(*at)
		if err != nil {
			return err
		}
		q, args = insertTokenPairSQL, append(append(args, atArgs...), at.GrantID)
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
// at), with its grant, in one statement after locking the grant's
// redemption record; ErrNotFound if oldHash is not live.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next storage.RefreshToken, at *storage.AccessToken) error {
	q := rotateSQL
	if at != nil {
		q = rotateWithAccessSQL
	}
	n, err := s.spend(ctx, q, oldHash, nil, true, &next, at)
	if err != nil {
		return fmt.Errorf("storage: rotate refresh token: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("storage: refresh token: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteRefreshToken removes one refresh token; absent is not an error.
func (s *Store) DeleteRefreshToken(ctx context.Context, hash string, events ...storage.Event) error {
	return s.deleteWith(ctx, "refresh token", `DELETE FROM refresh_tokens WHERE hash = $1`, hash, events)
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
	_, err = s.pool.Exec(ctx, insertAccessTokenSQL, append(args, at.GrantID)...)
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
func (s *Store) DeleteAccessToken(ctx context.Context, id string, events ...storage.Event) error {
	return s.deleteWith(ctx, "access token", `DELETE FROM access_tokens WHERE id = $1`, id, events)
}
