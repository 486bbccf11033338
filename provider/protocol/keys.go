package protocol

import (
	"encoding/json"
	"net/http"

	"github.com/stepup-mfa/stepup/provider/protocol/signing"
	"github.com/stepup-mfa/stepup/provider/storage"
)

// Keys serves the JWKS (discovery's jwks_uri) in place of zitadel's
// endpoint, whose keys carry no certificate: Entra ID's External
// Authentication Methods want each RS256 key's x5c beside its kid
// (signing.KeyRing.JSONWebKeySet). A store that cannot answer is a 503 to
// retry, never an empty key set.
func Keys(keys *signing.KeyRing) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set, err := keys.JSONWebKeySet(r.Context())
		if err != nil {
			if storage.Unavailable(err) {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, "the signing keys cannot be read right now; try again", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
}
