// Package hosttest has what tests of plugins/host and of method plugins
// need to run a host without the provider: Memory, an in-memory Backend
// with the store's compare-and-swap and rate-count semantics (atomic under
// one lock), and Clock, a settable host clock.
//
// Not for production: nothing here persists or spans replicas.
package hosttest
