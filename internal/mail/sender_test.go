package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// fakeTransport records what it is asked to send and answers with the errors queued in errs, then
// nil. When hook is set, Send runs it first (to hold a send in flight).
type fakeTransport struct {
	mu    sync.Mutex
	calls []Message
	errs  []error
	hook  func(Message)
}

func (f *fakeTransport) Send(_ context.Context, m Message) error {
	if f.hook != nil {
		f.hook(m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, m)
	if len(f.errs) == 0 {
		return nil
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func (f *fakeTransport) sent() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.calls...)
}

// clock is a time source the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sqliteStore returns a fresh migrated store on SQLite.
func sqliteStore(t *testing.T) *store.Store {
	t.Helper()
	for _, e := range testdb.Engines() {
		if e.Name == "sqlite" {
			st, _ := e.Open(t)
			return st
		}
	}
	t.Fatal("testdb offers no sqlite engine")
	return nil
}

func newTestSender(t *testing.T, st *store.Store, tr Transport, clk *clock, o SenderOptions) *Sender {
	t.Helper()
	return NewSender(st, tr, slog.New(slog.NewTextHandler(t.Output(), nil)), clk.Now, o)
}

// enqueue queues one message at the clock's time.
func enqueue(t *testing.T, st *store.Store, clk *clock) store.OutboxMessage {
	t.Helper()
	m, err := st.Enqueue(context.Background(), store.NewMessage{Kind: KindPasswordReset, To: "you@example.com",
		Subject: "Reset your PinBridge password", Text: "open the link", HTML: "<p>open the link</p>"}, clk.Now())
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return m
}

// deliver runs one delivery round at the given time and checks how many messages went out.
func deliver(t *testing.T, s *Sender, clk *clock, at time.Time, want int) {
	t.Helper()
	clk.Set(at)
	if got := s.Deliver(context.Background()); got != want {
		t.Fatalf("Deliver at %s: got %d sent, want %d", at.Format(time.TimeOnly), got, want)
	}
}

// TestBackoff: the retry delay starts at MinBackoff, doubles per failed attempt and stops at
// MaxBackoff.
func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		name     string
		opts     SenderOptions
		attempts int
		want     time.Duration
	}{
		{"first retry", SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}, 0, 5 * time.Second},
		{"doubles", SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}, 1, 10 * time.Second},
		{"doubles again", SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}, 2, 20 * time.Second},
		{"last below the cap", SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}, 6, 320 * time.Second},
		{"capped", SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}, 7, 10 * time.Minute},
		{"stays capped, no overflow", SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute}, 1 << 30, 10 * time.Minute},
		{"defaults, first retry", SenderOptions{}, 0, 5 * time.Second},
		{"defaults, capped", SenderOptions{}, 100, 10 * time.Minute},
		{"minimum above the cap", SenderOptions{MinBackoff: time.Hour, MaxBackoff: time.Minute}, 0, time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewSender(nil, nil, nil, nil, c.opts)
			if got := s.backoff(c.attempts); got != c.want {
				t.Errorf("backoff(%d) with %+v: got %v, want %v", c.attempts, c.opts, got, c.want)
			}
		})
	}
}

// TestBackoffGrowsToTheCap: each failed attempt waits at least as long as the one before, strictly
// longer until the cap, and never longer than the cap.
func TestBackoffGrowsToTheCap(t *testing.T) {
	s := NewSender(nil, nil, nil, nil, SenderOptions{MinBackoff: 3 * time.Second, MaxBackoff: 7 * time.Minute})
	prev := time.Duration(0)
	for attempts := range 64 {
		d := s.backoff(attempts)
		switch {
		case d > 7*time.Minute:
			t.Fatalf("backoff(%d): got %v, want at most the cap %v", attempts, d, 7*time.Minute)
		case d < prev || (d == prev && prev < 7*time.Minute):
			t.Fatalf("backoff(%d): got %v after %v, want longer until the cap", attempts, d, prev)
		}
		prev = d
	}
	if prev != 7*time.Minute {
		t.Errorf("backoff(63): got %v, want the cap %v", prev, 7*time.Minute)
	}
}

