// Package periodic runs a job now and then in the background until stopped: the service's
// housekeeping (API-key expiry reminders), owned and stopped by main.
package periodic

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Task is a job running every interval.
type Task struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Start runs fn every interval (the first time after one interval), each run with its own deadline
// of one interval, until Stop. A failed run is logged and the next one tries again.
func Start(name string, interval time.Duration, log *slog.Logger, fn func(ctx context.Context) error) *Task {
	t := &Task{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			if err := fn(ctx); err != nil {
				log.Warn("periodic job failed", slog.String("job", name), slog.String("error", err.Error()))
			}
			cancel()
		}
	}()
	return t
}

// Stop ends the task after the run in progress, if any. Stopping twice is harmless.
func (t *Task) Stop() {
	t.once.Do(func() { close(t.stop) })
	<-t.done
}
