package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// ErrBusy means the pool's queue is full: the caller should answer 503 with Retry-After at once
// rather than wait. Memory stays bounded at workers x Params.Memory.
var ErrBusy = errors.New("password hashing pool is saturated")

// Pool runs password hashing on a fixed number of workers, first come first served.
type Pool struct {
	params  Params
	jobs    chan job
	quit    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	dummy   string
	waiting atomic.Int64
}

type job struct {
	ctx  context.Context
	work func(w *workspace)
	done chan struct{}
}

// NewPool starts workers (0: one per CPU) that take at most queue waiting requests. dummy verification
// (for unknown emails) uses a hash made here with the same parameters.
func NewPool(params Params, workers, queue int) (*Pool, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if queue < 0 {
		queue = 0
	}
	// Made in working memory outside the Go heap, given back at once: 19 MiB on the heap would
	// raise the heap the process keeps from its first second.
	w := &workspace{max: params.Memory}
	dummy, err := hash(w, "pinbridge-dummy-password-for-timing", params)
	w.mem.Free()
	if err != nil {
		return nil, err
	}
	p := &Pool{params: params, jobs: make(chan job, queue), quit: make(chan struct{}), dummy: dummy}
	for range workers {
		p.wg.Add(1)
		go p.worker()
	}
	return p, nil
}

// worker runs jobs in its own argon2 memory, allocated once and outside the Go heap: a hash costs no
// allocation, memory stays at workers x Params.Memory, and the heap goal does not grow with it.
func (p *Pool) worker() {
	defer p.wg.Done()
	w := &workspace{max: p.params.Memory}
	defer w.mem.Free() // the memory lives outside the Go heap (internal/argon2): give it back
	for {
		select {
		case <-p.quit:
			return
		case j := <-p.jobs:
			p.waiting.Add(-1)
			if j.ctx.Err() == nil {
				j.work(w)
			}
			close(j.done)
		}
	}
}

// Close stops the workers after the job in hand.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}

// Waiting is the number of requests queued for a worker.
func (p *Pool) Waiting() int64 { return p.waiting.Load() }

// Full reports whether the queue is full, so that a request is refused (ErrBusy) before any other
// work is done for it; a submit may still find it full a moment later. An unbuffered pool (queue 0)
// is never reported full: only a submit can tell whether a worker takes its job.
func (p *Pool) Full() bool { return cap(p.jobs) > 0 && len(p.jobs) >= cap(p.jobs) }

// Params returns the parameters new hashes use.
func (p *Pool) Params() Params { return p.params }

func (p *Pool) run(ctx context.Context, work func(w *workspace)) error {
	j, err := p.submit(ctx, work)
	if err != nil {
		return err
	}
	return p.wait(ctx, j)
}

// submit queues work without waiting for it; ErrBusy when the queue is full.
func (p *Pool) submit(ctx context.Context, work func(w *workspace)) (job, error) {
	j := job{ctx: ctx, work: work, done: make(chan struct{})}
	p.waiting.Add(1)
	select {
	case p.jobs <- j:
		return j, nil
	default:
		p.waiting.Add(-1)
		return job{}, ErrBusy
	}
}

func (p *Pool) wait(ctx context.Context, j job) error {
	select {
	case <-j.done:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	case <-p.quit:
		return ErrBusy
	}
}

// Hash hashes password on the pool. ErrBusy when the queue is full; the context's error when it
// ends first.
func (p *Pool) Hash(ctx context.Context, password string) (string, error) {
	var (
		out string
		err error
	)
	if runErr := p.run(ctx, func(w *workspace) { out, err = hash(w, password, p.params) }); runErr != nil {
		return "", runErr
	}
	return out, err
}

// Verify checks password against encoded on the pool; needsRehash is true when encoded was made with
// other parameters than the pool's. ErrBusy, a context error, or ErrMalformed otherwise.
func (p *Pool) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	// The work writes variables of its own, never the results: when ctx ends first, Verify returns
	// while a worker may still be running it.
	var (
		matched   bool
		params    Params
		verifyErr error
	)
	if runErr := p.run(ctx, func(w *workspace) { matched, params, verifyErr = verify(w, password, encoded) }); runErr != nil {
		return false, false, runErr
	}
	if verifyErr != nil {
		return false, false, verifyErr
	}
	return matched, params != p.params, nil
}

// VerifyDummy spends the same work as Verify on a hash that matches nothing, so that an unknown
// account costs what a known one does.
func (p *Pool) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := p.Verify(ctx, password, p.dummy)
	return err
}
