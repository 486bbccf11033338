package conformance

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stepup-mfa/stepup/provider/storage"
)

// openBench opens a store for a benchmark on the suite's clock, so that
// its rows are as live as the tests' are.
func openBench(b *testing.B, open OpenStore) storage.Store {
	return open(b, storage.WithClock(newClock().Now))
}

// BenchRotateRefreshToken measures RotateRefreshToken (with an access
// token, as a refresh grant does) from parallel goroutines, each rotating
// its own chain of tokens.
func BenchRotateRefreshToken(b *testing.B, open OpenStore) {
	s, ctx := openBench(b, open), b.Context()
	var chains atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		chain := chains.Add(1)
		old := fmt.Sprintf("bench-%d-0", chain)
		if err := s.CreateRefreshToken(ctx, newRefreshToken(old, "u1", "c1", future()), nil); err != nil {
			b.Error(err)
			return
		}
		for i := 1; pb.Next(); i++ {
			next := fmt.Sprintf("bench-%d-%d", chain, i)
			at := newAccessToken("at-"+next, "u1", "c1", future())
			if err := s.RotateRefreshToken(ctx, old, newRefreshToken(next, "u1", "c1", future()), &at); err != nil {
				b.Error(err)
				return
			}
			old = next
		}
	})
}

// BenchRedeemAuthRequest measures RedeemAuthRequest (redeeming a code for
// a refresh and an access token) from parallel goroutines; the b.N done
// requests are stored before the timer starts.
func BenchRedeemAuthRequest(b *testing.B, open OpenStore) {
	s, ctx := openBench(b, open), b.Context()
	if err := s.CreateUser(ctx, newUser("u1", "alice")); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		ar := newAuthRequest(fmt.Sprint("ar-", i), future())
		ar.Done = true
		if err := s.CreateAuthRequest(ctx, ar); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			rt := newRefreshToken(fmt.Sprint("rh-", i), "u1", "c1", future())
			if err := s.RedeemAuthRequest(ctx, fmt.Sprint("ar-", i), &rt, newAccessToken(fmt.Sprint("at-", i), "u1", "c1", future())); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchGetSessionUser measures reading a session and its user, as a login
// page does, from parallel goroutines: in one read with GetSessionUser,
// and in two with GetSession then GetUser.
func BenchGetSessionUser(b *testing.B, open OpenStore) {
	s, ctx := openBench(b, open), b.Context()
	if err := s.CreateUser(ctx, newUser("u1", "alice")); err != nil {
		b.Fatal(err)
	}
	if err := createSession(ctx, s, newSession("s1", "u1", future())); err != nil {
		b.Fatal(err)
	}
	reads := []struct {
		name string
		read func() error
	}{
		{"GetSessionUser", func() error {
			_, _, err := s.GetSessionUser(ctx, "s1")
			return err
		}},
		{"GetSession+GetUser", func() error {
			sess, err := s.GetSession(ctx, "s1")
			if err != nil {
				return err
			}
			_, err = s.GetUser(ctx, sess.UserID)
			return err
		}},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := r.read(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
