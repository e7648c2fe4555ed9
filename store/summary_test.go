package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestAccountSummaryFollowsEveryChange: the organizations AccountSummary remembers never outlive a
// change to them, whoever makes it. Each change below is made past the store (plain SQL on a
// connection of its own, as another instance or an operator would) right after a summary was read,
// and the very next summary shows it.
func TestAccountSummaryFollowsEveryChange(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		a, err := st.CreateAccount(ctx, newAccount("summary@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.CreateAccount(ctx, newAccount("other@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		user, home, other := a.User.ID, a.Organization.ID, b.Organization.ID
		read := func(orgID string) (store.Account, error) {
			t.Helper()
			return st.AccountSummary(ctx, user, orgID)
		}
		summary := func(orgID string) store.Account {
			t.Helper()
			s, err := read(orgID)
			if err != nil {
				t.Fatalf("AccountSummary in %s: %v", orgID, err)
			}
			return s
		}
		summary(home)
		last := summary(home).AccessVersion // remembered: the next reads start from the row and what is remembered
		// changed is summary after a change to the user's organizations: read at a later version, so
		// that what is made from a summary can be remembered with its version (GET /v1/auth/me).
		changed := func(orgID string) store.Account {
			t.Helper()
			s := summary(orgID)
			if !s.Versioned || s.AccessVersion <= last {
				t.Errorf("after a change, summary read at version %d (versioned %v), want past %d", s.AccessVersion, s.Versioned, last)
			}
			last = s.AccessVersion
			return s
		}

		db.Exec(t, "UPDATE organizations SET name = ? WHERE id = ?", "Renamed", home)
		if got := changed(home).Organization.Name; got != "Renamed" {
			t.Errorf("organization renamed: summary shows %q", got)
		}

		db.Exec(t, "INSERT INTO memberships (id, organization_id, user_id, role, accepted_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			store.NewID(), other, user, "member", now, now, now)
		if got := changed(home).Organizations; len(got) != 2 {
			t.Errorf("joined another organization: summary lists %d organizations, want 2", len(got))
		}
		db.Exec(t, "UPDATE memberships SET role = ? WHERE organization_id = ? AND user_id = ?", "admin", other, user)
		if got := changed(other).Role; got != "admin" {
			t.Errorf("role changed: summary shows %q, want admin", got)
		}

		if _, _, err := st.EnsureSandbox(ctx, other, "Sandbox", "UTC", now); err != nil {
			t.Fatal(err)
		}
		if got := changed(other).Projects; len(got) != 2 {
			t.Fatalf("sandbox made in the other organization: summary lists %d projects, want 2", len(got))
		}
		db.Exec(t, "UPDATE projects SET name = ? WHERE organization_id = ? AND environment = ?", "Staging", other, store.EnvironmentSandbox)
		if got := changed(other).Projects[1].Name; got != "Staging" {
			t.Errorf("project renamed: summary shows %q", got)
		}
		db.Exec(t, "DELETE FROM projects WHERE organization_id = ? AND environment = ?", other, store.EnvironmentSandbox)
		if got := changed(other).Projects; len(got) != 1 {
			t.Errorf("sandbox deleted: summary lists %d projects, want 1", len(got))
		}

		db.Exec(t, "DELETE FROM memberships WHERE organization_id = ? AND user_id = ?", other, user)
		if _, err := read(other); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removed from the other organization: %v, want ErrNotFound", err)
		}

		// The user's own row is read on every call.
		db.Exec(t, "UPDATE users SET session_version = session_version + 1, full_name = ? WHERE id = ?", "Jane Renamed", user)
		if got := summary(home); got.User.SessionVersion != 1 || got.User.FullName != "Jane Renamed" {
			t.Errorf("sessions ended and name changed: summary shows version %d, name %q", got.User.SessionVersion, got.User.FullName)
		}
		db.Exec(t, "DELETE FROM memberships WHERE user_id = ?", user)
		db.Exec(t, "DELETE FROM users WHERE id = ?", user)
		if _, err := read(home); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("user deleted: %v, want ErrNotFound", err)
		}
	})
}

