package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
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

// gatedSink takes nothing until its gate opens, as a log collector behind on its pipe would.
type gatedSink struct {
	gate chan struct{}
	out  lockedBuffer
}

func (g *gatedSink) Write(p []byte) (int, error) {
	<-g.gate
	return g.out.Write(p)
}

// TestWritesDoNotWaitForAStuckSink: while the sink takes nothing, lines are kept in memory and
// Write returns at once, up to maxPending bytes waiting; past that, Write waits for the sink (memory
// stays bounded, no line is dropped); once the sink takes lines again, every line is out in order.
func TestWritesDoNotWaitForAStuckSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &gatedSink{gate: make(chan struct{})}
		w := New(sink)
		first := strings.Repeat("x", flushAt-1) + "\n"
		fmt.Fprint(w, first) // flushAt bytes: the writer takes them to the sink, which holds it
		synctest.Wait()

		line := func(i int) string { return fmt.Sprintf("line %07d %s\n", i, strings.Repeat("y", 1000)) }
		fits := maxPending / len(line(0))
		wrote := make(chan struct{})
		go func() {
			for i := range fits {
				fmt.Fprint(w, line(i))
			}
			close(wrote)
		}()
		synctest.Wait()
		select {
		case <-wrote:
		default:
			t.Fatalf("Write waited for the stuck sink with less than %d bytes waiting", maxPending)
		}

		past := make(chan struct{})
		go func() {
			fmt.Fprint(w, line(fits))
			close(past)
		}()
		synctest.Wait()
		select {
		case <-past:
			t.Fatalf("Write went on with more than %d bytes waiting for a stuck sink", maxPending)
		default:
		}
		w.mu.Lock()
		waiting := len(w.pending)
		w.mu.Unlock()
		if waiting > maxPending {
			t.Errorf("%d bytes waiting, want at most %d", waiting, maxPending)
		}

		close(sink.gate)
		<-past
		w.Close()
		want := first
		for i := range fits + 1 {
			want += line(i)
		}
		if got := sink.out.b.String(); got != want {
			t.Errorf("the sink got %d bytes, want %d: every line, in order", len(got), len(want))
		}
	})
}

// TestWritesAfterCloseStillReachTheSink: a line logged after Close (a worker that outlived the
// shutdown's deadline) is written at once, after the lines before it.
func TestWritesAfterCloseStillReachTheSink(t *testing.T) {
	var out lockedBuffer
	w := New(&out)
	fmt.Fprint(w, "before\n")
	w.Close()
	fmt.Fprint(w, "after\n")
	if got := out.b.String(); got != "before\nafter\n" {
		t.Errorf("the sink got %q, want both lines in order", got)
	}
}
