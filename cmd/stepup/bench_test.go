package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepup-mfa/stepup/testenv"
)

// BenchmarkServeReady measures how long `stepup serve` (with its built-in
// method plugins) takes from exec to /readyz 200 on an existing database,
// and reports the resident memory of the server and of each plugin once
// idle.
func BenchmarkServeReady(b *testing.B) {
	dir := b.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "stepup.yaml")
	os.WriteFile(cfg, []byte("listen: "+addr+"\nissuer: http://"+addr+"\n"), 0o600)
	start := func() (*exec.Cmd, time.Duration) {
		cmd := exec.CommandContext(context.Background(), stepupBin, "serve", "--config", cfg)
		cmd.Dir = dir
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd, time.Since(t0)
				}
			}
			if time.Since(t0) > 20*time.Second {
				b.Fatal("not ready")
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	stop := func(cmd *exec.Cmd) { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	cmd, _ := start() // first start creates the database and keys
	stop(cmd)
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		cmd, d := start()
		total += d
		b.StopTimer()
		stop(cmd)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.StopTimer()
	cmd, _ = start()
	defer stop(cmd)
	time.Sleep(time.Second)
	b.ReportMetric(rssMiB(cmd.Process.Pid), "serve-MiB")
	kids, err := testenv.Children(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	var worst float64
	for _, pid := range kids {
		n, _ := strconv.Atoi(pid)
		worst = max(worst, rssMiB(n))
	}
	b.ReportMetric(worst, "plugin-max-MiB")
}

func rssMiB(pid int) float64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
