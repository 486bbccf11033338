// Package hosttest has what tests of plugins/host and of method plugins
// need to run a host without the provider: Memory, an in-memory Backend
// with the store's compare-and-swap and rate-count semantics (atomic under
// one lock) that also keeps the mail plugins send (Mails); Clock, a
// settable host clock; and RunWithPlugin and FileSHA256, to build the
// plugin under test and pin it by checksum.
//
// Not for production: nothing here persists or spans replicas.
package hosttest
