package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// RunTests runs the whole suite. newStore must return a fresh, empty store
// for each call and arrange for it to be closed when t ends (t.Cleanup);
// the suite may call Close itself first, so a second Close must be harmless.
// Subtests run in parallel, each on its own store.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []storeTest{
		{"PingClose", testPingClose},
		{"Users", testUsers},
		{"UpdateUser", testUpdateUser},
		{"AuthRequests", testAuthRequests},
		{"RedeemAuthRequest", testRedeemAuthRequest},
		{"RevokeCodeGrant", testRevokeCodeGrant},
		{"Sessions", testSessions},
		{"GetSessionUser", testGetSessionUser},
		{"SaveLogin", testSaveLogin},
		{"RefreshTokens", testRefreshTokens},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"AccessTokens", testAccessTokens},
		{"DeleteUserTokens", testDeleteUserTokens},
		{"SigningKeys", testSigningKeys},
		{"Events", testEvents},
		{"EventPaging", testEventPaging},
		{"CountEvent", testCountEvent},
		{"Lockout", testLockout},
		{"KV", testKV},
		{"KVExpiry", testKVExpiry},
		{"KVList", testKVList},
		{"PurgeExpired", testPurgeExpired},
	}
	for _, c := range concurrentTests {
		tests = append(tests, storeTest{"Concurrent/" + c.name, func(t *testing.T, s storage.Store) { c.run(t, []storage.Store{s}) }})
	}
	sem := make(chan struct{}, maxStores)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			t.Cleanup(func() { <-sem }) // after the store's own cleanup
			tt.run(t, newStore(t))
		})
	}
}

type storeTest struct {
	name string
	run  func(t *testing.T, s storage.Store)
}

// concurrentTests race goroutines on one store, or, from RunReplicaTests,
// alternately on two stores sharing one database.
var concurrentTests = []struct {
	name string
	run  func(t *testing.T, ss []storage.Store)
}{
	{"RedeemAuthRequest", testConcurrentRedeemAuthRequest},
	{"RotateRefreshToken", testConcurrentRotateRefreshToken},
	{"RevokeCodeGrant", testConcurrentRevokeCodeGrant},
	{"CountEvent", testConcurrentCountEvent},
	{"RecordFailure", testConcurrentRecordFailure},
	{"KVPut", testConcurrentKVPut},
	{"UpdateUser", testConcurrentUpdateUser},
	{"UpdateAuthRequest", testConcurrentUpdateAuthRequest},
}

// RunReplicaTests runs the concurrency tests with the goroutines spread
// over two stores opened on one fresh, empty database, as two replicas or
// processes would be; newPair should open both at once, so that their
// migrations race too. Its stores must be closed when t ends.
func RunReplicaTests(t *testing.T, newPair func(t *testing.T) (storage.Store, storage.Store)) {
	sem := make(chan struct{}, maxStores/2)
	for _, c := range concurrentTests {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			t.Cleanup(func() { <-sem })
			a, b := newPair(t)
			c.run(t, []storage.Store{a, b})
		})
	}
}

// maxStores bounds the stores (and their connection pools) open at once.
const maxStores = 4

// concurrency is how many goroutines the concurrency tests start at once.
const concurrency = 16

// base is a time in UTC with millisecond precision, which every backend
// keeps exactly. Expiries that the store compares with its own clock are
// set relative to time.Now instead.
func base() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func past() time.Time   { return base().Add(-time.Hour) }
func future() time.Time { return base().Add(time.Hour) }

// mustEqual compares got and want by their JSON (so nil and empty slices
// differ, and times must be equal instants) and checks that every time in
// got is in UTC.
func mustEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
	checkUTC(t, what, reflect.ValueOf(got))
}

var timeType = reflect.TypeOf(time.Time{})

func checkUTC(t testing.TB, what string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			if loc := v.Interface().(time.Time).Location(); loc != time.UTC {
				t.Fatalf("%s: time in %v, want UTC", what, loc)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				checkUTC(t, what, v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			checkUTC(t, what, v.Index(i))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkUTC(t, what, v.Elem())
		}
	}
}

// mustErr fails unless errors.Is(err, target); a nil target means success.
func mustErr(t testing.TB, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	mustErr(t, what, err, nil)
}

// atOnce runs fn(0..n-1) in n goroutines released together and returns
// their errors.
func atOnce(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors matching expected, and fails on any
// other error.
func tally(t testing.TB, what string, errs []error, expected error) (ok, refused int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, expected):
			refused++
		default:
			t.Fatalf("%s: unexpected error: %v", what, err)
		}
	}
	return ok, refused
}

func id(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
