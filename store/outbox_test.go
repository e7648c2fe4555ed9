package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// enqueue queues n messages due at now and returns their ids.
func enqueue(t *testing.T, st *store.Store, n int, now time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		m, err := st.Enqueue(context.Background(), store.NewMessage{Kind: "test", To: fmt.Sprintf("to%d@example.com", i),
			Subject: "subject", Text: "text", HTML: "<p>html</p>"}, now)
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		ids[i] = m.ID
	}
	return ids
}

func messageIDs(msgs []store.OutboxMessage) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

// claimed checks that every id of want was claimed exactly once across the claims, and nothing else.
func claimed(t *testing.T, claims map[string][]string, want []string) {
	t.Helper()
	by := map[string][]string{}
	for who, ids := range claims {
		for _, id := range ids {
			by[id] = append(by[id], who)
		}
	}
	for _, id := range want {
		if got := by[id]; len(got) != 1 {
			t.Errorf("message %s: got claimed by %v, want exactly one claim", id, got)
		}
		delete(by, id)
	}
	for id, who := range by {
		t.Errorf("message %s: got claimed by %v, want it not among the messages claimed", id, who)
	}
}

// TestClaimDueConcurrentWorkers: two workers claiming the same due messages at once, in small
// batches until nothing is left, each claim every message exactly once between them.
func TestClaimDueConcurrentWorkers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		want := enqueue(t, st, 40, now)
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			claims = map[string][]string{"a": nil, "b": nil}
			errs   = map[string]error{}
			mu     sync.Mutex
		)
		for who := range claims {
			wg.Go(func() {
				<-start
				var mine []string
				var err error
				// Each round claims at least one message, so more rounds than messages mean a lease
				// that did not hold; stop there rather than loop for ever.
				for range len(want) + 1 {
					var msgs []store.OutboxMessage
					if msgs, err = st.ClaimDue(ctx, now, time.Minute, 3); err != nil || len(msgs) == 0 {
						break
					}
					mine = append(mine, messageIDs(msgs)...)
				}
				mu.Lock()
				defer mu.Unlock()
				claims[who], errs[who] = mine, err
			})
		}
		close(start)
		wg.Wait()
		for who, err := range errs {
			if err != nil {
				t.Errorf("worker %s: ClaimDue: got %v, want nil", who, err)
			}
		}
		claimed(t, claims, want)
		t.Logf("worker a claimed %d, worker b %d", len(claims["a"]), len(claims["b"]))
	})
}

// TestClaimDueSkipsAnOpenClaim: while one claim's transaction is still open, a second claim takes
// only the other messages. On PostgreSQL it must not even wait for the first (FOR UPDATE SKIP
// LOCKED passes over its rows); SQLite has one writer, so there the second claim runs after it.
func TestClaimDueSkipsAnOpenClaim(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		want := enqueue(t, st, 6, now)

		type result struct {
			ids []string
			err error
		}
		first, release, firstDone := make(chan []string, 1), make(chan struct{}), make(chan error, 1)
		go func() {
			firstDone <- st.Tx(ctx, func(tx *store.Store) error {
				msgs, err := tx.ClaimDue(ctx, now, time.Minute, 2)
				if err != nil {
					return err
				}
				first <- messageIDs(msgs)
				<-release // the transaction, and its row locks, stay open until then
				return nil
			})
		}()
		var a []string
		select {
		case a = <-first:
		case err := <-firstDone:
			t.Fatalf("first claim: got %v before claiming, want a claim held open", err)
		}
		second := make(chan result, 1)
		go func() {
			msgs, err := st.ClaimDue(ctx, now, time.Minute, len(want))
			second <- result{messageIDs(msgs), err}
		}()
		var b result
		if st.Postgres() {
			select {
			case b = <-second:
			case <-time.After(10 * time.Second):
				close(release)
				t.Fatal("second claim still waiting after 10s on the first claim's open transaction, want SKIP LOCKED to pass over its rows")
			}
			close(release)
		} else {
			close(release)
			b = <-second
		}
		if err := <-firstDone; err != nil {
			t.Fatalf("first claim: got %v, want nil", err)
		}
		if b.err != nil {
			t.Fatalf("second claim: got %v, want nil", b.err)
		}
		if len(a) != 2 {
			t.Errorf("first claim: got %d messages, want 2 (its limit)", len(a))
		}
		claimed(t, map[string][]string{"first": a, "second": b.ids}, want)
	})
}

