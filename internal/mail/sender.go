package mail

import (
	"context"
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
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

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
	return &Sender{store: st, transport: t, log: log, now: now, poll: o.Poll, minBackoff: o.MinBackoff,
		maxBackoff: o.MaxBackoff, lease: 2 * time.Minute,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
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

// Stop ends the loop after the round in hand. Undelivered mail stays queued for the next start.
func (s *Sender) Stop() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func (s *Sender) loop() {
	defer close(s.done)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		s.Deliver(context.Background())
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Deliver sends every message due now, in batches, and returns how many went out.
func (s *Sender) Deliver(ctx context.Context) int {
	sent := 0
	for {
		msgs, err := s.store.ClaimDue(ctx, s.now(), s.lease, 20)
		if err != nil {
			s.log.Warn("claim outbox", slog.String("error", err.Error()))
			return sent
		}
		if len(msgs) == 0 {
			return sent
		}
		for _, m := range msgs {
			if s.send(ctx, m) {
				sent++
			}
		}
	}
}

func (s *Sender) send(ctx context.Context, m store.OutboxMessage) bool {
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := s.transport.Send(sendCtx, Message{ID: m.ID, To: m.ToAddress, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody})
	if err == nil {
		if err := s.store.MarkSent(ctx, m.ID, s.now()); err != nil {
			// Delivered but not recorded: the lease expires and it may be sent again. Rare, logged.
			s.log.Error("record sent mail", slog.String("outbox_id", m.ID), slog.String("error", err.Error()))
		}
		return true
	}
	s.failures.Add(1)
	next := s.now().Add(s.backoff(m.Attempts))
	s.log.Warn("mail delivery failed; will retry", slog.String("outbox_id", m.ID), slog.String("kind", m.Kind),
		slog.Int("attempt", m.Attempts+1), slog.Time("next_attempt_at", next), slog.String("error", err.Error()))
	if err := s.store.MarkFailed(ctx, m.ID, next, err.Error()); err != nil {
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
