package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestWriterKeepsEveryLine: concurrent writers, then Close: every line is out, whole.
func TestWriterKeepsEveryLine(t *testing.T) {
	var out lockedBuffer
	log := New(&out)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				fmt.Fprintf(log, "writer=%d line=%d %s\n", w, i, strings.Repeat("x", 50))
			}
		}()
	}
	wg.Wait()
	log.Close()
	lines := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
	if len(lines) != 8000 {
		t.Fatalf("got %d lines, want 8000", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "writer=") || !strings.HasSuffix(l, strings.Repeat("x", 50)) {
			t.Fatalf("torn line %q", l)
		}
	}
}
