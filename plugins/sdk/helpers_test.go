package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/host"
	"github.com/stepup-mfa/stepup/plugins/host/hosttest"
	"github.com/stepup-mfa/stepup/plugins/sdk"
)

func localHost(t *testing.T) sdk.Host {
	t.Helper()
	h, err := host.NewLocalHost("helpers", hosttest.NewMemory(), bytes.Repeat([]byte{7}, host.KeySize), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSharedKeyOneForAll: replicas racing to create the key all get the
// same one.
func TestSharedKeyOneForAll(t *testing.T) {
	h := localHost(t)
	keys := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := &sdk.SharedKey{Name: "k"} // one per "replica"
			key, err := k.Get(context.Background(), h.Storage())
			if err != nil {
				t.Error(err)
			}
			keys[i] = key
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ: %x vs %x", k, keys[0])
		}
	}
}

func TestJSONAndLimit(t *testing.T) {
	h := localHost(t)
	ctx := context.Background()
	type rec struct{ N int }
	if err := sdk.PutJSON(ctx, h.Storage(), "r", rec{1}, sdk.MustNotExist, 0); err != nil {
		t.Fatal(err)
	}
	var got rec
	v, err := sdk.GetJSON(ctx, h.Storage(), "r", &got)
	if err != nil || got.N != 1 || v < 1 {
		t.Fatalf("%v %v %d", err, got, v)
	}
	if err := sdk.PutJSON(ctx, h.Storage(), "r", rec{2}, sdk.MustNotExist, 0); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	for i := range 3 {
		err := sdk.CheckLimit(ctx, h, "x", time.Minute, 2)
		if (i < 2) != (err == nil) || (i == 2 && !errors.Is(err, sdk.ErrRateLimited)) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	id, err := sdk.RandomID()
	if err != nil || !sdk.ValidID(id) || sdk.ValidID("") || sdk.ValidID("a\x00b") {
		t.Fatalf("ids: %q %v", id, err)
	}
}

// TestPutOnAcceptWithoutHostSupport: a host that does not write on
// acceptance (here a local one) gets PutOnAccept as a Put at once, with
// Put's compare-and-swap and its ErrConflict.
func TestPutOnAcceptWithoutHostSupport(t *testing.T) {
	ctx := context.Background()
	h := localHost(t)
	if err := sdk.PutOnAccept(ctx, h, "k", []byte("one"), sdk.MustNotExist, 0); err != nil {
		t.Fatal(err)
	}
	if v, version, err := h.Storage().Get(ctx, "k"); err != nil || string(v) != "one" || version != 1 {
		t.Fatalf("after PutOnAccept: %q@%d, %v; want it written at once", v, version, err)
	}
	if err := sdk.PutOnAccept(ctx, h, "k", []byte("two"), sdk.MustNotExist, 0); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("stale PutOnAccept: %v, want ErrConflict", err)
	}
}

// TestCommitWithoutHostSupport: storage that is not a committing call's
// (here a local host's) gets PutOnCommit and DeleteOnCommit at once, with
// their compare-and-swap and ErrConflict, and says it is not committing.
func TestCommitWithoutHostSupport(t *testing.T) {
	ctx := context.Background()
	st := localHost(t).Storage()
	if sdk.Committing(st) {
		t.Fatal("a local host's storage says it commits")
	}
	if err := sdk.PutOnCommit(ctx, st, "k", []byte("one"), sdk.MustNotExist, 0); err != nil {
		t.Fatal(err)
	}
	if v, version, err := st.Get(ctx, "k"); err != nil || string(v) != "one" || version != 1 {
		t.Fatalf("after PutOnCommit: %q@%d, %v; want it written at once", v, version, err)
	}
	if err := sdk.PutOnCommit(ctx, st, "k", []byte("two"), sdk.MustNotExist, 0); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("stale PutOnCommit: %v, want ErrConflict", err)
	}
	if err := sdk.DeleteOnCommit(ctx, st, "k", 2); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("stale DeleteOnCommit: %v, want ErrConflict", err)
	}
	if err := sdk.DeleteOnCommit(ctx, st, "k", 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx, "k"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("after DeleteOnCommit: %v, want ErrNotFound", err)
	}
}

// plainHost is a Host that sends no mail.
type plainHost struct{ sdk.Host }

// TestSendMail: a message goes through a Host that is a Mailer, is
// checked first, and any other Host says it cannot send.
func TestSendMail(t *testing.T) {
	ctx := context.Background()
	h := localHost(t)
	if err := sdk.SendMail(ctx, h, "u1", "Your code", "It is 123456."); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	for _, c := range []struct{ user, subject, text string }{
		{"", "Hi", "x"}, {"u1", " ", "x"}, {"u1", "a\rb", "x"}, {"u1", "Hi", "\xff"}, {"u1", "Hi", string(make([]byte, sdk.MaxMailTextLen+1))},
	} {
		if err := sdk.SendMail(ctx, h, c.user, c.subject, c.text); !errors.Is(err, sdk.ErrInvalidInput) {
			t.Errorf("SendMail(%q, %q, %d bytes) = %v, want ErrInvalidInput", c.user, c.subject, len(c.text), err)
		}
	}
	if err := sdk.SendMail(ctx, plainHost{h}, "u1", "Hi", "x"); !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("SendMail through a Host that is no Mailer = %v, want ErrUnavailable", err)
	}
}

// TestRemoveOneCredentialTwiceAtOnce: of concurrent removals of one
// credential (a double submit), one removes it and the others hear
// ErrNotFound, never a conflict (issue 18, item 4).
func TestRemoveOneCredentialTwiceAtOnce(t *testing.T) {
	h := localHost(t)
	ctx := context.Background()
	for round := range 20 {
		if err := sdk.PutJSON(ctx, h.Storage(), "account/u1", sdk.OneCredential{CredentialID: "c1"}, sdk.AnyVersion, 0); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = sdk.RemoveOneCredential(ctx, h.Storage(), "account/u1", "c1") })
		}
		wg.Wait()
		removed := 0
		for _, err := range errs {
			switch {
			case err == nil:
				removed++
			case !errors.Is(err, sdk.ErrNotFound):
				t.Fatalf("round %d: %v, want nil or ErrNotFound", round, err)
			}
		}
		if removed != 1 {
			t.Fatalf("round %d: %d removals succeeded, want 1", round, removed)
		}
	}
}
