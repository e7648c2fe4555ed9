package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pinbridge/pinbridge-auth/store"
)

// keyUsage batches API keys' last_used_at off the request path: a request only notes the key in
// memory (when its stored value is over a minute old), and a background flush writes the noted keys
// in one UPDATE. Losing a note on a crash costs at most a stale last_used_at, never a security check.
type keyUsage struct {
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

func newKeyUsage(st *store.Store, log *slog.Logger, now func() time.Time, interval time.Duration) *keyUsage {
	u := &keyUsage{store: st, log: log, now: now, interval: interval, pending: map[string]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go u.run()
	return u
}

func (u *keyUsage) note(k store.APIKey, now time.Time) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < usageResolution {
		return
	}
	u.mu.Lock()
	u.pending[k.ID] = struct{}{}
	u.mu.Unlock()
}

func (u *keyUsage) run() {
	defer close(u.done)
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			u.flush(context.Background())
			return
		case <-t.C:
			u.flush(context.Background())
		}
	}
}

// flush writes the noted keys' last_used_at; on failure they are noted again for the next flush.
func (u *keyUsage) flush(ctx context.Context) {
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

// close flushes what is pending and stops the background flush.
func (u *keyUsage) close() {
	u.once.Do(func() { close(u.stop) })
	<-u.done
}
