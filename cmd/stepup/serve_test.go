package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveWith runs h as stepup serve does (newHTTPServer), held to lim, on a
// loopback port, and returns its address.
func serveWith(t *testing.T, h http.Handler, lim httpLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := newHTTPServer(h, lim)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestServeLimitsAreSet: stepup serve's server bounds every phase of a
// connection, the read of a request's body and an idle keep-alive
// included, and the size of a request's header.
func TestServeLimitsAreSet(t *testing.T) {
	hs := newHTTPServer(http.NotFoundHandler(), serveLimits)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout < hs.ReadHeaderTimeout || hs.WriteTimeout <= 0 ||
		hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 || hs.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Fatalf("server limits: header %v, read %v, write %v, idle %v, header bytes %d",
			hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
}

// TestSlowBodyIsCutOff: a client that sends its body a byte at a time
// (a slow-loris POST) cannot hold its connection past the read limit: the
// server closes the connection before the body is complete, and the
// handler never gets it.
func TestSlowBodyIsCutOff(t *testing.T) {
	var complete atomic.Bool
	lim := serveLimits
	lim.Read = 300 * time.Millisecond
	addr := serveWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() == nil {
			complete.Store(true)
		}
	}), lim)
	conn := dial(t, addr)
	const bodyLen = 60
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: stepup\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", bodyLen)
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn) // until the server closes the connection
		close(closed)
	}()
	pace := time.NewTicker(100 * time.Millisecond) // the client's, not a deadline
	defer pace.Stop()
	sent := 0
send:
	for sent < bodyLen {
		select {
		case <-closed:
			break send
		case <-pace.C:
			if _, err := conn.Write([]byte("a")); err != nil {
				break send
			}
			sent++
		}
	}
	if sent == bodyLen {
		t.Fatalf("all %d bytes of a body sent a byte at a time went through: the connection was not cut off", bodyLen)
	}
	<-closed
	if complete.Load() {
		t.Fatal("the handler got the slow body whole")
	}
}

// TestIdleConnectionIsClosed: a keep-alive connection that sends nothing
// after its request is closed by the server once the idle limit passes,
// so that idle connections cannot pile up.
func TestIdleConnectionIsClosed(t *testing.T) {
	lim := serveLimits
	lim.Idle = 200 * time.Millisecond
	addr := serveWith(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), lim)
	conn := dial(t, addr)
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: stepup\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first answer %d (close %v), want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
	}
	// Only so that a server which never closes fails the test rather than
	// hanging it: fifty times the idle limit.
	conn.SetReadDeadline(time.Now().Add(50 * lim.Idle))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("reading the idle connection: %v, want EOF: the server kept it open", err)
	}
}

// TestOversizedHeaderRefused: a request header past the limit is refused
// with 431 instead of being buffered.
func TestOversizedHeaderRefused(t *testing.T) {
	lim := serveLimits
	lim.HeaderSize = 1 << 10
	addr := serveWith(t, http.NotFoundHandler(), lim)
	conn := dial(t, addr)
	// net/http allows 4 KiB beyond MaxHeaderBytes; send well past both.
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: stepup\r\nCookie: %s\r\n\r\n", strings.Repeat("a", 16<<10))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 16 KiB header got %d, want 431", resp.StatusCode)
	}
}
