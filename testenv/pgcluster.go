package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PGCluster is a PostgreSQL server of the test's own: a cluster made with
// initdb in a temporary directory, on a free loopback port, that the test
// may stop, start and kill under load without touching the machine's
// server (PostgresDSN), which other tests share. It is stopped and removed
// when the test ends.
//
// PostgreSQL refuses to run as root; as root, the cluster belongs to the
// user postgres and its commands run through runuser.
type PGCluster struct {
	// DSN names the cluster's database "postgres" as its superuser, in
	// the URL form storage.dsn takes.
	DSN string

	t     testing.TB
	dir   string // the data directory, and the socket's
	port  int
	bin   string // the directory of initdb and pg_ctl
	owner string // the user to run them as, when root; "" runs them as is
}

// NewPGCluster makes a cluster and starts it. It fails the test when
// initdb or pg_ctl cannot be found or do not work; it never skips.
func NewPGCluster(t testing.TB) *PGCluster {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		t.Fatal(err)
	}
	c := &PGCluster{t: t, bin: bin}
	if os.Geteuid() == 0 {
		c.owner = "postgres"
	}
	// Not t.TempDir: its parents are root's alone, and the server runs as
	// postgres.
	if c.dir, err = os.MkdirTemp("", "stepup-pgcluster-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	if c.owner != "" {
		u, err := user.Lookup(c.owner)
		if err != nil {
			t.Fatalf("a PostgreSQL cluster as root needs the user %s: %v", c.owner, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatal(err)
	}
	if c.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	t.Cleanup(func() { c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop") })
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Start starts the server and returns once it accepts connections. After
// a Kill it waits for the killed server's processes to go first.
func (c *PGCluster) Start() error {
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; {
		// fsync=off: a killed server loses nothing the OS has (a test
		// kills processes, not the machine), and the test runs faster.
		err = c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "20",
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", c.port, c.dir), "start")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // a killed server's backends still leaving
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("%w\nserver log:\n%s", err, tail(log, 2000))
	}
	return nil
}

// Stop shuts the server down as an operator's restart does (pg_ctl stop
// -m fast: sessions are terminated, SQLSTATE 57P01) and returns once it
// is down.
func (c *PGCluster) Stop() error {
	return c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "20", "stop")
}

// Kill kills the postmaster with SIGKILL, as a crash would, and returns
// once it is gone; its backends leave on their own soon after (Start
// waits for them).
func (c *PGCluster) Kill() error {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("the cluster is not running: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill postmaster %d: %w", pid, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return nil
		}
	}
	return fmt.Errorf("postmaster %d still runs after SIGKILL", pid)
}

func (c *PGCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of PostgreSQL's commands, as the cluster's owner.
func (c *PGCluster) run(name string, args ...string) error {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.owner != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.owner, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out.Bytes(), 2000))
	}
	return nil
}

// pgBinDir finds initdb and pg_ctl: on PATH, else where pg_config says.
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	out, err := exec.Command("pg_config", "--bindir").Output()
	if err != nil {
		return "", fmt.Errorf("a PostgreSQL cluster of the test's own needs initdb and pg_ctl, on PATH or in pg_config --bindir: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err != nil {
		return "", fmt.Errorf("no pg_ctl in %s (pg_config --bindir): %v", dir, err)
	}
	return dir, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
