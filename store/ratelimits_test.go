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
				n, err := st.HitAll(ctx, store.RateHit{Bucket: "login:ip:1.2.3.4:42", Expires: exp})
				if err != nil {
					t.Error(err)
					return
				}
				counts[i] = n[0]
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
		if n, err := st.HitAll(ctx, store.RateHit{Bucket: "login:ip:1.2.3.4:42", Expires: exp}); err != nil || n[0] != 1 {
			t.Errorf("count after purge = %v, %v; want [1]", n, err)
		}
	})
}

func TestHitAllCountsEachBucketOnceInOneStatement(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		exp := time.Now().Add(time.Minute)
		hit := func(buckets ...string) []int {
			t.Helper()
			hits := make([]store.RateHit, len(buckets))
			for i, b := range buckets {
				hits[i] = store.RateHit{Bucket: b, Expires: exp}
			}
			counts, err := st.HitAll(ctx, hits...)
			if err != nil {
				t.Fatal(err)
			}
			return counts
		}
		// Requests hitting the same buckets named in opposite orders at once neither deadlock nor
		// lose a hit.
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				hits := []store.RateHit{{Bucket: "ip:9", Expires: exp}, {Bucket: "email:e:9", Expires: exp}}
				if i%2 == 1 {
					hits[0], hits[1] = hits[1], hits[0]
				}
				if _, err := st.HitAll(ctx, hits...); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := hit("email:e:9", "new", "ip:9"); got[0] != 41 || got[1] != 1 || got[2] != 41 {
			t.Errorf("counts %v in the order asked, want [41 1 41]", got)
		}
		if got := hit("twice", "twice"); got[0] != 1 || got[1] != 1 {
			t.Errorf("a bucket named twice: counts %v, want it counted once: [1 1]", got)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC)
		backoff := func(n int) time.Duration { // two free failures, then n seconds
			if n <= 2 {
				return 0
			}
			return time.Duration(n) * time.Second
		}
		const account, source = "acct:1f2e", "acct:1f2e|203.0.113.7"
		for i := 1; i <= 3; i++ {
			n, _, err := st.ClaimLoginAttempt(ctx, source, now, time.Hour, backoff)
			if err != nil || n != i {
				t.Fatalf("failure %d: got %d, %v", i, n, err)
			}
		}
		if _, _, err := st.ClaimLoginAttempt(ctx, account, now, time.Hour, backoff); err != nil {
			t.Fatal(err)
		}
		until, err := st.LoginLockedUntil(ctx, account, source)
		if err != nil || !until.Equal(now.Add(3*time.Second)) {
			t.Errorf("locked until %v (%v), want the later of both keys' locks, %v", until, err, now.Add(3*time.Second))
		}
		if until, _ := st.LoginLockedUntil(ctx, "acct:1f2e|198.51.100.1"); !until.IsZero() {
			t.Errorf("another source is locked until %v, want zero", until)
		}
		// A failure after the forget window starts over.
		if n, _, _ := st.ClaimLoginAttempt(ctx, source, now.Add(2*time.Hour), time.Hour, backoff); n != 1 {
			t.Errorf("failures after the window = %d, want 1", n)
		}
		// A right password: the source's failures go, and the account's claim is given back, its
		// row with its last claim.
		if _, _, err := st.ClaimLoginAttempt(ctx, account, now, time.Hour, backoff); err != nil {
			t.Fatal(err)
		}
		counts := func() []string {
			return db.Strings(t, "SELECT email_key || '=' || failures FROM login_throttles WHERE email_key IN (?, ?) ORDER BY email_key", account, source)
		}
		if err := st.ClearLoginFailures(ctx, source, account, false); err != nil {
			t.Fatal(err)
		}
		if got := counts(); len(got) != 1 || got[0] != account+"=1" {
			t.Errorf("after a right password: %v, want only the account's other claim", got)
		}
		if err := st.ClearLoginFailures(ctx, source, account, false); err != nil {
			t.Fatal(err)
		}
		if got := counts(); len(got) != 0 {
			t.Errorf("after the account's last claim was given back: %v, want no row", got)
		}

		// Clearing under the account clears it from every source, and nothing of another account
		// (whose key merely starts the same way).
		for _, k := range []string{source, "acct:1f2e|198.51.100.1", "acct:1f2eff|203.0.113.7", "acct:1f2eff"} {
			if _, _, err := st.ClaimLoginAttempt(ctx, k, now, time.Hour, backoff); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.ClearLoginFailuresUnder(ctx, account); err != nil {
			t.Fatal(err)
		}
		if until, _ := st.LoginLockedUntil(ctx, account, source, "acct:1f2e|198.51.100.1"); !until.IsZero() {
			t.Errorf("account still locked until %v after clearing under it", until)
		}
		if until, _ := st.LoginLockedUntil(ctx, "acct:1f2eff", "acct:1f2eff|203.0.113.7"); until.IsZero() {
			t.Error("clearing under acct:1f2e cleared acct:1f2eff too")
		}
	})
}

