package smtptest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Blackhole is a mail server that hangs: it accepts connections and never
// says a word, so a client waits until its own timeout. Close takes it
// down for good, as an outage would.
type Blackhole struct {
	// URL is smtp://127.0.0.1:port.
	URL string

	ln       net.Listener
	accepted chan struct{}

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// StartBlackhole listens on 127.0.0.1 until Close or the end of the test.
func StartBlackhole(t testing.TB) *Blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	b := &Blackhole{URL: "smtp://" + ln.Addr().String(), ln: ln, accepted: make(chan struct{}, 64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			if b.closed {
				c.Close()
			} else {
				b.conns = append(b.conns, c)
			}
			b.mu.Unlock()
			b.accepted <- struct{}{}
		}
	}()
	t.Cleanup(b.Close)
	return b
}

// WaitAccepted waits up to timeout for a client to connect.
func (b *Blackhole) WaitAccepted(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-b.accepted:
	case <-time.After(timeout):
		t.Fatalf("smtptest: no connection within %s", timeout)
	}
}

// Close stops listening and drops every connection it holds.
func (b *Blackhole) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.ln.Close()
	for _, c := range b.conns {
		c.Close()
	}
}
