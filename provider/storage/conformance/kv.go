package conformance

import (
	"bytes"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/storage"
)

func testKV(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	put := func(key, value string, expect int64) (int64, error) {
		return s.KVPut(ctx, "ns", key, []byte(value), expect, time.Time{}, now)
	}
	get := func(ns, key string, wantValue string, wantVersion int64) {
		t.Helper()
		e, err := s.KVGet(ctx, ns, key, now)
		must(t, "KVGet "+key, err)
		if string(e.Value) != wantValue || e.Version != wantVersion || !e.ExpiresAt.IsZero() {
			t.Fatalf("KVGet(%s) = %q v%d exp %v, want %q v%d no expiry", key, e.Value, e.Version, e.ExpiresAt, wantValue, wantVersion)
		}
	}
	_, err := s.KVGet(ctx, "ns", "a", now)
	mustErr(t, "KVGet absent", err, storage.ErrNotFound)

	v, err := put("a", "one", 0)
	must(t, "KVPut create", err)
	if v != 1 {
		t.Fatalf("KVPut create returned version %d, want 1", v)
	}
	get("ns", "a", "one", 1)
	_, err = put("a", "again", 0)
	mustErr(t, "KVPut create existing", err, storage.ErrConflict)
	v, err = put("a", "two", 1)
	must(t, "KVPut at version 1", err)
	if v != 2 {
		t.Fatalf("KVPut at version 1 returned %d, want 2", v)
	}
	_, err = put("a", "stale", 1)
	mustErr(t, "KVPut at a stale version", err, storage.ErrConflict)
	_, err = put("a", "ahead", 7)
	mustErr(t, "KVPut at a version not reached", err, storage.ErrConflict)
	get("ns", "a", "two", 2)
	v, err = put("a", "three", -1)
	must(t, "KVPut unconditional", err)
	if v != 3 {
		t.Fatalf("KVPut unconditional returned %d, want 3", v)
	}
	get("ns", "a", "three", 3)
	_, err = put("b", "x", 1)
	mustErr(t, "KVPut at a version of an absent key", err, storage.ErrConflict)
	v, err = put("b", "x", -1)
	must(t, "KVPut unconditional of an absent key", err)
	if v != 1 {
		t.Fatalf("KVPut unconditional of an absent key returned %d, want 1", v)
	}

	// Namespaces are separate.
	_, err = s.KVGet(ctx, "other", "a", now)
	mustErr(t, "KVGet in another namespace", err, storage.ErrNotFound)
	_, err = s.KVPut(ctx, "other", "a", []byte("mine"), 0, time.Time{}, now)
	must(t, "KVPut in another namespace", err)
	get("other", "a", "mine", 1)
	get("ns", "a", "three", 3)

	// Binary values survive.
	bin := []byte{0, 1, 2, 0xff, 0xfe, 0}
	_, err = s.KVPut(ctx, "ns", "bin", bin, 0, time.Time{}, now)
	must(t, "KVPut binary", err)
	e, err := s.KVGet(ctx, "ns", "bin", now)
	must(t, "KVGet binary", err)
	if !bytes.Equal(e.Value, bin) {
		t.Fatalf("KVGet binary = %x, want %x", e.Value, bin)
	}

	mustErr(t, "KVDelete at a stale version", s.KVDelete(ctx, "ns", "a", 2), storage.ErrConflict)
	get("ns", "a", "three", 3)
	must(t, "KVDelete at the version", s.KVDelete(ctx, "ns", "a", 3))
	_, err = s.KVGet(ctx, "ns", "a", now)
	mustErr(t, "KVGet deleted", err, storage.ErrNotFound)
	mustErr(t, "KVDelete absent at a version", s.KVDelete(ctx, "ns", "a", 3), storage.ErrConflict)
	must(t, "KVDelete absent unconditionally", s.KVDelete(ctx, "ns", "a", -1))
	must(t, "KVDelete unconditionally", s.KVDelete(ctx, "ns", "b", -1))
	_, err = s.KVGet(ctx, "ns", "b", now)
	mustErr(t, "KVGet deleted", err, storage.ErrNotFound)
	get("other", "a", "mine", 1)
	v, err = put("a", "new", 0)
	must(t, "KVPut create after delete", err)
	if v != 1 {
		t.Fatalf("KVPut create after delete returned %d, want 1", v)
	}
}

func testKVExpiry(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	exp := now.Add(time.Minute)
	v, err := s.KVPut(ctx, "ns", "k", []byte("v"), 0, exp, now)
	must(t, "KVPut with expiry", err)
	e, err := s.KVGet(ctx, "ns", "k", now)
	must(t, "KVGet before expiry", err)
	mustEqual(t, "KVGet before expiry", e, storage.KVEntry{Value: []byte("v"), Version: v, ExpiresAt: exp})

	after := exp.Add(time.Second)
	_, err = s.KVGet(ctx, "ns", "k", after)
	mustErr(t, "KVGet after expiry", err, storage.ErrNotFound)
	_, err = s.KVPut(ctx, "ns", "k", []byte("w"), v, time.Time{}, after)
	mustErr(t, "KVPut at the version of an expired entry", err, storage.ErrConflict)
	// An expired key counts as absent: creating it starts again at 1.
	v2, err := s.KVPut(ctx, "ns", "k", []byte("w"), 0, time.Time{}, after)
	must(t, "KVPut create over an expired entry", err)
	if v2 != 1 {
		t.Fatalf("KVPut create over an expired entry returned version %d, want 1", v2)
	}
	e, err = s.KVGet(ctx, "ns", "k", after.Add(time.Hour))
	must(t, "KVGet without expiry", err)
	mustEqual(t, "KVGet without expiry", e, storage.KVEntry{Value: []byte("w"), Version: 1})

	// Updating can set and clear an expiry.
	v3, err := s.KVPut(ctx, "ns", "k", []byte("x"), 1, exp, now)
	must(t, "KVPut setting expiry", err)
	if v3 != 2 {
		t.Fatalf("KVPut setting expiry returned %d, want 2", v3)
	}
	_, err = s.KVGet(ctx, "ns", "k", after)
	mustErr(t, "KVGet after the new expiry", err, storage.ErrNotFound)
	// Unconditional put over an expired entry also starts again at 1.
	v4, err := s.KVPut(ctx, "ns", "k", []byte("y"), -1, time.Time{}, after)
	must(t, "KVPut unconditional over an expired entry", err)
	if v4 != 1 {
		t.Fatalf("KVPut unconditional over an expired entry returned %d, want 1", v4)
	}
}

