package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

func newAccount(email string) store.NewAccount {
	return store.NewAccount{
		Email: email, FullName: "Jane Doe", Timezone: "Europe/Paris", PasswordHash: "$argon2id$test",
		OrganizationName: "Acme", ProjectName: "Acme", Now: time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC),
	}
}

func count(t *testing.T, db *testdb.SQL, table string) int64 {
	t.Helper()
	return db.Int(t, "SELECT COUNT(*) FROM "+table)
}

func TestCreateAccountAndLoad(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		created, err := st.CreateAccount(ctx, newAccount("Jane.Doe@Example.com"))
		if err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		got, err := st.Account(ctx, created.User.ID, "")
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		if got.User.Email != "Jane.Doe@Example.com" || got.User.EmailKey != "jane.doe@example.com" {
			t.Errorf("email = %q key %q, want the address as given and its lower-case key", got.User.Email, got.User.EmailKey)
		}
		if got.Organization.ID != created.Organization.ID || got.Organization.Name != "Acme" {
			t.Errorf("organization = %+v, want %+v", got.Organization, created.Organization)
		}
		if len(got.Projects) != 1 || got.Production().Environment != store.EnvironmentProduction || got.Production().Timezone != "Europe/Paris" {
			t.Errorf("projects = %+v, want one production project in Europe/Paris", got.Projects)
		}
		if !got.User.CreatedAt.Equal(created.User.CreatedAt) {
			t.Errorf("created_at = %v, want %v", got.User.CreatedAt, created.User.CreatedAt)
		}
		byEmail, err := st.UserByEmail(ctx, "JANE.DOE@example.COM")
		if err != nil || byEmail.ID != created.User.ID {
			t.Errorf("UserByEmail in another case = %v, %v; want user %s", byEmail.ID, err, created.User.ID)
		}
	})
}

func TestDuplicateEmailInAnotherCaseConflicts(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		if _, err := st.CreateAccount(ctx, newAccount("you@example.com")); err != nil {
			t.Fatalf("first CreateAccount: %v", err)
		}
		_, err := st.CreateAccount(ctx, newAccount("YOU@Example.com"))
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second CreateAccount error = %v, want ErrConflict", err)
		}
		// The failed registration left nothing behind.
		if n := count(t, db, "organizations"); n != 1 {
			t.Errorf("organizations = %d, want 1 (no partial write)", n)
		}
		if n := count(t, db, "projects"); n != 1 {
			t.Errorf("projects = %d, want 1 (no partial write)", n)
		}
	})
}

func TestConcurrentDuplicateRegistrationsOneWins(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		const n = 20
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			ok, clash int
			other     []error
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := "race@example.com"
				if i%2 == 1 {
					email = "RACE@example.com"
				}
				_, err := st.CreateAccount(ctx, newAccount(email))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, store.ErrConflict):
					clash++
				default:
					other = append(other, err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || clash != n-1 || len(other) > 0 {
			t.Fatalf("got %d created, %d conflicts, other errors %v; want 1, %d, none", ok, clash, other, n-1)
		}
		if c := count(t, db, "organizations"); c != 1 {
			t.Errorf("organizations = %d, want 1", c)
		}
	})
}

func TestNotFound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := st.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByEmail(unknown) error = %v, want ErrNotFound", err)
		}
		if _, err := st.Account(ctx, store.NewID(), ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(unknown) error = %v, want ErrNotFound", err)
		}
		if err := st.SetPasswordHash(ctx, store.NewID(), "x", time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetPasswordHash(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
	})
}

func TestOneProductionProjectPerOrganization(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		a, err := st.CreateAccount(ctx, newAccount("one@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		dup := a.Production()
		dup.ID = store.NewID()
		err = db.Try("INSERT INTO projects (id, organization_id, name, environment, plan, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			store.NewID(), dup.OrganizationID, dup.Name, dup.Environment, dup.Plan, dup.Timezone, dup.CreatedAt, dup.UpdatedAt)
		if err == nil {
			t.Fatal("a second production project was stored, want the unique index to refuse it")
		}
	})
}

func TestTxRollsBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := st.Tx(ctx, func(tx *store.Store) error {
			if _, err := tx.CreateAccount(ctx, newAccount("tx@example.com")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx error = %v, want boom", err)
		}
		if _, err := st.UserByEmail(ctx, "tx@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("user after rollback: %v, want ErrNotFound", err)
		}
	})
}