// TestClaimDueLease: a claimed message is not claimable again while its lease lasts, and is once it
// expires (its sender died); a sent message never again, a failed one from its next attempt on.
func TestClaimDueLease(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		const lease = time.Minute
		ids := enqueue(t, st, 3, t0)
		sent, failed, abandoned := ids[0], ids[1], ids[2]
		retryAt := t0.Add(10 * time.Minute)
		steps := []struct {
			name string
			at   time.Time
			then func(t *testing.T) // after the claim
			want []string
		}{
			{name: "due messages", at: t0, want: ids, then: func(t *testing.T) {
				if err := st.MarkSent(ctx, sent, t0.Add(time.Second)); err != nil {
					t.Fatalf("MarkSent: %v", err)
				}
				if err := st.MarkFailed(ctx, failed, retryAt, "connection refused"); err != nil {
					t.Fatalf("MarkFailed: %v", err)
				}
			}},
			{name: "leases running", at: t0.Add(lease - time.Millisecond), want: nil},
			{name: "lease expired", at: t0.Add(lease + time.Millisecond), want: []string{abandoned}},
			// The abandoned message's second lease has expired too; the failed one waits for its retry.
			{name: "failed one not yet due", at: retryAt.Add(-time.Millisecond), want: []string{abandoned}},
			{name: "failed one due", at: retryAt, want: []string{failed}},
		}
		for _, s := range steps {
			msgs, err := st.ClaimDue(ctx, s.at, lease, 10)
			if err != nil {
				t.Fatalf("%s: ClaimDue: got %v, want nil", s.name, err)
			}
			got := messageIDs(msgs)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(s.want))
			if !slices.Equal(got, want) {
				t.Fatalf("%s: ClaimDue at %s: got %v, want %v", s.name, s.at.Format(time.TimeOnly), got, want)
			}
			for _, m := range msgs {
				if m.ID == failed && !s.at.Before(retryAt) && (m.Attempts != 1 || m.LastError == nil || *m.LastError != "connection refused") {
					t.Errorf("%s: failed message: got %d attempts, last error %v; want 1, %q", s.name, m.Attempts, m.LastError, "connection refused")
				}
			}
			if s.then != nil {
				s.then(t)
			}
		}
		if n, err := st.OutboxBacklog(ctx); err != nil || n != 2 {
			t.Errorf("OutboxBacklog: got %d, %v; want 2 (the failed and the abandoned message), nil", n, err)
		}
	})
}

// TestMarkFailedKeepsAStorableReason: whatever the transport's error says, the failed attempt is
// recorded, with a reason that is valid UTF-8, free of NUL bytes and at most 1000 bytes long. A cut
// through a character, a NUL byte or invalid UTF-8 made PostgreSQL refuse the whole update.
func TestMarkFailedKeepsAStorableReason(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			name, reason, want string
		}{
			{"short", "smtp send: 451 try later", "smtp send: 451 try later"},
			{"long", strings.Repeat("x", 1500), strings.Repeat("x", 1000)},
			{"cut through a character", "a" + strings.Repeat("é", 600), "a" + strings.Repeat("é", 499)},
			{"NUL byte", "smtp\x00 send", "smtp send"},
			{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
		} {
			t.Run(c.name, func(t *testing.T) {
				ids := enqueue(t, st, 1, now)
				if err := st.MarkFailed(ctx, ids[0], now, c.reason); err != nil {
					t.Fatalf("MarkFailed: got %v, want nil", err)
				}
				msgs, err := st.ClaimDue(ctx, now, time.Minute, 10)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("ClaimDue: got %d messages, %v; want the failed one, nil", len(msgs), err)
				}
				m := msgs[0]
				if m.Attempts != 1 || m.LastError == nil || *m.LastError != c.want {
					t.Fatalf("got %d attempts, last error %q; want 1, %q", m.Attempts, deref(m.LastError), c.want)
				}
				if !utf8.ValidString(*m.LastError) || len(*m.LastError) > 1000 {
					t.Errorf("last error: got %d bytes, valid UTF-8 %v; want at most 1000, valid", len(*m.LastError), utf8.ValidString(*m.LastError))
				}
				if err := st.MarkSent(ctx, m.ID, now); err != nil {
					t.Fatalf("MarkSent: %v", err)
				}
			})
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