func testKVList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	for _, kv := range []struct {
		ns, key string
		exp     time.Time
	}{
		{"ns", "user/2/totp", time.Time{}},
		{"ns", "user/1/totp", time.Time{}},
		{"ns", "user/1/recovery", now.Add(time.Hour)},
		{"ns", "user/1/old", now.Add(-time.Second)},
		{"ns", "user/10/totp", time.Time{}},
		{"ns", "user0", time.Time{}},
		{"ns", "users", time.Time{}},
		{"ns", "ümlaut/1", time.Time{}},
		{"ns", "ümlaut/2", time.Time{}},
		{"ns", "üz", time.Time{}},
		{"ns", "a", time.Time{}},
		{"other", "user/1/totp", time.Time{}},
	} {
		_, err := s.KVPut(ctx, kv.ns, kv.key, []byte("v"), 0, kv.exp, now.Add(-time.Minute))
		must(t, "KVPut "+kv.key, err)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"user/1/", []string{"user/1/recovery", "user/1/totp"}},
		{"user/1", []string{"user/1/recovery", "user/1/totp", "user/10/totp"}},
		{"user", []string{"user/1/recovery", "user/1/totp", "user/10/totp", "user/2/totp", "user0", "users"}},
		{"ümlaut/", []string{"ümlaut/1", "ümlaut/2"}},
		{"ü", []string{"ümlaut/1", "ümlaut/2", "üz"}},
		{"", []string{"a", "user/1/recovery", "user/1/totp", "user/10/totp", "user/2/totp", "user0", "users", "ümlaut/1", "ümlaut/2", "üz"}},
		{"nothing", nil},
		{"user/1/totp/", nil},
	} {
		got, err := s.KVList(ctx, "ns", tc.prefix, now)
		must(t, "KVList "+tc.prefix, err)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		mustEqual(t, "KVList "+tc.prefix, got, tc.want)
	}
	got, err := s.KVList(ctx, "ns", "user/1/", now.Add(2*time.Hour))
	must(t, "KVList later", err)
	mustEqual(t, "KVList after an expiry", got, []string{"user/1/totp"})
	got, err = s.KVList(ctx, "empty", "", now)
	must(t, "KVList empty namespace", err)
	if len(got) != 0 {
		t.Fatalf("KVList of an empty namespace = %q", got)
	}
}

// testKVGetMany: the live entries among the keys asked, of their
// namespace only, as KVGet returns each; absent and expired keys are
// missing.
func testKVGetMany(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := base()
	exp := now.Add(time.Minute)
	put := func(ns, key, value string, expect int64, expiresAt, at time.Time) int64 {
		t.Helper()
		v, err := s.KVPut(ctx, ns, key, []byte(value), expect, expiresAt, at)
		must(t, "KVPut "+ns+"/"+key, err)
		return v
	}
	put("ns", "a", "one", 0, time.Time{}, now)
	va := put("ns", "a", "two", 1, time.Time{}, now)
	vb := put("ns", "b", "\x00bin\xff", 0, exp, now)
	put("ns", "gone", "old", 0, now.Add(-time.Second), now.Add(-time.Minute))
	put("other", "c", "theirs", 0, time.Time{}, now)
	put("other", "a", "theirs too", 0, time.Time{}, now)

	keys := []string{"a", "b", "gone", "c", "absent"}
	got, err := s.KVGetMany(ctx, "ns", keys, now)
	must(t, "KVGetMany", err)
	mustEqual(t, "KVGetMany", got, map[string]storage.KVEntry{
		"a": {Value: []byte("two"), Version: va},
		"b": {Value: []byte("\x00bin\xff"), Version: vb, ExpiresAt: exp},
	})
	for k, e := range got {
		want, err := s.KVGet(ctx, "ns", k, now)
		must(t, "KVGet "+k, err)
		mustEqual(t, "KVGetMany against KVGet of "+k, e, want)
	}

	// Expiry is judged by now: at its instant an entry has gone.
	got, err = s.KVGetMany(ctx, "ns", keys, exp)
	must(t, "KVGetMany at an expiry", err)
	mustEqual(t, "KVGetMany at an expiry", got, map[string]storage.KVEntry{"a": {Value: []byte("two"), Version: va}})

	got, err = s.KVGetMany(ctx, "other", keys, now)
	must(t, "KVGetMany in another namespace", err)
	mustEqual(t, "KVGetMany in another namespace", got, map[string]storage.KVEntry{
		"a": {Value: []byte("theirs too"), Version: 1},
		"c": {Value: []byte("theirs"), Version: 1},
	})

	for _, none := range [][]string{nil, {}, {"absent", "gone"}} {
		got, err = s.KVGetMany(ctx, "ns", none, now)
		must(t, "KVGetMany of no live key", err)
		if got == nil || len(got) != 0 {
			t.Fatalf("KVGetMany(%q) = %v, want an empty map", none, got)
		}
	}
}
