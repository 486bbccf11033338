// Package provider is stepup's OpenID Connect provider: the op.Storage
// adapter for zitadel/oidc, the HTTP routes (login, discovery, health,
// metrics), browser sessions, signing keys and the audit log.
//
// It asks authflow what to do next and applies the decision; it keeps all
// state in a storage.Store so several replicas serve one flow.
package provider
