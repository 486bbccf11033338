package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/provider"
	"github.com/stepup-mfa/stepup/provider/config"
	"github.com/stepup-mfa/stepup/testenv"
)

// signingAlgs are the algorithms the benchmarks sign with, in turn: RS256,
// the default, and ES256.
var signingAlgs = []string{"RS256", "ES256"}

// withSigningAlg makes alg the default algorithm (tokens.signing_alg).
func withSigningAlg(alg string) testenv.Option {
	return testenv.WithConfig(func(c *config.Config) { c.Tokens.SigningAlg = alg })
}

// BenchmarkRefreshGrant measures the token endpoint with the refresh grant
// (rotation + ID token + JWT access token, signed RS256 or ES256) on
// SQLite, over real HTTP on loopback. Each worker keeps its own rotating
// chain.
func BenchmarkRefreshGrant(b *testing.B) {
	for _, alg := range signingAlgs {
		b.Run(alg, func(b *testing.B) { benchRefreshGrant(b, alg) })
	}
}

func benchRefreshGrant(b *testing.B, alg string) {
	defer debug.SetGCPercent(debug.SetGCPercent(provider.GCPercent)) // as stepup serve runs
	env := testenv.New(b, withSigningAlg(alg))
	env.AddUser(b, "alice", alicePassword)
	rp := env.NewRP(b, testenv.PublicClient, "")
	tokenURL := rp.OAuth.Endpoint.TokenURL
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	newChain := func() string {
		mu.Lock()
		defer mu.Unlock()
		br := env.NewBrowser(b)
		ar := rp.AuthURL(nil)
		p := br.Get(ar.URL)
		if p.IsLoginPage() {
			p = br.SubmitPassword(p, "alice", alicePassword)
		}
		tok, err := rp.Exchange(testenv.MustCallback(b, p).Code(b), ar)
		if err != nil {
			b.Fatal(err)
		}
		return tok.OAuth.RefreshToken
	}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rt := newChain()
		for pb.Next() {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {testenv.PublicClient}}
			resp, err := hc.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				b.Error(err)
				return
			}
			var out struct {
				RefreshToken string `json:"refresh_token"`
				IDToken      string `json:"id_token"`
			}
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != 200 || out.IDToken == "" {
				b.Errorf("refresh: %d", resp.StatusCode)
				return
			}
			rt = out.RefreshToken
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// stepUpUser is a user signed in at aal1 in its own browser, with an
// authenticator app enrolled.
type stepUpUser struct {
	b      *testenv.Browser
	secret string
}

// BenchmarkStepUpFlow measures complete step-up flows on SQLite with the
// real TOTP plugin: authorize (acr_values=aal2) -> code page -> verify ->
// callback -> token exchange, by an independent relying party over
// loopback, with tokens signed RS256 (the default) and ES256 in turn. Each flow is a different user, because a
// TOTP code is accepted once; preparing them is not timed.
//
// 64 flows run at once, as a load generator keeps a server busy: with
// fewer, the provider waits on its clients' round trips and the figure is
// one of latency, not of throughput. Besides flows/s it reports the
// latency of a whole flow (p50, p99) and the CPU a flow costs: in this
// process (provider and client together) and in the plugin processes.
func BenchmarkStepUpFlow(b *testing.B) {
	for _, alg := range signingAlgs {
		b.Run(alg, func(b *testing.B) { benchStepUpFlow(b, alg) })
	}
}

func benchStepUpFlow(b *testing.B, alg string) {
	defer debug.SetGCPercent(debug.SetGCPercent(provider.GCPercent)) // as stepup serve runs
	env := testenv.New(b, testenv.WithMethods("totp"), withSigningAlg(alg))
	rp := env.NewRP(b, testenv.PublicClient, "")
	users := make([]stepUpUser, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				name := fmt.Sprintf("user%d", i)
				env.AddUser(b, name, alicePassword)
				br := env.NewBrowser(b)
				br.SubmitPassword(br.Get(env.URL+"/account"), name, alicePassword)
				users[i] = stepUpUser{b: br, secret: br.EnrolTOTP()}
			}
		}()
	}
	wg.Wait()
	env.Clock.Advance(30 * time.Second) // past the confirming codes
	next.Store(0)
	lat := make([]time.Duration, b.N)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start, cpu0, plugins0 := time.Now(), cpuTime(syscall.RUSAGE_SELF), childrenCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			t0, u := time.Now(), users[i]
			ar := rp.AuthURL(url.Values{"acr_values": {"aal2"}})
			p := u.b.Get(ar.URL)
			f := p.Form(b, "/login/verify")
			p = u.b.Submit(p, f, map[string]string{"code": testenv.TOTPCode(b, u.secret, env.Clock.Now())})
			tok, err := rp.Exchange(testenv.MustCallback(b, p).Code(b), ar)
			if err != nil || tok.Claims.ACR != "aal2" {
				b.Errorf("flow: %v", err)
				return
			}
			lat[i] = time.Since(t0)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "flows/s")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[b.N/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[b.N*99/100].Milliseconds()), "p99-ms")
	b.ReportMetric(float64((cpuTime(syscall.RUSAGE_SELF)-cpu0).Microseconds())/float64(b.N), "cpu-µs/flow")
	b.ReportMetric(float64((childrenCPU(b)-plugins0).Microseconds())/float64(b.N), "plugin-cpu-µs/flow")
}

// cpuTime is the user and system CPU time of who (RUSAGE_SELF).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the CPU time so far of this process's running children
// (the plugins), from /proc: getrusage counts only children that ended.
func childrenCPU(b *testing.B) time.Duration {
	kids, err := testenv.Children(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
	for _, pid := range kids {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command (which may hold spaces): utime and
		// stime are the 12th and 13th.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
