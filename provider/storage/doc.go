// Package storage defines the Store interface every stepup backend
// implements, the values it keeps and the sentinel errors it returns.
//
// All flow state lives behind Store (users, auth requests, codes, tokens,
// browser sessions, signing keys, audit events, rate-limit counters and the
// plugins' key-value data), so several stepup replicas on one database serve
// one login interchangeably. The contract of each method is written on it and
// checked for every backend by the conformance package.
//
// This package knows nothing of HTTP or OIDC; it must not import net/http.
package storage
