package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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

// stepUpUser is a user signed in at aal1 in its own browser, with a
// second factor enrolled: an authenticator app (secret), a set of
// recovery codes (code, one of them) or a mobile number (phone).
type stepUpUser struct {
	b      *testenv.Browser
	secret string
	code   string
	phone  string
}

// stepUpMethod is the second factor of a step-up flow: how a user enrols
// it (not timed) and how the flow answers its challenge page (timed).
type stepUpMethod struct {
	name   string                                                                      // the plugin the Env runs
	enrol  func(b *testing.B, env *testenv.Env, br *testenv.Browser, i int) stepUpUser // on the account page of a signed-in browser
	ready  func(b *testing.B, env *testenv.Env)                                        // after every user enrolled, before the timer starts
	answer func(b *testing.B, env *testenv.Env, u stepUpUser) map[string]string        // the challenge form's fields
}

var totpMethod = stepUpMethod{
	name: "totp",
	enrol: func(b *testing.B, env *testenv.Env, br *testenv.Browser, i int) stepUpUser {
		return stepUpUser{b: br, secret: br.EnrolTOTP()}
	},
	ready: func(b *testing.B, env *testenv.Env) { env.Clock.Advance(30 * time.Second) }, // past the confirming codes
	answer: func(b *testing.B, env *testenv.Env, u stepUpUser) map[string]string {
		return map[string]string{"code": testenv.TOTPCode(b, u.secret, env.Clock.Now())}
	},
}

var recoveryCodeShown = regexp.MustCompile(`<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>`)

// recoveryMethod: each user generates a set and spends its first code.
var recoveryMethod = stepUpMethod{
	name: "recovery",
	enrol: func(b *testing.B, env *testenv.Env, br *testenv.Browser, i int) stepUpUser {
		p := br.Get(env.URL + "/account/enrol?method=recovery")
		m := recoveryCodeShown.FindStringSubmatch(p.Body)
		if m == nil {
			b.Fatalf("no recovery codes on the enrolment page (%d): %s", p.Status, p.Text())
		}
		done := br.Submit(p, p.Form(b, "/account/enrol"), map[string]string{"saved": "on"})
		if !strings.Contains(done.Text(), "The method was added") {
			b.Fatalf("recovery codes not added (%d): %s", done.Status, done.Text())
		}
		return stepUpUser{b: br, code: m[1]}
	},
	ready: func(*testing.B, *testenv.Env) {},
	answer: func(_ *testing.B, _ *testenv.Env, u stepUpUser) map[string]string {
		return map[string]string{"code": u.code}
	},
}

// phones are the users' phones, whichever gateway reaches them: the code
// last sent to a number and not read yet (the Env's outbox, for the
// outbox gateway), and forgetting the codes not read.
type phones interface {
	code(b *testing.B, outbox, phone string) string
	reset()
}

// smsMethod: each user has a number of its own, whose codes the gateway
// sends to inbox, which plays the phones.
func smsMethod(inbox phones) stepUpMethod {
	return stepUpMethod{
		name: "sms",
		enrol: func(b *testing.B, env *testenv.Env, br *testenv.Browser, i int) stepUpUser {
			phone := fmt.Sprintf("+4477009%05d", i)
			p := br.Get(env.URL + "/account/enrol?method=sms")
			p = br.Submit(p, p.Form(b, "/account/enrol"), map[string]string{"phone": phone})
			f := p.Form(b, "/account/enrol")
			if f.Values.Get("enrolment") == "" {
				b.Fatalf("no code asked for after the number (%d): %s", p.Status, p.Text())
			}
			done := br.Submit(p, f, map[string]string{"code": inbox.code(b, env.Outbox, phone)})
			if !strings.Contains(done.Text(), "The method was added") {
				b.Fatalf("number not added (%d): %s", done.Status, done.Text())
			}
			return stepUpUser{b: br, phone: phone}
		},
		ready: func(*testing.B, *testenv.Env) { inbox.reset() },
		// Reading the message is part of the flow's time, as a person
		// reading their phone is part of theirs: the page was fetched, so
		// the message is in the outbox.
		answer: func(b *testing.B, env *testenv.Env, u stepUpUser) map[string]string {
			return map[string]string{"code": inbox.code(b, env.Outbox, u.phone)}
		},
	}
}

// smsInbox plays every user's phone: it reads the outbox's NAME.sms.json
// files as they come, files each code under the number it went to, and
// removes the file, so that the directory holds only messages not read
// yet.
type smsInbox struct {
	mu    sync.Mutex
	codes map[string][]string // number -> codes not read yet
}

var smsCodeSent = regexp.MustCompile(`code is ([0-9]{6})`)

// code returns the code last sent to phone that was not read yet.
func (in *smsInbox) code(b *testing.B, dir, phone string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.codes[phone]) == 0 {
		in.scan(b, dir)
	}
	codes := in.codes[phone]
	if len(codes) == 0 {
		b.Fatalf("no text message to %s in %s", phone, dir)
	}
	in.codes[phone] = codes[1:]
	return codes[0]
}

func (in *smsInbox) scan(b *testing.B, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	if in.codes == nil {
		in.codes = map[string][]string{}
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".sms.json") {
			continue // written yet, or mail
		}
		path := filepath.Join(dir, name)
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var msg struct{ To, Body string }
		if err := json.Unmarshal(raw, &msg); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		m := smsCodeSent.FindStringSubmatch(msg.Body)
		if m == nil {
			b.Fatalf("%s: no code in %q", name, msg.Body)
		}
		in.codes[msg.To] = append(in.codes[msg.To], m[1])
		if err := os.Remove(path); err != nil {
			b.Fatal(err)
		}
	}
}

