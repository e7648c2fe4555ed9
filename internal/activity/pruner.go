// Package activity keeps the activity log within its retention: a Pruner deletes the entries past
// their expires_at, off the request path, in bounded batches, safely with several instances (on
// PostgreSQL each batch skips the rows another instance has locked).
package activity

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pinbridge/pinbridge-auth/store"
)

// Options tune a Pruner; zero values take the defaults.
type Options struct {
	Interval time.Duration // between sweeps; default 10 minutes
	Batch    int           // entries deleted per statement; default 1,000
	Pause    time.Duration // between two batches of a sweep, so pruning never hogs the database; default 100 ms
}

// Pruner deletes expired activity-log entries: one sweep when started, then one every Interval. A
// sweep deletes Batch entries per statement, pausing between statements, until none is left.
type Pruner struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	opts  Options

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New builds a Pruner over st; now nil is time.Now, log nil discards.
func New(st *store.Store, log *slog.Logger, now func() time.Time, opts Options) *Pruner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Pause <= 0 {
		opts.Pause = 100 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pruner{store: st, log: log, now: store.Clock(now), opts: opts, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// Start runs the sweeps until Close.
func (p *Pruner) Start() { go p.run() }

func (p *Pruner) run() {
	defer close(p.done)
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		if n, err := p.Prune(p.ctx); err != nil && p.ctx.Err() == nil {
			p.log.Warn("prune activity log", slog.Int64("deleted", n), slog.String("error", err.Error()))
		} else if n > 0 {
			p.log.Info("pruned activity log", slog.Int64("deleted", n))
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes every entry expired now, a batch at a time, and returns how many it deleted. It
// stops early, with ctx's error, when ctx ends or the Pruner is closed.
func (p *Pruner) Prune(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := p.batch(ctx)
		total += n
		if err != nil || n < int64(p.opts.Batch) {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-p.ctx.Done():
			return total, p.ctx.Err()
		case <-time.After(p.opts.Pause):
		}
	}
}

// batch deletes one batch, cancelled when the Pruner closes.
func (p *Pruner) batch(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	return p.store.PruneActivityLogs(ctx, p.now(), p.opts.Batch)
}

// Close stops the sweeps, cancelling a batch in flight (its rows stay for the next sweep, here or
// on another instance), and waits for the sweeper to return. It must follow Start.
func (p *Pruner) Close() {
	p.once.Do(p.cancel)
	<-p.done
}
