package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestSessionVersion: a user starts at session version 0 (rows written before the column existed
// too); each EndSessions or SetPassword moves it up by exactly one and says to what, also when
// several run at once; a missing user is ErrNotFound.
func TestSessionVersion(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, dbURL := eng.Open(t)
			db := testdb.OpenSQL(t, dbURL)
			ctx := context.Background()
			a, err := st.CreateAccount(ctx, newAccount("version@example.com"))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.User.SessionVersion; got != 0 {
				t.Errorf("new account's session version = %d, want 0", got)
			}
			// A row inserted without the column, as every row was before the migration step, gets 0.
			legacy := store.NewID()
			db.Exec(t, "INSERT INTO users (id, organization_id, email, email_key, full_name, timezone, password_hash, sessions_valid_after, created_at, updated_at)"+
				" VALUES (?, ?, 'legacy@example.com', 'legacy@example.com', 'L', 'UTC', 'x', ?, ?, ?)", legacy, a.Organization.ID, time.Now().UTC(), time.Now().UTC(), time.Now().UTC())
			if got := db.Int(t, "SELECT session_version FROM users WHERE id = ?", legacy); got != 0 {
				t.Errorf("session_version of a row written without it = %d, want 0", got)
			}

			now := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
			for want := int64(1); want <= 2; want++ {
				got, err := st.EndSessions(ctx, a.User.ID, now)
				if err != nil || got != want {
					t.Fatalf("EndSessions #%d = %d, %v; want %d, nil", want, got, err, want)
				}
			}
			got, err := st.SetPassword(ctx, a.User.ID, "$argon2id$new", now, false)
			if err != nil || got != 3 {
				t.Fatalf("SetPassword = %d, %v; want session version 3, nil", got, err)
			}
			loaded, err := st.Account(ctx, a.User.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if loaded.User.SessionVersion != 3 || loaded.User.PasswordHash != "$argon2id$new" || !loaded.User.SessionsValidAfter.Equal(now) {
				t.Errorf("after SetPassword: version %d, hash %q, sessions_valid_after %v; want 3, $argon2id$new, %v",
					loaded.User.SessionVersion, loaded.User.PasswordHash, loaded.User.SessionsValidAfter, now)
			}
			if got := db.Int(t, "SELECT session_version FROM users WHERE id = ?", legacy); got != 0 {
				t.Errorf("another user's session_version = %d, want 0 (untouched)", got)
			}

			// Concurrent ends of sessions each get their own version: none is lost or repeated.
			const n = 10
			versions := make([]int64, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					versions[i], errs[i] = st.EndSessions(ctx, a.User.ID, now)
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent EndSessions: %v", err)
			}
			slices.Sort(versions)
			for i, v := range versions {
				if v != int64(4+i) {
					t.Fatalf("concurrent EndSessions returned %v, want 4..%d once each", versions, 3+n)
				}
			}
			if got := db.Int(t, "SELECT session_version FROM users WHERE id = ?", a.User.ID); got != 3+n {
				t.Errorf("stored session_version = %d, want %d", got, 3+n)
			}

			if _, err := st.EndSessions(ctx, store.NewID(), now); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("EndSessions(unknown) error = %v, want ErrNotFound", err)
			}
			if _, err := st.SetPassword(ctx, store.NewID(), "x", now, true); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SetPassword(unknown) error = %v, want ErrNotFound", err)
			}
		})
	}
}