// TestKeySummaryFollowsEveryChange: the project accounts APIKeyAccessSummary remembers never outlive
// a change to them, and the key's own row (its revocation) is read on every call. Each change is
// made past the store, right after a summary was read.
func TestKeySummaryFollowsEveryChange(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		a, err := st.CreateAccount(ctx, newAccount("keys@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		sandbox, _, err := st.EnsureSandbox(ctx, a.Organization.ID, "Sandbox", "UTC", now)
		if err != nil {
			t.Fatal(err)
		}
		key, err := st.CreateAPIKey(ctx, store.NewAPIKey{ProjectID: sandbox.ID, OrganizationID: a.Organization.ID, CreatedBy: a.User.ID,
			Name: "k", Prefix: "pb_test_", SecretHash: "remembered", Scopes: []string{"read"}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		accounts := func() []store.PinterestAccount {
			t.Helper()
			ka, err := st.APIKeyAccessSummary(ctx, key.SecretHash)
			if err != nil {
				t.Fatal(err)
			}
			return ka.Accounts
		}
		before := accounts()
		accounts() // remembered
		if len(before) != 2 {
			t.Fatalf("sandbox accounts: %d, want 2", len(before))
		}

		db.Exec(t, "UPDATE pinterest_accounts SET username = ? WHERE id = ?", "renamed", before[0].ID)
		if got := accounts(); got[0].Username == nil || *got[0].Username != "renamed" {
			t.Errorf("account renamed: summary shows %v", got[0].Username)
		}
		db.Exec(t, "DELETE FROM pinterest_accounts WHERE id = ?", before[1].ID)
		if got := accounts(); len(got) != 1 {
			t.Errorf("account removed: summary lists %d, want 1", len(got))
		}
		db.Exec(t, "UPDATE api_keys SET pinterest_account_ids = ? WHERE id = ?", `["another-account"]`, key.ID)
		if got := accounts(); len(got) != 0 {
			t.Errorf("key limited to another account: summary lists %d, want 0", len(got))
		}
		db.Exec(t, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", now, key.ID)
		if ka, err := st.APIKeyAccessSummary(ctx, key.SecretHash); err != nil || ka.Key.RevokedAt == nil {
			t.Errorf("key revoked: summary %+v, %v; want the revocation", ka.Key, err)
		}
		db.Exec(t, "DELETE FROM api_keys WHERE id = ?", key.ID)
		if _, err := st.APIKeyAccessSummary(ctx, key.SecretHash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("key deleted: %v, want ErrNotFound", err)
		}
	})
}

// TestAccountSummaryChangeRacingAJoin: a change that bumps every member of an organization (a
// rename, a project made) made while someone is joining it, uncommitted, still reaches the
// newcomer: the two take turns on the organization's row, so the change either sees the membership
// or is seen by the join. Without the turns, the change would bump the members it sees, the
// newcomer's summary read between the two commits would be remembered without it, and nothing
// would ever bump it again. In the rename the change's own statement waits; in the project made,
// the trigger's first statement does, and its next one must still see the membership.
func TestAccountSummaryChangeRacingAJoin(t *testing.T) {
	for _, c := range []struct {
		name, change string
		args         func(org string) []any
		seen         func(store.Account) bool
	}{
		{"rename", "UPDATE organizations SET name = ? WHERE id = ?",
			func(org string) []any { return []any{"Renamed", org} },
			func(a store.Account) bool { return a.Organization.Name == "Renamed" }},
		{"sandbox", "INSERT INTO projects (id, organization_id, name, environment, plan, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			func(org string) []any {
				now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
				return []any{store.NewID(), org, "Sandbox", store.EnvironmentSandbox, store.PlanFree, "UTC", now, now}
			},
			func(a store.Account) bool { return len(a.Projects) == 2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, dbURL := testdb.Engines()[1].Open(t) // PostgreSQL: SQLite has one writer at a time
			db := testdb.OpenSQL(t, dbURL)
			ctx := context.Background()
			now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
			a, err := st.CreateAccount(ctx, newAccount("newcomer@example.com"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := st.CreateAccount(ctx, newAccount("host@example.com"))
			if err != nil {
				t.Fatal(err)
			}
			org := b.Organization.ID

			join := db.Begin(t)
			if err := join.Try("INSERT INTO memberships (id, organization_id, user_id, role, accepted_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				store.NewID(), org, a.User.ID, "member", now, now, now); err != nil {
				t.Fatal(err)
			}
			change := db.Begin(t)
			changed := make(chan error, 1)
			go func() { changed <- change.Try(c.change, c.args(org)...) }()
			// Commit the join once the change has either run (no turns taken) or waits for it.
			deadline := time.Now().Add(30 * time.Second)
			for waiting := false; !waiting; {
				if time.Now().After(deadline) {
					t.Fatal("the change neither ran nor waited for the join")
				}
				select {
				case err := <-changed:
					changed <- err
					waiting = true
				default:
					waiting = db.Int(t, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0
					if !waiting {
						time.Sleep(time.Millisecond) // polling a condition the server reports, not a guess
					}
				}
			}
			join.Commit(t)
			if err := <-changed; err != nil {
				t.Fatal(err)
			}
			if s, err := st.AccountSummary(ctx, a.User.ID, org); err != nil || c.seen(s) {
				t.Fatalf("before the change commits: %+v, %v; want it unseen", s, err)
			}
			change.Commit(t)
			if s, err := st.AccountSummary(ctx, a.User.ID, org); err != nil || !c.seen(s) {
				t.Errorf("after the change: %+v, %v; want it seen", s, err)
			}
		})
	}
}