// TestClaimLoginAttempt: a claim counts an attempt and starts the wait its count brings; a claim
// while the key waits counts nothing and says until when; attempts within the free failures are
// never refused, even one whose now was read a moment before another's; a release gives one back.
func TestClaimLoginAttempt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		backoff := func(n int) time.Duration {
			if n < 3 {
				return 0
			}
			return time.Minute
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		claim := func(at time.Time) (bool, time.Time) {
			t.Helper()
			failures, until, err := st.ClaimLoginAttempt(ctx, "acct:x|1.2.3.4", at, time.Hour, backoff)
			if err != nil {
				t.Fatal(err)
			}
			return failures > 0, until
		}
		if n, _, err := st.ClaimLoginAttempt(ctx, "acct:x|1.2.3.4", now, time.Hour, backoff); err != nil || n != 1 {
			t.Fatalf("first claim: count %d, %v; want 1", n, err)
		}
		// An attempt that read its now a millisecond before the first one's claims after it.
		if counted, _ := claim(now.Add(-time.Millisecond)); !counted {
			t.Error("a claim within the free failures was refused because another's now was later")
		}
		if n, _, err := st.ClaimLoginAttempt(ctx, "acct:x|1.2.3.4", now, time.Hour, backoff); err != nil || n != 3 { // it starts a minute's wait
			t.Fatalf("third claim: count %d, %v; want 3", n, err)
		}
		counted, until := claim(now.Add(time.Second))
		if counted || !until.Equal(now.Add(time.Minute)) {
			t.Errorf("claim during the wait: counted %v, until %v; want not counted, until %v", counted, until, now.Add(time.Minute))
		}
		if err := st.ReleaseLoginAttempt(ctx, "acct:x|1.2.3.4", false); err != nil {
			t.Fatal(err)
		}
		// Two left counted: the next claim after the wait is the third again, and waits a minute.
		if counted, _ := claim(now.Add(2 * time.Minute)); !counted {
			t.Fatal("claim after the wait not counted")
		}
		if counted, until := claim(now.Add(2*time.Minute + time.Second)); counted || !until.Equal(now.Add(3*time.Minute)) {
			t.Errorf("after a release and a claim: counted %v until %v, want a wait until %v (count 3)", counted, until, now.Add(3*time.Minute))
		}
		// Given back with the wait it started: the next claim is counted at once, the third again.
		if err := st.ReleaseLoginAttempt(ctx, "acct:x|1.2.3.4", true); err != nil {
			t.Fatal(err)
		}
		if n, _, err := st.ClaimLoginAttempt(ctx, "acct:x|1.2.3.4", now.Add(2*time.Minute+2*time.Second), time.Hour, backoff); err != nil || n != 3 {
			t.Errorf("a claim after a release that ended the wait: count %d, %v; want 3 at once", n, err)
		}
	})
}
