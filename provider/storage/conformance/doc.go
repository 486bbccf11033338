// Package conformance is the one test suite every storage.Store backend
// must pass, so that a backend's own test file only says how to open a
// fresh store:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunTests(t, func(t *testing.T) storage.Store { return openFresh(t) })
//	}
//
// RunTests checks each method's contract as written in package storage:
// results, sentinel errors (compared with errors.Is), expiry-as-absent,
// purging, event filtering and, with many goroutines at once, the "exactly
// one wins" and "exactly k allowed" promises. RunReplicaTests repeats the
// concurrency tests over two stores sharing one database, as replicas do.
// BenchRotateRefreshToken, BenchRedeemAuthRequest and BenchGetSessionUser
// are the benchmark bodies the backends share.
//
// Time is passed in explicitly wherever the interface takes a now; expiries
// that the store judges by its own clock are set an hour away from
// time.Now, so nothing sleeps. This package is imported only by tests.
package conformance
