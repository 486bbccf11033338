package stepauth

import (
	"context"

	"github.com/coreos/go-oidc/v3/oidc"
)

// KeySet verifies a compact JWS and returns its payload. go-oidc's
// oidc.KeySet, *oidc.RemoteKeySet and *oidc.StaticKeySet satisfy it.
type KeySet interface {
	VerifySignature(ctx context.Context, jwt string) (payload []byte, err error)
}

// NewRemoteKeySet returns a KeySet that fetches the JWKS at jwksURL (for
// stepup, the discovery document's jwks_uri) and caches it, fetching again
// when a token names a key it has not seen. Create one and share it.
//
// ctx configures the HTTP client (see oidc.ClientContext); its
// cancellation is ignored.
func NewRemoteKeySet(ctx context.Context, jwksURL string) KeySet {
	return oidc.NewRemoteKeySet(ctx, jwksURL)
}
