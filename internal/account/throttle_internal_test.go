package account

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// throttled is a service over st whose clock stands at now, with a cheap password hash.
func throttled(t *testing.T, st *store.Store, now time.Time) *Service {
	t.Helper()
	pool, err := password.NewPool(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return New(Deps{Store: st, Hasher: pool, Now: func() time.Time { return now }})
}

// checking starts an attempt under th and returns once its password is being checked; the check
// waits for answer, which gives its verdict (right or wrong) and returns what the attempt settled.
func checking(t *testing.T, s *Service, th throttle) (answer func(right bool) (checked, error)) {
	t.Helper()
	inCheck, verdict := make(chan struct{}), make(chan bool)
	type result struct {
		got checked
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := s.attempt(context.Background(), th, func() (bool, error) {
			close(inCheck)
			return <-verdict, nil
		})
		done <- result{got, err}
	}()
	select {
	case <-inCheck:
	case r := <-done:
		t.Fatalf("the attempt was not checked: %+v, %v", r.got, r.err)
	}
	return func(right bool) (checked, error) {
		verdict <- right
		r := <-done
		return r.got, r.err
	}
}

// TestAccountCeilingHoldsAttemptsInFlight: the attempt that reaches the account's ceiling of
// failures in the hour is counted before its password is checked, so an attempt from another
// address made while it is being checked waits with its password unchecked (counted after the
// check, every attempt in flight across addresses was checked, again each time a pause ended);
// the waiting attempt's address keeps no failure. The pause lasts only if that password is wrong:
// right, or never checked, it ends with the count given back.
func TestAccountCeilingHoldsAttemptsInFlight(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		now := time.Now()
		s := throttled(t, st, now)
		const email = "target@example.com"
		wrong := func() (bool, error) { return false, nil }
		right := func() (bool, error) { return true, nil }
		from := func(source string) throttle { return throttleOf(email, source, now) }
		failures := func(source string) int64 {
			return db.Int(t, "SELECT COALESCE(SUM(failures), 0) FROM login_throttles WHERE email_key = ?", from(source).source)
		}
		window := func() int64 {
			return db.Int(t, "SELECT failures FROM login_throttles WHERE email_key = ?", from("").window)
		}

		for i := range loginAccountCeiling - 1 {
			got, err := s.attempt(ctx, from(fmt.Sprintf("10.0.%d.%d", i/200, i%200)), wrong)
			if err != nil || got.ok || got.failures != i+1 {
				t.Fatalf("failure %d: %+v, %v; want counted as failure %d", i+1, got, err, i+1)
			}
		}
		// The ceiling's claim with a right password, then one whose check could not answer: each
		// gives its count back and ends the pause it started (the next attempt is checked).
		if got, err := s.attempt(ctx, from("192.0.2.1"), right); err != nil || !got.ok {
			t.Fatalf("a right password as the ceiling's attempt: %+v, %v", got, err)
		}
		if n := window(); n != loginAccountCeiling-1 {
			t.Errorf("the account's count after a right password: %d, want %d", n, loginAccountCeiling-1)
		}
		broken := errors.New("the hashing pool is gone")
		if _, err := s.attempt(ctx, from("192.0.2.2"), func() (bool, error) { return false, broken }); !errors.Is(err, broken) {
			t.Fatalf("an attempt whose check failed: %v", err)
		}
		if n := window(); n != loginAccountCeiling-1 {
			t.Errorf("the account's count after an unchecked attempt: %d, want %d", n, loginAccountCeiling-1)
		}

		// The failure that reaches the ceiling is being checked...
		answer := checking(t, s, from("198.51.100.1"))
		// ...when an attempt from another address arrives: it waits, its password unchecked.
		checkedToo := false
		_, err := s.attempt(ctx, from("198.51.100.2"), func() (bool, error) { checkedToo = true; return true, nil })
		var wait *BackoffError
		if !errors.As(err, &wait) || checkedToo {
			t.Errorf("an attempt while the ceiling's was checked: %v, checked %v; want a wait, unchecked", err, checkedToo)
		}
		if got, err := answer(false); err != nil || got.ok || got.failures != loginAccountCeiling {
			t.Errorf("the attempt that reached the ceiling: %+v, %v; want failure %d", got, err, loginAccountCeiling)
		}
		if n := failures("198.51.100.2"); n != 0 {
			t.Errorf("the address that waited keeps %d failures, want 0 (its attempt was given back)", n)
		}
		if n := window(); n != loginAccountCeiling {
			t.Errorf("the account's count: %d, want %d", n, loginAccountCeiling)
		}
		// A wrong password at the ceiling: the pause stands.
		if _, err := s.attempt(ctx, from("198.51.100.3"), right); !errors.As(err, &wait) {
			t.Errorf("an attempt after the ceiling's failure: %v, want a wait", err)
		}

		// An attempt claimed below the ceiling and given back after the ceiling's failure paused
		// the account (a right password) lowers the count but leaves the pause.
		other := func(source string) throttle { return throttleOf("other@example.com", source, now) }
		for i := range loginAccountCeiling - 2 {
			if _, err := s.attempt(ctx, other(fmt.Sprintf("10.1.%d.%d", i/200, i%200)), wrong); err != nil {
				t.Fatal(err)
			}
		}
		answer = checking(t, s, other("203.0.113.1"))
		if got, err := s.attempt(ctx, other("203.0.113.2"), wrong); err != nil || got.failures != loginAccountCeiling {
			t.Fatalf("the failure that reaches the ceiling: %+v, %v", got, err)
		}
		if got, err := answer(true); err != nil || !got.ok {
			t.Fatalf("the right password claimed below the ceiling: %+v, %v", got, err)
		}
		if _, err := s.attempt(ctx, other("203.0.113.3"), wrong); !errors.As(err, &wait) {
			t.Errorf("an attempt after a give-back below the ceiling: %v, want the pause to stand", err)
		}
	})
}

// TestAttemptWhoseCheckPanicsIsGivenBack: a panic in the password check (turned into a 500 above)
// leaves no attempt counted, from the source or against the account.
func TestAttemptWhoseCheckPanicsIsGivenBack(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		now := time.Now()
		s := throttled(t, st, now)
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the check's panic did not reach the caller")
				}
			}()
			_, _ = s.attempt(context.Background(), throttleOf("panic@example.com", "192.0.2.9", now), func() (bool, error) { panic("broken check") })
		}()
		if n := db.Int(t, "SELECT COALESCE(SUM(failures), 0) FROM login_throttles"); n != 0 {
			t.Errorf("%d attempts left counted after a check that panicked, want 0", n)
		}
	})
}
