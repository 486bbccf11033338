package sdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

// countingStorage is a Storage in memory that counts the calls it gets.
type countingStorage struct {
	calls int
	data  map[string]record
	fail  error
}

func (c *countingStorage) Get(_ context.Context, key string) ([]byte, int64, error) {
	c.calls++
	r, ok := c.data[key]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return r.value, r.version, nil
}

func (c *countingStorage) Put(_ context.Context, key string, value []byte, expect int64, _ time.Duration) (int64, error) {
	c.calls++
	if c.fail != nil {
		return 0, c.fail
	}
	if r := c.data[key]; expect != AnyVersion && r.version != expect {
		return 0, ErrConflict
	}
	v := c.data[key].version + 1
	c.data[key] = record{value: value, version: v}
	return v, nil
}

func (c *countingStorage) Delete(_ context.Context, key string, _ int64) error {
	c.calls++
	delete(c.data, key)
	return nil
}

func (c *countingStorage) List(context.Context, string) ([]string, error) {
	c.calls++
	return nil, nil
}

func TestCallStorageAnswersFromRecords(t *testing.T) {
	ctx := context.Background()
	remote := &countingStorage{data: map[string]record{"acc/u": {[]byte("a"), 4}, "other": {[]byte("o"), 1}}}
	st := newCallStorage(remote, []*pluginpb.Record{
		{Key: "acc/u", Value: []byte("a"), Version: 4},
		{Key: "gone/u"}, // absent
	})
	if v, ver, err := st.Get(ctx, "acc/u"); err != nil || string(v) != "a" || ver != 4 {
		t.Fatalf("Get record: %q %d %v", v, ver, err)
	}
	if _, _, err := st.Get(ctx, "gone/u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent record: %v", err)
	}
	if remote.calls != 0 {
		t.Fatalf("%d calls to the host for records sent with the call", remote.calls)
	}
	if v, _, err := st.Get(ctx, "other"); err != nil || string(v) != "o" || remote.calls != 1 {
		t.Fatalf("Get of another key: %q %v, %d host calls", v, err, remote.calls)
	}

	// A write goes to the host and is read back without a call.
	ver, err := st.Put(ctx, "acc/u", []byte("b"), 4, 0)
	if err != nil || ver != 5 {
		t.Fatalf("Put: %d %v", ver, err)
	}
	calls := remote.calls
	if v, got, err := st.Get(ctx, "acc/u"); err != nil || string(v) != "b" || got != 5 || remote.calls != calls {
		t.Fatalf("Get after Put: %q %d %v (%d new host calls)", v, got, err, remote.calls-calls)
	}
	// A refused write leaves the record to be asked for again.
	if _, err := st.Put(ctx, "acc/u", []byte("c"), 4, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale Put: %v", err)
	}
	remote.data["acc/u"] = record{[]byte("elsewhere"), 9}
	if v, got, err := st.Get(ctx, "acc/u"); err != nil || string(v) != "elsewhere" || got != 9 {
		t.Fatalf("Get after a refused Put: %q %d %v, want the host's", v, got, err)
	}
	// A value with a TTL is not kept: it may expire during the call.
	st2 := newCallStorage(remote, []*pluginpb.Record{{Key: "gone/u"}})
	if _, err := st2.Put(ctx, "gone/u", []byte("t"), AnyVersion, time.Minute); err != nil {
		t.Fatal(err)
	}
	calls = remote.calls
	if _, _, err := st2.Get(ctx, "gone/u"); err != nil || remote.calls != calls+1 {
		t.Fatalf("Get after a Put with TTL: %v, %d host calls (want 1)", err, remote.calls-calls)
	}
	// Delete is remembered as absent.
	st3 := newCallStorage(remote, []*pluginpb.Record{{Key: "acc/u", Value: []byte("elsewhere"), Version: 9}})
	if err := st3.Delete(ctx, "acc/u", 9); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st3.Get(ctx, "acc/u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	// The caller's slice is its own.
	st4 := newCallStorage(remote, []*pluginpb.Record{{Key: "k", Value: []byte("abc"), Version: 1}})
	v, _, _ := st4.Get(ctx, "k")
	v[0] = 'X'
	if again, _, _ := st4.Get(ctx, "k"); string(again) != "abc" {
		t.Fatalf("a caller changed the record: %q", again)
	}
}

