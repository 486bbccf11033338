package gateway

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// BenchmarkOutboxSend measures the outbox gateway's Send, a file created
// and renamed, in the system's temporary directory and on tmpfs, with the
// CPU each costs (system calls included): what the SMS flow benchmark
// spends on the disk rather than in stepup.
func BenchmarkOutboxSend(b *testing.B) {
	b.Run("tempdir", func(b *testing.B) { benchOutboxSend(b, b.TempDir()) })
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		b.Run("tmpfs", func(b *testing.B) {
			dir, err := os.MkdirTemp("/dev/shm", "stepup-bench-sms-")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { os.RemoveAll(dir) })
			benchOutboxSend(b, dir)
		})
	}
}

func benchOutboxSend(b *testing.B, dir string) {
	o := newOutbox(dir)
	m := Message{To: "+447700900123", Body: "Your stepup code is 123456. Do not share it.\n\n@id.example.com #123456",
		SentAt: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := o.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
