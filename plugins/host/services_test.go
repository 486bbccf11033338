package host_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// The storage view in process: the same code serves the broker.

func TestStorageViewCAS(t *testing.T) {
	e := newEnv()
	st := e.local(t, "m").Storage()
	ctx := context.Background()
	v, err := st.Put(ctx, "k", []byte("v1"), sdk.MustNotExist, 0)
	if err != nil || v != 1 {
		t.Fatalf("Put new = %d, %v", v, err)
	}
	for _, c := range []struct {
		expect int64
		want   error
	}{{sdk.MustNotExist, sdk.ErrConflict}, {2, sdk.ErrConflict}, {1, nil}, {sdk.AnyVersion, nil}} {
		_, err := st.Put(ctx, "k", []byte("v"), c.expect, 0)
		if !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("Put(expect %d) = %v, want %v", c.expect, err, c.want)
		}
	}
	val, ver, err := st.Get(ctx, "k")
	if err != nil || ver != 3 || string(val) != "v" {
		t.Fatalf("Get = %q, %d, %v", val, ver, err)
	}
	if err := st.Delete(ctx, "k", 2); !errors.Is(err, sdk.ErrConflict) {
		t.Errorf("Delete stale = %v", err)
	}
	if err := st.Delete(ctx, "k", 0); !errors.Is(err, sdk.ErrInvalidInput) {
		t.Errorf("Delete(0) = %v", err)
	}
	if err := st.Delete(ctx, "k", 3); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "k", sdk.AnyVersion); err != nil {
		t.Errorf("Delete absent with AnyVersion = %v", err)
	}
	if _, _, err := st.Get(ctx, "k"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Get deleted = %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("x", sdk.MaxKeyLen+1), "a\x00b", "\xff"} {
		if _, err := st.Put(ctx, bad, nil, sdk.AnyVersion, 0); !errors.Is(err, sdk.ErrInvalidInput) {
			t.Errorf("Put(key %q) = %v", bad, err)
		}
	}
	if _, err := st.Put(ctx, "big", make([]byte, sdk.MaxValueLen+1), sdk.AnyVersion, 0); !errors.Is(err, sdk.ErrInvalidInput) {
		t.Errorf("oversized value = %v", err)
	}
}

