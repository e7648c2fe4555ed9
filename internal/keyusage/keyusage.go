// Package keyusage records when API keys were last used, off the request path.
package keyusage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pinbridge/pinbridge-auth/store"
)

// Recorder batches API keys' last_used_at off the request path: a request only notes the key in
// memory (when its stored value is over a minute old), and a background flush writes the noted keys
// in one UPDATE. Losing a note on a crash costs at most a stale last_used_at, never a security check.
type Recorder struct {
	store    *store.Store
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration

	mu      sync.Mutex
	pending map[string]struct{}

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// usageResolution is how stale last_used_at may be before a request notes the key again.
const usageResolution = time.Minute

// New builds a Recorder that flushes every interval once started.
func New(st *store.Store, log *slog.Logger, now func() time.Time, interval time.Duration) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: st, log: log, now: store.Clock(now), interval: interval, pending: map[string]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the periodic flush until Close.
func (u *Recorder) Start() { go u.run() }

// Note records that k was used at now; it is written on the next flush unless the stored
// last_used_at is recent enough already.
func (u *Recorder) Note(k store.APIKey, now time.Time) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < usageResolution {
		return
	}
	u.mu.Lock()
	u.pending[k.ID] = struct{}{}
	u.mu.Unlock()
}

func (u *Recorder) run() {
	defer close(u.done)
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			u.Flush(context.Background())
			return
		case <-t.C:
			u.Flush(context.Background())
		}
	}
}

// Flush writes the noted keys' last_used_at now; on failure they are noted again for the next flush.
func (u *Recorder) Flush(ctx context.Context) {
	u.mu.Lock()
	if len(u.pending) == 0 {
		u.mu.Unlock()
		return
	}
	ids := make([]string, 0, len(u.pending))
	for id := range u.pending {
		ids = append(ids, id)
	}
	u.pending = map[string]struct{}{}
	u.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := u.store.TouchAPIKeys(ctx, ids, u.now()); err != nil {
		u.log.Warn("record api key usage", slog.Int("keys", len(ids)), slog.String("error", err.Error()))
		u.mu.Lock()
		for _, id := range ids {
			u.pending[id] = struct{}{}
		}
		u.mu.Unlock()
	}
}

// Close stops the periodic flush after writing what is pending. It must follow Start.
func (u *Recorder) Close() {
	u.once.Do(func() { close(u.stop) })
	<-u.done
}
