package host_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// BenchmarkVerify: host -> plugin Verify with one storage read back to the
// host through the broker, one caller. Reports p50 and p99 (targets: 250µs,
// 1ms).
func BenchmarkVerify(b *testing.B) {
	e := newEnv()
	p := launch(b, e.spec(b, "probe", "probe"))
	ctx := context.Background()
	if _, err := e.local(b, "probe").Storage().Put(ctx, "secret", []byte("word"), sdk.AnyVersion, 0); err != nil {
		b.Fatal(err)
	}
	req := sdk.VerifyRequest{UserID: "u", ChallengeID: "c", Response: map[string]string{"mode": "ok", "code": "word"}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		_, err := p.Verify(ctx, req)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPercentiles(b, lat)
}

// BenchmarkVerifyRecord: host -> plugin Verify that reads the user's
// record, which the host sends with the call (sdk.Description.UserRecords)
// instead of answering a callback, as TOTP and the temporary code do.
func BenchmarkVerifyRecord(b *testing.B) {
	e := newEnv()
	p := launch(b, e.spec(b, "probe", "probe"))
	ctx := context.Background()
	if _, err := e.local(b, "probe").Storage().Put(ctx, "rec/u", []byte("word"), sdk.AnyVersion, 0); err != nil {
		b.Fatal(err)
	}
	req := sdk.VerifyRequest{UserID: "u", ChallengeID: "c", Response: map[string]string{"mode": "record", "code": "word"}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		_, err := p.Verify(ctx, req)
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPercentiles(b, lat)
}

// BenchmarkDescribe: one round trip host -> plugin, no callback.
func BenchmarkDescribe(b *testing.B) {
	e := newEnv()
	p := launch(b, e.spec(b, "probe", "probe"))
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := p.Describe(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
