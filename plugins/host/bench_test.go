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
func BenchmarkVerify(b *testing.B) { benchVerify(b, "secret", "ok") }

// BenchmarkVerifyRecord: host -> plugin Verify that reads the user's
// record, which the host sends with the call (sdk.Description.UserRecords)
// instead of answering a callback, as TOTP and the temporary code do.
func BenchmarkVerifyRecord(b *testing.B) { benchVerify(b, "rec/u", "record") }

// BenchmarkVerifyPutOnAccept: host -> plugin Verify that reads the user's
// record sent with the call and leaves its write to the host
// (sdk.PutOnAccept), which makes it as it accepts, as TOTP does: the
// storage write included, without a callback.
func BenchmarkVerifyPutOnAccept(b *testing.B) { benchVerify(b, "rec/u", "on-accept") }

// benchVerify stores the word under key and times the probe's Verify in
// mode, which reads it back.
func benchVerify(b *testing.B, key, mode string) {
	e := newEnv()
	p := launch(b, e.spec(b, "probe", "probe"))
	ctx := context.Background()
	if _, err := e.local(b, "probe").Storage().Put(ctx, key, []byte("word"), sdk.AnyVersion, 0); err != nil {
		b.Fatal(err)
	}
	req := sdk.VerifyRequest{UserID: "u", ChallengeID: "c", Response: map[string]string{"mode": mode, "code": "word"}}
	timeCalls(b, func() error { _, err := p.Verify(ctx, req); return err })
}

// BenchmarkDescribe: one round trip host -> plugin, no callback.
func BenchmarkDescribe(b *testing.B) {
	e := newEnv()
	p := launch(b, e.spec(b, "probe", "probe"))
	ctx := context.Background()
	timeCalls(b, func() error { _, err := p.Describe(ctx); return err })
}

// timeCalls runs call b.N times and reports the p50 and p99 latency.
func timeCalls(b *testing.B, call func() error) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		err := call()
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
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
