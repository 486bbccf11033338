// Package stepauth protects the HTTP APIs of a resource server with access
// tokens from stepup (or any provider issuing RFC 9068 JWT access tokens
// that carry acr, amr and auth_time), and answers a token whose
// authentication falls short with the RFC 9470 step-up challenge:
//
//	HTTP/1.1 401 Unauthorized
//	WWW-Authenticate: Bearer error="insufficient_user_authentication",
//	  error_description="authentication level aal1 is below the required aal2",
//	  acr_values="aal2 http://idmanagement.gov/ns/assurance/aal/2", max_age=900
//
// The client then sends the user back to the provider with those acr_values
// and max_age, and retries with the new token.
//
// Usage:
//
//	v, err := stepauth.NewVerifier(stepauth.Config{
//		Issuer: "https://stepup.example.com",
//		Keys:   stepauth.NewRemoteKeySet(ctx, "https://stepup.example.com/keys"),
//		Levels: stepauth.DefaultLevels(),
//	})
//	if err != nil { ... }
//	mux.Handle("POST /transfers", v.Require(stepauth.Requirement{
//		ACR: "aal2", MaxAge: 15 * time.Minute,
//	}, transfers))
//
//	func transfers(w http.ResponseWriter, r *http.Request) {
//		c, _ := stepauth.ClaimsFrom(r.Context())
//		... c.Subject, c.ACR, c.AMR, c.AuthTime ...
//	}
//
// Levels know that a stronger level satisfies a weaker one (aal3 meets
// aal2) and that a level may have several names. Refusals are RFC 9457
// application/problem+json bodies; WriteProblem writes the same shape for
// the application's own errors.
//
// This package stands alone: it imports only the standard library,
// go-jose and go-oidc, never another stepup package, so any application
// can use it. Keep it that way (imports_test.go at the
// module's root checks).
package stepauth
