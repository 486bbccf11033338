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

// OpenStore opens a fresh, empty store with opts (the suite passes
// storage.WithClock) and arranges for it to be closed when t ends
// (t.Cleanup); the suite may call Close itself first, so a second Close
// must be harmless.
type OpenStore func(t testing.TB, opts ...storage.Option) storage.Store

// RunTests runs the whole suite. Subtests run in parallel, each on its own
// store, which newStore opens with a clock of the subtest's: it starts at
// a fixed instant and moves only when the subtest moves it.
func RunTests(t *testing.T, newStore OpenStore) {
	tests := []storeTest{
		{"PingClose", testPingClose},
		{"Users", testUsers},
		{"LookAlike", testLookAlike},
		{"UpdateUser", testUpdateUser},
		{"UpstreamLink", testUpstreamLink},
		{"UserWithItsEvent", testUserWithItsEvent},
		{"ChangeWithItsEvent", testChangeWithItsEvent},
		{"AuthRequests", testAuthRequests},
		{"RedeemAuthRequest", testRedeemAuthRequest},
		{"RevokeCodeGrant", testRevokeCodeGrant},
		{"Sessions", testSessions},
		{"GetSessionUser", testGetSessionUser},
		{"SaveLogin", testSaveLogin},
		{"SaveLoginWithKV", testSaveLoginWithKV},
		{"DeleteWithItsEvent", testDeleteWithItsEvent},
		{"RefreshTokens", testRefreshTokens},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"AccessTokens", testAccessTokens},
		{"DeleteUserTokens", testDeleteUserTokens},
		{"SigningKeys", testSigningKeys},
		{"Events", testEvents},
		{"EventPaging", testEventPaging},
		{"CountEvent", testCountEvent},
		{"Lockout", testLockout},
		{"LockoutEvent", testLockoutEvent},
		{"KV", testKV},
		{"KVExpiry", testKVExpiry},
		{"KVList", testKVList},
		{"KVGetMany", testKVGetMany},
		{"PurgeExpired", testPurgeExpired},
		{"TrustedBrowsers", testTrustedBrowsers},
	}
	for _, c := range concurrentTests {
		tests = append(tests, storeTest{"Concurrent/" + c.name, func(t *testing.T, s storage.Store) { c.run(t, []storage.Store{s}) }})
	}
	var clocked []clockedTest
	for _, tt := range tests {
		clocked = append(clocked, clockedTest{tt.name, func(t *testing.T, s storage.Store, _ *clock) { tt.run(t, s) }})
	}
	clocked = append(clocked, clockedTest{"Expiry", testExpiry}, clockedTest{"ExplicitNow", testExplicitNow},
		clockedTest{"TrustedBrowserExpiry", testTrustedBrowserExpiry}, clockedTest{"OutboxRetry", testOutboxRetry},
		clockedTest{"FinishMails", testFinishMails})
	sem := make(chan struct{}, maxStores)
	for _, tt := range clocked {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			t.Cleanup(func() { <-sem }) // after the store's own cleanup
			c := newClock()
			tt.run(t, newStore(t, storage.WithClock(c.Now)), c)
		})
	}
}

type storeTest struct {
	name string
	run  func(t *testing.T, s storage.Store)
}

// clockedTest is a test that moves the clock its store was opened with.
type clockedTest struct {
	name string
	run  func(t *testing.T, s storage.Store, c *clock)
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
	{"ClaimMail", testConcurrentClaimMail},
}

// RunReplicaTests runs the concurrency tests with the goroutines spread
// over two stores opened with opts on one fresh, empty database, as two
// replicas or processes would be; newPair should open both at once, so
// that their migrations race too. Its stores must be closed when t ends.
func RunReplicaTests(t *testing.T, newPair func(t testing.TB, opts ...storage.Option) (storage.Store, storage.Store)) {
	sem := make(chan struct{}, maxStores/2)
	for _, c := range concurrentTests {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			t.Cleanup(func() { <-sem })
			a, b := newPair(t, storage.WithClock(newClock().Now))
			c.run(t, []storage.Store{a, b})
		})
	}
}

// maxStores bounds the stores (and their connection pools) open at once.
const maxStores = 4

// concurrency is how many goroutines the concurrency tests start at once.
const concurrency = 16

// start is the instant every store of the suite is opened at: fixed, so
// that no result depends on today's date; in UTC with millisecond
// precision, which every backend keeps exactly.
var start = time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

// base is the time the tests write their rows at: the clock's start,
// where a store's clock stays unless its test moves it.
func base() time.Time { return start }

// clock is the settable clock the suite opens each store with.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: start} }

// Now is the clock's time; a store calls it for each expiry it judges.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, forward or back.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

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
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			checkUTC(t, what, it.Value())
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