// TestDeliverRetriesAfterBackoff: a failed send is retried once its backoff has passed, not before,
// and the backoff grows with each failure; every failure is counted in Failures.
func TestDeliverRetriesAfterBackoff(t *testing.T) {
	st := sqliteStore(t)
	clk := &clock{now: t0}
	tr := &fakeTransport{errs: []error{errors.New("smtp unreachable"), errors.New("smtp send: 451")}}
	s := newTestSender(t, st, tr, clk, SenderOptions{MinBackoff: 5 * time.Second, MaxBackoff: time.Minute})
	m := enqueue(t, st, clk)

	for _, step := range []struct {
		name      string
		at        time.Time
		wantSent  int
		wantCalls int
	}{
		{"first attempt fails", t0, 0, 1},
		{"before the first backoff", t0.Add(5*time.Second - time.Millisecond), 0, 1},
		{"second attempt fails", t0.Add(5 * time.Second), 0, 2},
		{"before the doubled backoff", t0.Add(15*time.Second - time.Millisecond), 0, 2},
		{"third attempt succeeds", t0.Add(15 * time.Second), 1, 3},
	} {
		deliver(t, s, clk, step.at, step.wantSent)
		if got := len(tr.sent()); got != step.wantCalls {
			t.Fatalf("%s: got %d sends, want %d", step.name, got, step.wantCalls)
		}
	}
	if got := s.Failures(); got != 2 {
		t.Errorf("Failures: got %d, want 2", got)
	}
	want := Message{ID: m.ID, To: m.ToAddress, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody}
	for i, got := range tr.sent() {
		if got != want {
			t.Errorf("send %d: got %+v, want %+v", i, got, want)
		}
	}
	if n, err := st.OutboxBacklog(context.Background()); err != nil || n != 0 {
		t.Errorf("OutboxBacklog: got %d, %v; want 0, nil", n, err)
	}
}

// TestDeliverSendsOnce: a delivered message is not sent again, however much later another round
// runs.
func TestDeliverSendsOnce(t *testing.T) {
	st := sqliteStore(t)
	clk := &clock{now: t0}
	tr := &fakeTransport{}
	s := newTestSender(t, st, tr, clk, SenderOptions{})
	enqueue(t, st, clk)

	deliver(t, s, clk, t0, 1)
	deliver(t, s, clk, t0, 0)
	deliver(t, s, clk, t0.Add(s.lease+time.Millisecond), 0)
	deliver(t, s, clk, t0.Add(24*time.Hour), 0)
	if got := len(tr.sent()); got != 1 {
		t.Errorf("got %d sends of one message, want 1", got)
	}
}

// TestDeliverLease: while one sender is sending a message, another sender does not pick it up,
// even late in the lease; once the first has delivered it, nobody sends it again.
func TestDeliverLease(t *testing.T) {
	st := sqliteStore(t)
	clk := &clock{now: t0}
	entered, release := make(chan Message, 1), make(chan struct{})
	slow := &fakeTransport{hook: func(m Message) {
		entered <- m
		<-release
	}}
	other := &fakeTransport{}
	first := newTestSender(t, st, slow, clk, SenderOptions{})
	second := newTestSender(t, st, other, clk, SenderOptions{})
	m := enqueue(t, st, clk)

	var sent int
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		sent = first.Deliver(context.Background())
	}()
	// finish lets the first send complete and waits for its round, also when the test fails early.
	finish := sync.OnceFunc(func() {
		close(release)
		<-returned
	})
	defer finish()
	select {
	case got := <-entered:
		if got.ID != m.ID {
			t.Fatalf("first sender: got message %s in flight, want %s", got.ID, m.ID)
		}
	case <-returned:
		t.Fatalf("first sender: got a round of %d sends that never reached the transport, want a send in flight", sent)
	}

	deliver(t, second, clk, t0, 0)
	deliver(t, second, clk, t0.Add(30*time.Second), 0) // as long as send lets the transport take
	deliver(t, second, clk, t0.Add(first.lease-time.Millisecond), 0)
	finish()
	if sent != 1 {
		t.Fatalf("first sender: got %d sent, want 1", sent)
	}
	deliver(t, second, clk, t0.Add(first.lease+time.Millisecond), 0)
	if got := len(other.sent()); got != 0 {
		t.Errorf("second sender: got %d sends, want 0 (the message was leased, then delivered)", got)
	}
	if got := len(slow.sent()); got != 1 {
		t.Errorf("first sender: got %d sends, want 1", got)
	}
}

// TestDeliverTakesOverAnExpiredLease: a message claimed by a sender that died (its lease never
// released) waits for the lease to expire, then another sender delivers it.
func TestDeliverTakesOverAnExpiredLease(t *testing.T) {
	st := sqliteStore(t)
	clk := &clock{now: t0}
	tr := &fakeTransport{}
	s := newTestSender(t, st, tr, clk, SenderOptions{})
	m := enqueue(t, st, clk)
	if claimed, err := st.ClaimDue(context.Background(), t0, s.lease, 10); err != nil || len(claimed) != 1 {
		t.Fatalf("claim by the sender that dies: got %d messages, %v; want 1, nil", len(claimed), err)
	}

	deliver(t, s, clk, t0.Add(s.lease-time.Millisecond), 0)
	deliver(t, s, clk, t0.Add(s.lease+time.Millisecond), 1)
	if got := tr.sent(); len(got) != 1 || got[0].ID != m.ID {
		t.Errorf("got sends %+v, want message %s once", got, m.ID)
	}
}