func TestOneCredential(t *testing.T) {
	ctx := context.Background()
	st := &countingStorage{data: map[string]record{}}
	if got, err := ListOneCredential(ctx, st, "account/u"); err != nil || len(got) != 0 || got == nil {
		t.Fatalf("no record: %#v, %v (want an empty list)", got, err)
	}
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	pendingVersion, err := st.Put(ctx, "pending/u", []byte(`{}`), MustNotExist, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"credential_id": "c1", "label": "phone", "created_at": created, "secret": "kept by the method"}
	if err := SaveOneCredential(ctx, st, "account/u", rec, "pending/u", pendingVersion); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx, "pending/u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the pending enrolment is left: %v", err)
	}
	if err := SaveOneCredential(ctx, st, "account/u", rec, "pending/u", pendingVersion); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Fatalf("a second credential: %v, want ErrAlreadyEnrolled", err)
	}
	got, err := ListOneCredential(ctx, st, "account/u")
	if err != nil || len(got) != 1 || got[0].ID != "c1" || got[0].Label != "phone" || !got[0].CreatedAt.Equal(created) {
		t.Fatalf("one record: %+v, %v", got, err)
	}
	// Rename changes the label only, of that credential only.
	if err := RenameOneCredential(ctx, st, "account/u", "c2", "stolen"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rename of another credential: %v, want ErrNotFound", err)
	}
	if err := RenameOneCredential(ctx, st, "account/u", "c1", "work phone"); err != nil {
		t.Fatal(err)
	}
	var kept map[string]any
	if _, err := GetJSON(ctx, st, "account/u", &kept); err != nil || kept["label"] != "work phone" || kept["secret"] != "kept by the method" || kept["credential_id"] != "c1" {
		t.Fatalf("after Rename: %v, %v", kept, err)
	}
	if err := RemoveOneCredential(ctx, st, "account/u", "c2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove of another credential: %v, want ErrNotFound", err)
	}
	if err := RemoveOneCredential(ctx, st, "account/u", "c1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ListOneCredential(ctx, st, "account/u"); len(got) != 0 {
		t.Fatalf("after Remove: %+v", got)
	}
	if err := RemoveOneCredential(ctx, st, "account/u", "c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove again: %v, want ErrNotFound", err)
	}
}

func TestCredentialLabel(t *testing.T) {
	for in, want := range map[string]string{"": "PIN", "   ": "PIN", "  work phone ": "work phone", strings.Repeat("é", MaxLabelLen): strings.Repeat("é", MaxLabelLen)} {
		if got, err := CredentialLabel(in, "PIN"); err != nil || got != want {
			t.Errorf("CredentialLabel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	var ie *InputError
	if _, err := CredentialLabel(strings.Repeat("a", MaxLabelLen+1), "PIN"); !errors.As(err, &ie) || !strings.Contains(err.Error(), "100 characters") {
		t.Fatalf("a long name: %v, want an InputError naming the limit", err)
	}
}

type countingLimiter struct{ calls int }

func (c *countingLimiter) Count(context.Context, string, time.Duration, int) (RateResult, error) {
	c.calls++
	return RateResult{Allowed: true, Count: 99}, nil
}

// A count the host made ahead of a Verify answers the first CheckLimit of
// exactly that key, window and limit; anything else, and that count
// again, goes to the host.
func TestCountedRateLimit(t *testing.T) {
	remote := &countingLimiter{}
	retry := time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC)
	rl := &countedRateLimit{remote: remote,
		req: &pluginpb.CountRequest{Key: "verify/u1", WindowNanos: int64(time.Minute), Limit: 3},
		res: &pluginpb.CountResponse{Allowed: false, Count: 3, RetryAfterUnixNano: retry.UnixNano()}}
	ctx := context.Background()
	for _, other := range []struct {
		key    string
		window time.Duration
		limit  int
	}{{"verify/u2", time.Minute, 3}, {"verify/u1", time.Hour, 3}, {"verify/u1", time.Minute, 4}} {
		if r, err := rl.Count(ctx, other.key, other.window, other.limit); err != nil || r.Count != 99 {
			t.Fatalf("Count(%v) = %+v, %v; want the host's answer", other, r, err)
		}
	}
	if remote.calls != 3 {
		t.Fatalf("%d calls to the host, want 3", remote.calls)
	}
	r, err := rl.Count(ctx, "verify/u1", time.Minute, 3)
	if err != nil || r.Allowed || r.Count != 3 || !r.RetryAfter.Equal(retry) {
		t.Fatalf("the counted Count = %+v, %v", r, err)
	}
	if remote.calls != 3 {
		t.Fatal("the counted Count called the host")
	}
	if r, err := rl.Count(ctx, "verify/u1", time.Minute, 3); err != nil || r.Count != 99 || remote.calls != 4 {
		t.Fatalf("the same Count again = %+v, %v (%d calls); want it counted by the host", r, err, remote.calls)
	}
}
