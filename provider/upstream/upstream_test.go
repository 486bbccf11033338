package upstream

import (
	"slices"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider/config"
)

func TestPending(t *testing.T) {
	now := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	p, state := NewPending(now)
	q, other := NewPending(now)
	if state == other || p.Nonce == q.Nonce || p.Verifier == q.Verifier || len(p.Verifier) < 43 {
		t.Fatalf("two sign-ins share secrets or a verifier is short: %+v %+v", p, q)
	}
	if p.StateHash == state || p.StateHash == "" {
		t.Errorf("the stored state is %q for %q: want its hash, never the value", p.StateHash, state)
	}
	if !p.StateMatches(state) || p.StateMatches(other) || p.StateMatches("") || (Pending{}).StateMatches("") {
		t.Errorf("StateMatches accepts the wrong state")
	}
}

func TestAMRAndTrust(t *testing.T) {
	if got := AMR(Identity{}); !slices.Equal(got, []string{"fed"}) {
		t.Errorf("AMR with none = %v, want [fed]", got)
	}
	id := Identity{AMR: []string{"pwd", "mfa"}}
	if got := AMR(id); !slices.Equal(got, []string{"pwd", "mfa"}) {
		t.Errorf("AMR = %v, want the upstream's", got)
	}
	for _, tc := range []struct {
		trusted []string
		want    bool
	}{{nil, false}, {[]string{"hwk"}, false}, {[]string{"hwk", "mfa"}, true}} {
		if got := TrustedSecond(config.Upstream{TrustedAMR: tc.trusted}, id); got != tc.want {
			t.Errorf("TrustedSecond(%v) = %v, want %v", tc.trusted, got, tc.want)
		}
	}
}