// TestOpenTakesAParsedURL: Open opens what config parsed (here a SQLite file) and refuses the zero
// DatabaseURL rather than guessing an engine.
func TestOpenTakesAParsedURL(t *testing.T) {
	if st, err := store.Open(context.Background(), config.DatabaseURL{}, store.Options{}); err == nil {
		_ = st.Close()
		t.Fatal("Open(zero DatabaseURL) succeeded, want an error")
	}
	u, err := config.ParseDatabaseURL("sqlite://" + t.TempDir() + "/sub/parsed.db")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatalf("Open(%v): %v", u, err)
	}
	defer st.Close()
	if st.Postgres() {
		t.Errorf("Open(%v) reports PostgreSQL, want SQLite", u)
	}
}

// TestSQLiteWaitsForLocksAsLongAsAsked: on SQLite a statement waits BusyTimeout for a lock another
// process holds (the server passes its request deadline), 10 s when unset.
func TestSQLiteWaitsForLocksAsLongAsAsked(t *testing.T) {
	for _, c := range []struct {
		opt  time.Duration
		want int64
	}{{0, 10000}, {5 * time.Second, 5000}, {1234 * time.Millisecond, 1234}} {
		u, err := config.ParseDatabaseURL("sqlite://" + t.TempDir() + "/busy.db")
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(context.Background(), u, store.Options{BusyTimeout: c.opt})
		if err != nil {
			t.Fatal(err)
		}
		var ms int64
		if err := st.DB().Raw("PRAGMA busy_timeout").Scan(&ms).Error; err != nil {
			t.Fatal(err)
		}
		if ms != c.want {
			t.Errorf("BusyTimeout %v: busy_timeout = %d ms, want %d", c.opt, ms, c.want)
		}
		_ = st.Close()
	}
}

// TestTxRunsADeadlockedTransactionAgain: two transactions update two users in opposite orders, each
// waiting for the other's first update; PostgreSQL aborts one of them for the deadlock, and Tx runs
// it again, so both commit.
func TestTxRunsADeadlockedTransactionAgain(t *testing.T) {
	st, _ := testdb.Engines()[1].Open(t)
	ctx := context.Background()
	a, err := st.CreateAccount(ctx, newAccount("first@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateAccount(ctx, newAccount("second@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Each transaction, on its first run only, waits after its first update until the other has
	// made its own: then each waits on the other's row.
	var firstDone sync.WaitGroup
	firstDone.Add(2)
	update := func(first, second, tz string, runs *atomic.Int32) error {
		return st.Tx(ctx, func(tx *store.Store) error {
			if err := tx.SetTimezone(ctx, first, tz, now); err != nil {
				return err
			}
			if runs.Add(1) == 1 {
				firstDone.Done()
				firstDone.Wait()
			}
			return tx.SetTimezone(ctx, second, tz, now)
		})
	}
	var runsA, runsB atomic.Int32
	errs := make(chan error, 2)
	go func() { errs <- update(a.User.ID, b.User.ID, "Europe/Paris", &runsA) }()
	go func() { errs <- update(b.User.ID, a.User.ID, "Asia/Tokyo", &runsB) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a transaction failed instead of running again: %v", err)
		}
	}
	// Three runs when the one that ran again found the survivor done; more when it deadlocked
	// with it again before that, which Tx's pause makes unlikely but not impossible.
	if total := runsA.Load() + runsB.Load(); total < 3 {
		t.Errorf("the two transactions ran %d times, want at least 3 (one of them again)", total)
	}
	ua, _ := st.UserByID(ctx, a.User.ID)
	ub, _ := st.UserByID(ctx, b.User.ID)
	if ua.Timezone != ub.Timezone {
		t.Errorf("time zones %q and %q: the transaction that ran again did not commit both updates", ua.Timezone, ub.Timezone)
	}
}
