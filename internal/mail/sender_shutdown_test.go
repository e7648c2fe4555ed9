package mail

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestSenderShutdownWithHungServer stops a sender whose first message of three is stuck on an SMTP
// server that never answers: Shutdown returns by its deadline, the attempt in flight is abandoned
// and recorded as a failed attempt (queued for a retry, not leased), and the two messages claimed
// with it but never begun are given back at once.
func TestSenderShutdownWithHungServer(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			if _, err := st.Enqueue(ctx, store.NewMessage{Kind: "test", To: to, Subject: "s", Text: "t", HTML: "h"}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		hung := testsmtp.StartHung(t)
		transport, err := NewSMTP(hung.URL, "PinBridge <no-reply@example.com>")
		if err != nil {
			t.Fatal(err)
		}
		s := NewSender(st, transport, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, SenderOptions{Poll: time.Hour})
		s.Start()
		hung.WaitAccepted(t, 10*time.Second) // the three are claimed; the first is in flight, for up to 15 s

		const timeout = 2 * time.Second
		shutdownCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		begin := time.Now()
		if err := s.Shutdown(shutdownCtx); err != nil {
			t.Errorf("Shutdown = %v, want the sender stopped within its deadline", err)
		}
		if elapsed := time.Since(begin); elapsed > timeout {
			t.Errorf("Shutdown returned after %v, want within its %v deadline", elapsed, timeout)
		}

		var msgs []store.OutboxMessage
		if err := st.DB().Order("attempts DESC").Find(&msgs).Error; err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 3 {
			t.Fatalf("%d messages, want 3", len(msgs))
		}
		for i, m := range msgs {
			wantAttempts := 0
			if i == 0 {
				wantAttempts = 1
			}
			if m.SentAt != nil || m.LockedUntil != nil || m.Attempts != wantAttempts {
				t.Errorf("message to %s: sent %v, locked until %v, attempts %d; want unsent, not leased, attempts %d",
					m.ToAddress, m.SentAt, m.LockedUntil, m.Attempts, wantAttempts)
			}
		}
		if msgs[0].LastError == nil || !containsAll(*msgs[0].LastError, "abandoned", "shutting down") {
			t.Errorf("last error of the abandoned attempt = %v, want it to say it was abandoned at shutdown", msgs[0].LastError)
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
