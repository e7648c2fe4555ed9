package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

func TestHitCountsAtomically(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		exp := time.Now().Add(time.Minute)
		var wg sync.WaitGroup
		counts := make([]int, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := st.Hit(ctx, "login:ip:1.2.3.4:42", exp)
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			}()
		}
		wg.Wait()
		seen := map[int]bool{}
		for _, c := range counts {
			seen[c] = true
		}
		for i := 1; i <= 20; i++ {
			if !seen[i] {
				t.Fatalf("counts %v: want each of 1..20 exactly once", counts)
			}
		}
		if err := st.PurgeRateLimits(ctx, exp.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Hit(ctx, "login:ip:1.2.3.4:42", exp); n != 1 {
			t.Errorf("count after purge = %d, want 1", n)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC)
		backoff := func(n int) time.Duration { return time.Duration(n) * time.Second }
		for i := 1; i <= 3; i++ {
			n, err := st.RecordLoginFailure(ctx, "Who@Example.com", now, time.Hour, backoff)
			if err != nil || n != i {
				t.Fatalf("failure %d: got %d, %v", i, n, err)
			}
		}
		until, err := st.LoginLockedUntil(ctx, "who@example.com")
		if err != nil || !until.Equal(now.Add(3*time.Second)) {
			t.Errorf("locked until %v (%v), want %v", until, err, now.Add(3*time.Second))
		}
		// A failure after the forget window starts over.
		if n, _ := st.RecordLoginFailure(ctx, "who@example.com", now.Add(2*time.Hour), time.Hour, backoff); n != 1 {
			t.Errorf("failures after the window = %d, want 1", n)
		}
		if err := st.ClearLoginFailures(ctx, "WHO@example.com"); err != nil {
			t.Fatal(err)
		}
		if until, _ := st.LoginLockedUntil(ctx, "who@example.com"); !until.IsZero() {
			t.Errorf("locked until %v after clear, want zero", until)
		}
	})
}
