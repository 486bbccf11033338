// Package conformance is the one test suite every storage.Store backend
// must pass, so that a backend's own test file only says how to open a
// fresh store:
//
//	func TestConformance(t *testing.T) {
//		conformance.RunTests(t, func(t testing.TB, opts ...storage.Option) storage.Store {
//			return openFresh(t, opts...)
//		})
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
// Every store is opened with a clock of the suite's (storage.WithClock),
// which starts at a fixed instant and moves only when a test sets it: the
// expiry tests put it just before, at and after a row's expiry, for every
// method that judges expiry by the store's clock, and check that methods
// taking a now argument judge by that instead. Nothing sleeps, and no
// result depends on today's date. This package is imported only by tests.
package conformance
