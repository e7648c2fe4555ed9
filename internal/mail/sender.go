package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pinbridge/pinbridge-auth/store"
)

// Sender delivers the outbox in the background.
type Sender struct {
	store      *store.Store
	transport  Transport
	log        *slog.Logger
	now        func() time.Time
	poll       time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	lease      time.Duration
	failures   atomic.Uint64

	wake chan struct{}
	stop chan struct{} // closed by Shutdown: no further message is begun
	done chan struct{} // closed when the loop has ended
	once sync.Once
	// run is the loop's context; abandon cancels it, cutting short the attempt in flight.
	run     context.Context
	abandon context.CancelCauseFunc
}

// Bounds of one message's delivery.
const (
	// attemptTimeout bounds one SMTP attempt as a whole (each step has its own deadline besides);
	// the lease on a claimed message (2 minutes) outlasts it, so no other instance takes a message
	// while an attempt at it may still succeed.
	attemptTimeout = 30 * time.Second
	// recordTimeout bounds writing an attempt's outcome, which is written even when the attempt
	// was abandoned: otherwise the message would wait for its lease to expire.
	recordTimeout = 10 * time.Second
)

// errShuttingDown is why an attempt in flight is abandoned at shutdown.
var errShuttingDown = errors.New("mail sender shutting down")

// SenderOptions tune the Sender; zero values take the defaults.
type SenderOptions struct {
	Poll       time.Duration // how often to look for due mail without a wake-up (default 2s)
	MinBackoff time.Duration // first retry delay (default 5s)
	MaxBackoff time.Duration // largest retry delay (default 10m)
}

// NewSender builds a sender; call Start to run it.
func NewSender(st *store.Store, t Transport, log *slog.Logger, now func() time.Time, o SenderOptions) *Sender {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	run, abandon := context.WithCancelCause(context.Background())
	return &Sender{store: st, transport: t, log: log, now: now, poll: o.Poll, minBackoff: o.MinBackoff,
		maxBackoff: o.MaxBackoff, lease: 2 * time.Minute,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		run: run, abandon: abandon}
}

// Failures counts the failed delivery attempts so far (each is retried); metrics read it.
func (s *Sender) Failures() uint64 { return s.failures.Load() }

// Start runs the delivery loop until Stop.
func (s *Sender) Start() { go s.loop() }

// Wake asks for a delivery round now (after a commit that queued mail).
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stop ends the loop once the message in hand is done (its SMTP deadlines bound the wait).
// Undelivered mail stays queued for the next start.
func (s *Sender) Stop() { _ = s.Shutdown(context.Background()) }

// Shutdown stops the sender within ctx's deadline. No further message is begun, and messages claimed
// but not begun are given back at once. The attempt in flight may finish until shortly before the
// deadline (a tenth of the time left, at most a second, is kept to record it); then it is abandoned:
// its connection is closed and the message is recorded as failed, queued for a retry after the
// usual backoff, by the next process or another instance. It returns an error when the sender had
// still not stopped at the deadline; undelivered mail stays queued either way.
func (s *Sender) Shutdown(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	giveUp := ctx
	if deadline, ok := ctx.Deadline(); ok {
		reserve := min(time.Second, time.Until(deadline)/10)
		var cancel context.CancelFunc
		giveUp, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	select {
	case <-s.done:
		return nil
	case <-giveUp.Done():
	}
	s.abandon(errShuttingDown)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail sender still recording its last attempt: %w", ctx.Err())
	}
}

func (s *Sender) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func (s *Sender) loop() {
	defer close(s.done)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		s.Deliver(s.run)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Deliver sends every message due now, in batches, and returns how many went out. It stops between
// messages when the sender is shutting down or ctx ends, giving back the messages it claimed but did
// not begin.
func (s *Sender) Deliver(ctx context.Context) int {
	sent := 0
	for !s.stopping() && ctx.Err() == nil {
		msgs, err := s.store.ClaimDue(ctx, s.now(), s.lease, 20)
		if err != nil {
			s.log.Warn("claim outbox", slog.String("error", err.Error()))
			return sent
		}
		if len(msgs) == 0 {
			return sent
		}
		for i, m := range msgs {
			if s.stopping() || ctx.Err() != nil {
				s.release(ctx, msgs[i:])
				return sent
			}
			if s.send(ctx, m) {
				sent++
			}
		}
	}
	return sent
}

// release gives back claimed messages that were not begun, so that they need not wait for the lease.
func (s *Sender) release(ctx context.Context, msgs []store.OutboxMessage) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := s.store.ReleaseClaims(rec, ids); err != nil {
		// They stay leased: another instance (or the next start) takes them when the lease expires.
		s.log.Warn("give back claimed mail", slog.Int("messages", len(ids)), slog.String("error", err.Error()))
	}
}

func (s *Sender) send(ctx context.Context, m store.OutboxMessage) bool {
	sendCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
	err := s.transport.Send(sendCtx, Message{ID: m.ID, To: m.ToAddress, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody})
	cancel()
	// The outcome is recorded even when ctx ended (the attempt was abandoned).
	rec, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancelRec()
	if err == nil {
		if err := s.store.MarkSent(rec, m.ID, s.now()); err != nil {
			// Delivered but not recorded: the lease expires and it may be sent again. Rare, logged.
			s.log.Error("record sent mail", slog.String("outbox_id", m.ID), slog.String("error", err.Error()))
		}
		return true
	}
	s.failures.Add(1)
	next := s.now().Add(s.backoff(m.Attempts))
	msg := "mail delivery failed; will retry"
	if ctx.Err() != nil {
		msg = "mail delivery abandoned at shutdown; will retry"
	}
	s.log.Warn(msg, slog.String("outbox_id", m.ID), slog.String("kind", m.Kind),
		slog.Int("attempt", m.Attempts+1), slog.Time("next_attempt_at", next), slog.String("error", err.Error()))
	if err := s.store.MarkFailed(rec, m.ID, next, err.Error()); err != nil {
		// It stays leased and is retried when the lease expires.
		s.log.Error("record failed mail", slog.String("outbox_id", m.ID), slog.String("error", err.Error()))
	}
	return false
}

// backoff doubles from MinBackoff per failed attempt, up to MaxBackoff.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.minBackoff
	for i := 0; i < attempts && d < s.maxBackoff; i++ {
		d *= 2
	}
	if d > s.maxBackoff {
		d = s.maxBackoff
	}
	return d
}