// reset forgets the codes not read.
func (in *smsInbox) reset() {
	in.mu.Lock()
	in.codes = nil
	in.mu.Unlock()
}

// smsHook plays the phones behind the webhook gateway: an HTTP server in
// this process that takes each message as the gateway posts it.
type smsHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	codes map[string][]string // number -> codes not read yet
}

// newSMSHook starts the server, stopped when b ends.
func newSMSHook(b *testing.B) *smsHook {
	h := &smsHook{codes: map[string][]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct{ To, Body string }
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := smsCodeSent.FindStringSubmatch(msg.Body)
		if m == nil {
			http.Error(w, "no code in the message", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.codes[msg.To] = append(h.codes[msg.To], m[1])
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(h.srv.Close)
	return h
}

// gateway is the setting that makes the SMS method post to h.
func (h *smsHook) gateway() testenv.Option {
	return testenv.WithConfig(func(c *config.Config) {
		mc := c.Methods["sms"]
		if mc.Settings == nil {
			mc.Settings = map[string]any{}
		}
		mc.Settings["gateway"] = map[string]any{"kind": "webhook", "url": h.srv.URL + "/sms", "secret": "bench-webhook-secret-0123"}
		c.Methods["sms"] = mc
	})
}

func (h *smsHook) code(b *testing.B, _, phone string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	codes := h.codes[phone]
	if len(codes) == 0 {
		b.Fatalf("no text message to %s at the webhook", phone)
	}
	h.codes[phone] = codes[1:]
	return codes[0]
}

func (h *smsHook) reset() {
	h.mu.Lock()
	h.codes = map[string][]string{}
	h.mu.Unlock()
}

// clearOutbox removes the messages and mail in dir, but for files being
// written.
func clearOutbox(b *testing.B, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		b.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// BenchmarkStepUpFlow measures complete step-up flows on SQLite with the
// real method plugins: authorize (acr_values=aal2) -> challenge page ->
// verify -> callback -> token exchange, by an independent relying party
// over loopback. RS256 (the default) and ES256 sign the tokens in turn
// with TOTP; recovery-ES256 and sms-ES256 run the same flow with a
// recovery code and with a text-message code (outbox gateway), to set
// beside ES256; sms-ES256-webhook sends the codes with the webhook
// gateway instead, to a server in this process. Each flow is a different user, because a code is accepted
// once; preparing them is not timed.
//
// The SMS flow writes a file to the outbox for each message and the
// recovery flow one for the mail each use sends. Creating a file costs
// what the disk makes it cost (on the development machine's ext4 about
// 0.8 ms of CPU, against 10–20 µs on tmpfs), so both run again with the
// outbox, and only it, on tmpfs (-outbox-on-tmpfs) where there is one.
//
// 64 flows run at once, as a load generator keeps a server busy: with
// fewer, the provider waits on its clients' round trips and the figure is
// one of latency, not of throughput. Besides flows/s it reports the
// latency of a whole flow (p50, p99) and the CPU a flow costs: in this
// process (provider and client together) and in the plugin processes.
func BenchmarkStepUpFlow(b *testing.B) {
	for _, alg := range signingAlgs {
		b.Run(alg, func(b *testing.B) { benchStepUpFlow(b, alg, totpMethod) })
	}
	b.Run("recovery-ES256", func(b *testing.B) { benchStepUpFlow(b, "ES256", recoveryMethod) })
	b.Run("sms-ES256", func(b *testing.B) { benchStepUpFlow(b, "ES256", smsMethod(&smsInbox{})) })
	b.Run("sms-ES256-webhook", func(b *testing.B) {
		hook := newSMSHook(b)
		benchStepUpFlow(b, "ES256", smsMethod(hook), hook.gateway())
	})
	if fi, err := os.Stat(tmpfs); err == nil && fi.IsDir() {
		b.Run("recovery-ES256-outbox-on-tmpfs", func(b *testing.B) { benchStepUpFlow(b, "ES256", recoveryMethod, outboxOnTmpfs(b)) })
		b.Run("sms-ES256-outbox-on-tmpfs", func(b *testing.B) { benchStepUpFlow(b, "ES256", smsMethod(&smsInbox{}), outboxOnTmpfs(b)) })
	}
}

// tmpfs is where Linux mounts one.
const tmpfs = "/dev/shm"

// outboxOnTmpfs puts the outbox (outbox.dir) in a directory of its own on
// tmpfs, removed when b ends; the database stays where it was.
func outboxOnTmpfs(b *testing.B) testenv.Option {
	dir, err := os.MkdirTemp(tmpfs, "stepup-bench-outbox-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return testenv.WithConfig(func(c *config.Config) { c.Outbox.Dir = dir })
}

func benchStepUpFlow(b *testing.B, alg string, m stepUpMethod, opts ...testenv.Option) {
	defer debug.SetGCPercent(debug.SetGCPercent(provider.GCPercent)) // as stepup serve runs
	env := testenv.New(b, append([]testenv.Option{testenv.WithMethods(m.name), withSigningAlg(alg)}, opts...)...)
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
				users[i] = m.enrol(b, env, br, i)
			}
		}()
	}
	wg.Wait()
	m.ready(b, env)
	// The enrolments' mail ("a method was added") goes, so that the timed
	// flows write to (and the SMS phones read) a directory of their own
	// messages only: on ext4 a new file costs more the more the directory
	// holds, and the recovery flow mails each use of a code.
	env.Server.WaitNotifications()
	clearOutbox(b, env.Outbox)
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
			if f.Values.Get("method") != m.name {
				b.Errorf("flow: challenge of %q, want %s", f.Values.Get("method"), m.name)
				return
			}
			p = u.b.Submit(p, f, m.answer(b, env, u))
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
