package testsmtp

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Hung is an SMTP server that accepts connections and never says a word, not even its greeting:
// the failure that kept a process alive for minutes after SIGTERM. It is a real TCP listener.
type Hung struct {
	URL      string // smtp://127.0.0.1:PORT
	accepted chan struct{}
}

// StartHung runs a hung server until the test ends.
func StartHung(t testing.TB) *Hung {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hung smtp listen: %v", err)
	}
	h := &Hung{URL: "smtp://" + l.Addr().String(), accepted: make(chan struct{}, 100)}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case h.accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return h
}

// WaitAccepted waits until a client has connected (and is now waiting for a greeting that never
// comes), failing the test after timeout.
func (h *Hung) WaitAccepted(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-h.accepted:
	case <-time.After(timeout):
		t.Fatalf("nobody connected to the hung SMTP server within %v", timeout)
	}
}