func TestStorageViewExpiryAndList(t *testing.T) {
	e := newEnv()
	st := e.local(t, "m").Storage()
	ctx := context.Background()
	for _, k := range []string{"p/b", "p/a", "q/a"} {
		if _, err := st.Put(ctx, k, []byte(k), sdk.MustNotExist, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Put(ctx, "p/c", []byte("soon gone"), sdk.MustNotExist, time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, err := st.List(ctx, "p/")
	if err != nil || strings.Join(keys, ",") != "p/a,p/b,p/c" {
		t.Fatalf("List = %v, %v", keys, err)
	}
	e.clock.Advance(time.Minute)
	keys, _ = st.List(ctx, "p/")
	if strings.Join(keys, ",") != "p/a,p/b" {
		t.Fatalf("List after expiry = %v", keys)
	}
	// An expired key can be created again.
	if v, err := st.Put(ctx, "p/c", []byte("new"), sdk.MustNotExist, 0); err != nil || v != 1 {
		t.Fatalf("Put over an expired key = %d, %v", v, err)
	}
}

func TestStorageViewConcurrentCAS(t *testing.T) {
	e := newEnv()
	st := e.local(t, "m").Storage()
	const n = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.Put(context.Background(), "once", []byte("x"), sdk.MustNotExist, 0)
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !errors.Is(err, sdk.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d winners, want 1", won)
	}
}

func TestStorageViewEncryption(t *testing.T) {
	e := newEnv()
	ctx := context.Background()
	st := e.local(t, "m").Storage()
	secret := []byte("JBSWY3DPEHPK3PXP-a-secret")
	if _, err := st.Put(ctx, "k", secret, sdk.AnyVersion, 0); err != nil {
		t.Fatal(err)
	}
	ns := host.Namespace("m")
	raw, _ := e.backend.Raw(ns, "k")
	if bytes.Contains(raw, secret) || len(raw) != 1+12+len(secret)+16 {
		t.Fatalf("stored %d bytes %q: not sealed", len(raw), raw)
	}
	// Two writes of one value differ (fresh nonce).
	if _, err := st.Put(ctx, "k2", secret, sdk.AnyVersion, 0); err != nil {
		t.Fatal(err)
	}
	if raw2, _ := e.backend.Raw(ns, "k2"); bytes.Equal(raw[13:], raw2[13:]) {
		t.Fatal("same ciphertext twice")
	}
	wantUnreadable := func(what string) {
		t.Helper()
		_, _, err := st.Get(ctx, "k")
		if !errors.Is(err, sdk.ErrUnavailable) {
			t.Fatalf("%s: Get = %v, want ErrUnavailable", what, err)
		}
	}
	// Tampered.
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 1
	e.backend.SetRaw(ns, "k", bad)
	wantUnreadable("a flipped bit")
	// Moved from another key (aad binds the key).
	raw2, _ := e.backend.Raw(ns, "k2")
	e.backend.SetRaw(ns, "k", raw2)
	wantUnreadable("another key's value")
	// Moved from another namespace (aad binds the namespace).
	other := e.local(t, "other").Storage()
	if _, err := other.Put(ctx, "k", secret, sdk.AnyVersion, 0); err != nil {
		t.Fatal(err)
	}
	fromOther, _ := e.backend.Raw(host.Namespace("other"), "k")
	e.backend.SetRaw(ns, "k", fromOther)
	wantUnreadable("another method's value")
	// Another data key.
	e.backend.SetRaw(ns, "k", raw)
	if _, _, err := st.Get(ctx, "k"); err != nil {
		t.Fatalf("restored value: %v", err)
	}
	key2 := append([]byte(nil), e.key...)
	key2[0] ^= 1
	h2, err := host.NewLocalHost("m", e.backend, key2, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h2.Storage().Get(ctx, "k"); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("other data key: %v", err)
	}
}

func TestStorageViewNamespaces(t *testing.T) {
	e := newEnv()
	ctx := context.Background()
	a, b := e.local(t, "a").Storage(), e.local(t, "b").Storage()
	if _, err := a.Put(ctx, "k", []byte("a"), sdk.MustNotExist, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Get(ctx, "k"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("b sees a's key: %v", err)
	}
	if keys, _ := b.List(ctx, ""); len(keys) != 0 {
		t.Fatalf("b lists %v", keys)
	}
}

func TestBackendOutageIsUnavailable(t *testing.T) {
	e := newEnv()
	h := e.local(t, "m")
	e.backend.Fail(errors.New("pq: connection refused to 10.0.0.5"))
	_, _, err := h.Storage().Get(context.Background(), "k")
	if !errors.Is(err, sdk.ErrUnavailable) || strings.Contains(err.Error(), "10.0.0.5") {
		t.Fatalf("Get during an outage = %v: want ErrUnavailable without the database's detail", err)
	}
	if _, err := h.RateLimit().Count(context.Background(), "k", time.Minute, 1); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("Count during an outage = %v", err)
	}
}

func TestRateLimitLocal(t *testing.T) {
	e := newEnv()
	rl := e.local(t, "m").RateLimit()
	ctx := context.Background()
	const n, limit = 40, 7
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := rl.Count(ctx, "user/1", time.Hour, limit)
			if err != nil {
				t.Error(err)
				return
			}
			if r.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			} else if !r.RetryAfter.Equal(t0.Add(time.Hour)) {
				t.Errorf("retry after %v", r.RetryAfter)
			}
		}()
	}
	wg.Wait()
	if allowed != limit {
		t.Fatalf("%d of %d allowed, want %d", allowed, n, limit)
	}
	if _, err := rl.Count(ctx, "k", 0, 1); !errors.Is(err, sdk.ErrInvalidInput) {
		t.Fatalf("zero window: %v", err)
	}
}
