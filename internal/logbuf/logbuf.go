// Package logbuf batches log output into few writes (the service's stderr under load), made off the
// request path.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Writer batches log lines into few writes: under load, one write(2) per access-log line cost
// a quarter of the server's throughput (measured with make bench). Lines reach the file within
// flushEvery, sooner when flushAt bytes are waiting, and on Close. A crash can lose what waits.
//
// Lines are only ever copied into memory by Write; one goroutine writes them out, outside the lock
// Write takes. A sink that stops taking lines for a while (a log collector behind on its pipe, a
// disk whose writeback throttles writers) therefore holds up no request until maxPending bytes wait
// behind the batch being written; then Write waits for the sink, so memory stays bounded (about
// twice maxPending) and no line is dropped. After Close, Write writes each line itself.
type Writer struct {
	out   io.Writer
	outMu sync.Mutex // held while writing to out: one write at a time

	mu      sync.Mutex
	space   *sync.Cond // broadcast when the waiting lines are taken to be written
	pending []byte     // lines waiting to be written
	spare   []byte     // the buffer last written, reused for the next lines
	closed  bool

	kick chan struct{} // flushAt bytes wait
	stop chan struct{}
	done chan struct{}
}

const (
	flushEvery = 100 * time.Millisecond
	flushAt    = 64 << 10
	maxPending = 2 << 20
	// maxSpare bounds the buffer kept for the next lines: one grown while the sink was stuck is
	// given back rather than held for good.
	maxSpare = 256 << 10
)

// New starts a Writer over w; Close it to write out the rest. w need not be safe for concurrent
// use: only one write to it happens at a time.
func New(w io.Writer) *Writer {
	b := &Writer{out: w, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	b.space = sync.NewCond(&b.mu)
	go b.run()
	return b
}

func (b *Writer) run() {
	defer close(b.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-b.kick:
		case <-b.stop:
			b.flush()
			return
		}
		b.flush()
	}
}

// Write copies p whole (lines are never torn) to be written out. It waits only while maxPending
// bytes wait for the sink; it never fails before Close (the sink's errors have nowhere to go but
// the log itself).
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.pending) > 0 && len(b.pending)+len(p) > maxPending && !b.closed {
		b.space.Wait()
	}
	if b.closed {
		// Nothing writes out what waits any more: this line, after what waits before it.
		b.mu.Unlock()
		b.outMu.Lock()
		defer b.outMu.Unlock()
		b.flushLocked()
		return b.out.Write(p)
	}
	b.pending = append(b.pending, p...)
	full := len(b.pending) >= flushAt
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// flush writes out the waiting lines.
func (b *Writer) flush() {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	b.flushLocked()
}

// flushLocked is flush with outMu held.
func (b *Writer) flushLocked() {
	b.mu.Lock()
	lines := b.pending
	if len(lines) == 0 {
		b.mu.Unlock()
		return
	}
	b.pending, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	b.space.Broadcast()
	_, _ = b.out.Write(lines)
	if cap(lines) <= maxSpare {
		b.mu.Lock()
		b.spare = lines[:0]
		b.mu.Unlock()
	}
}

// Close writes out what waits and stops the writing goroutine.
func (b *Writer) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.space.Broadcast()
	close(b.stop)
	<-b.done
}
