package provider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/testenv"
)

// BenchmarkRefreshGrant measures the token endpoint with the refresh grant
// (rotation + ES256 ID token + JWT access token) on SQLite, over real HTTP
// on loopback. Each worker keeps its own rotating chain.
func BenchmarkRefreshGrant(b *testing.B) {
	env := testenv.New(b)
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
