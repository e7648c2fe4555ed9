package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// createToken stores a password-reset token with this hash for a fresh account, valid for an hour
// from now.
func createToken(t *testing.T, st *store.Store, email, hash string, now time.Time) store.OneTimeToken {
	t.Helper()
	ctx := context.Background()
	a, err := st.CreateAccount(ctx, newAccount(email))
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	tok, err := st.CreateToken(ctx, store.NewToken{UserID: a.User.ID, Purpose: store.PurposePasswordReset, Hash: hash,
		ExpiresAt: now.Add(time.Hour), Now: now})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return tok
}

// TestConsumeTokenRace: of many concurrent uses of one token exactly one wins, and every other gets
// ErrNotFound; afterwards the token is spent.
func TestConsumeTokenRace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		created := createToken(t, st, "race-token@example.com", "race-hash", now)
		usedAt := now.Add(time.Minute)

		const n = 20
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			errs   = make([]error, n)
			tokens = make([]store.OneTimeToken, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				tokens[i], errs[i] = st.ConsumeToken(ctx, store.PurposePasswordReset, "race-hash", usedAt)
			})
		}
		close(start)
		wg.Wait()

		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				if got := tokens[i]; got.ID != created.ID || got.UsedAt == nil || !got.UsedAt.Equal(usedAt) {
					t.Errorf("winner got token %s used at %v, want %s used at %v", got.ID, got.UsedAt, created.ID, usedAt)
				}
			case errors.Is(err, store.ErrNotFound):
			default:
				t.Errorf("use %d: got error %v, want nil or ErrNotFound", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("got %d successful uses of one token, want exactly 1", wins)
		}
		if _, err := st.UsableToken(ctx, store.PurposePasswordReset, "race-hash", usedAt); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UsableToken after the race: got %v, want ErrNotFound", err)
		}
	})
}

// TestConsumeTokenRefuses: a token works only for its purpose, before it expires, once, and not
// after it was retired; every refusal is ErrNotFound.
func TestConsumeTokenRefuses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			name    string
			before  func(t *testing.T, tok store.OneTimeToken)
			purpose string
			hash    string // "" means the token's own
			at      time.Time
			wantErr error
		}{
			{name: "valid", purpose: store.PurposePasswordReset, at: now.Add(59 * time.Minute)},
			{name: "at expiry", purpose: store.PurposePasswordReset, at: now.Add(time.Hour), wantErr: store.ErrNotFound},
			{name: "another purpose", purpose: store.PurposeEmailVerify, at: now, wantErr: store.ErrNotFound},
			{name: "unknown hash", purpose: store.PurposePasswordReset, hash: "no-such-hash", at: now, wantErr: store.ErrNotFound},
			{name: "used", purpose: store.PurposePasswordReset, at: now, wantErr: store.ErrNotFound,
				before: func(t *testing.T, tok store.OneTimeToken) {
					if _, err := st.ConsumeToken(ctx, tok.Purpose, tok.TokenHash, now); err != nil {
						t.Fatalf("first use: %v", err)
					}
				}},
			{name: "retired", purpose: store.PurposePasswordReset, at: now, wantErr: store.ErrNotFound,
				before: func(t *testing.T, tok store.OneTimeToken) {
					if err := st.RetireTokens(ctx, tok.UserID, now, tok.Purpose); err != nil {
						t.Fatalf("RetireTokens: %v", err)
					}
				}},
		} {
			t.Run(c.name, func(t *testing.T) {
				hash := "hash-" + store.NewID()
				tok := createToken(t, st, store.NewID()+"@example.com", hash, now)
				if c.before != nil {
					c.before(t, tok)
				}
				if c.hash != "" {
					hash = c.hash
				}
				got, err := st.ConsumeToken(ctx, c.purpose, hash, c.at)
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("ConsumeToken: got error %v, want %v", err, c.wantErr)
				}
				if err == nil && got.ID != tok.ID {
					t.Errorf("ConsumeToken: got token %s, want %s", got.ID, tok.ID)
				}
			})
		}
	})
}
