package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

func activity(org string, at time.Time, action string) store.ActivityLog {
	return store.ActivityLog{
		OrganizationID: org, CreatedAt: at, ActorType: "system", Action: action, Category: "security",
		Status: "success", Message: "test", Metadata: "{}", RetentionDays: 7, ExpiresAt: at.Add(7 * 24 * time.Hour),
	}
}

// TestActivityRollsBackWithItsTransaction: an entry written in a transaction that then fails is
// gone with it; one written in a transaction that commits stays.
func TestActivityRollsBackWithItsTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		org := store.NewID()
		failed := errors.New("the change failed after its event was written")
		err := st.Tx(ctx, func(tx *store.Store) error {
			if err := tx.RecordActivity(ctx, activity(org, now, "rolled.back")); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("Tx = %v, want the failure", err)
		}
		if err := st.Tx(ctx, func(tx *store.Store) error { return tx.RecordActivity(ctx, activity(org, now, "committed")) }); err != nil {
			t.Fatal(err)
		}
		got, err := st.ActivityLogs(ctx, store.ActivityFilter{OrganizationID: org, Now: now, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Action != "committed" {
			t.Errorf("entries = %+v, want only the committed one", got)
		}
	})
}

// TestActivityKeysetPages walks an organization's log page by page, with many entries sharing an
// instant: every live entry comes exactly once, newest first; other organizations' and expired
// entries never; filters and since select exactly their entries.
func TestActivityKeysetPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		now := base.Add(time.Hour)
		org, other := store.NewID(), store.NewID()
		var rows []store.ActivityLog
		for i := range 300 {
			// Ten entries per microsecond, and one instant with a whole page and more.
			at := base.Add(time.Duration(i/10) * time.Microsecond)
			if i >= 200 && i < 230 {
				at = base.Add(time.Second)
			}
			a := activity(org, at, []string{"a.one", "a.two", "a.three"}[i%3])
			if i%50 == 7 {
				a.ExpiresAt = now // expired at now: never listed
			}
			rows = append(rows, a, activity(other, at, "a.one"))
		}
		if err := st.RecordActivities(ctx, rows); err != nil {
			t.Fatal(err)
		}
		want := func(keep func(store.ActivityLog) bool) map[string]store.ActivityLog {
			out := map[string]store.ActivityLog{}
			for _, r := range rows {
				if r.OrganizationID == org && r.ExpiresAt.After(now) && keep(r) {
					out[r.ID] = r
				}
			}
			return out
		}
		since := base.Add(10 * time.Microsecond)
		for _, c := range []struct {
			name string
			f    store.ActivityFilter
			keep func(store.ActivityLog) bool
		}{
			{"all", store.ActivityFilter{}, func(store.ActivityLog) bool { return true }},
			{"action", store.ActivityFilter{Action: "a.two"}, func(r store.ActivityLog) bool { return r.Action == "a.two" }},
			{"since", store.ActivityFilter{Since: &since}, func(r store.ActivityLog) bool { return !r.CreatedAt.Before(since) }},
			{"no match", store.ActivityFilter{Category: "billing"}, func(store.ActivityLog) bool { return false }},
		} {
			t.Run(c.name, func(t *testing.T) {
				expected := want(c.keep)
				f := c.f
				f.OrganizationID, f.Now, f.Limit = org, now, 7
				seen := map[string]bool{}
				var last *store.ActivityLog
				for pages := 0; ; pages++ {
					if pages > 100 {
						t.Fatal("more than 100 pages of 7: the walk does not end")
					}
					page, err := st.ActivityLogs(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					for i := range page {
						e := page[i]
						if _, ok := expected[e.ID]; !ok || seen[e.ID] {
							t.Fatalf("page %d: got %s (%s at %v), want each expected entry once", pages, e.ID, e.Action, e.CreatedAt)
						}
						seen[e.ID] = true
						if last != nil && (e.CreatedAt.After(last.CreatedAt) || e.CreatedAt.Equal(last.CreatedAt) && e.ID >= last.ID) {
							t.Fatalf("%s at %v after %s at %v: want newest first, then by id descending", e.ID, e.CreatedAt, last.ID, last.CreatedAt)
						}
						last = &e
					}
					if len(page) < f.Limit {
						break
					}
					f.After = &store.ActivityPosition{CreatedAt: last.CreatedAt, ID: last.ID}
				}
				if len(seen) != len(expected) {
					t.Errorf("got %d entries, want %d", len(seen), len(expected))
				}
			})
		}
	})
}

// TestPruneActivityLogs: pruning deletes only expired entries, in batches of at most the limit,
// and several pruners at once (instances) delete each entry once without failing.
func TestPruneActivityLogs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		org := store.NewID()
		var rows []store.ActivityLog
		for i := range 1000 {
			a := activity(org, now.Add(-8*24*time.Hour), "old")
			a.ExpiresAt = now.Add(-time.Duration(i) * time.Second)
			rows = append(rows, a)
		}
		for range 10 {
			rows = append(rows, activity(org, now, "live"))
		}
		if err := st.RecordActivities(ctx, rows); err != nil {
			t.Fatal(err)
		}
		n, err := st.PruneActivityLogs(ctx, now, 100)
		if err != nil || n != 100 {
			t.Fatalf("PruneActivityLogs(limit 100) = %d, %v; want 100 deleted", n, err)
		}
		var mu sync.Mutex
		var total int64
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				for {
					n, err := st.PruneActivityLogs(ctx, now, 50)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					total += n
					mu.Unlock()
					if n == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent prune: %v", err)
		}
		if total != 900 {
			t.Errorf("concurrent pruners deleted %d, want the 900 left", total)
		}
		left, err := st.ActivityLogs(ctx, store.ActivityFilter{OrganizationID: org, Now: now.Add(-time.Hour), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 10 {
			t.Errorf("%d entries left, want the 10 live ones", len(left))
		}
		for _, e := range left {
			if e.Action != "live" {
				t.Errorf("left %s, want only live entries", e.Action)
			}
		}
	})
}

// TestActivityTextIsCutToItsColumns: over-long or malformed text never fails the write (and the
// change in its transaction); over-long metadata is refused rather than cut into broken JSON.
func TestActivityTextIsCutToItsColumns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		org := store.NewID()
		a := activity(org, now, "cut")
		label, request, source := strings.Repeat("é", 300)+"\x00", strings.Repeat("r", 200), "\xff"+strings.Repeat("1", 100)
		a.ActorLabel, a.RequestID, a.SourceAddress = &label, &request, &source
		if err := st.RecordActivity(ctx, a); err != nil {
			t.Fatalf("RecordActivity with over-long text: %v", err)
		}
		got, err := st.ActivityLogs(ctx, store.ActivityFilter{OrganizationID: org, Now: now, Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("ActivityLogs = %v, %v", got, err)
		}
		e := got[0]
		if *e.ActorLabel != strings.Repeat("é", 255) || len(*e.RequestID) != 128 || *e.SourceAddress != "\uFFFD"+strings.Repeat("1", 63) {
			t.Errorf("stored label %d chars, request id %d, source %q; want them cut to 255, 128 and 64 characters", len([]rune(*e.ActorLabel)), len(*e.RequestID), *e.SourceAddress)
		}
		b := activity(org, now, "too much metadata")
		b.Metadata = fmt.Sprintf(`{"x":%q}`, strings.Repeat("x", store.MaxActivityMetadata))
		if err := st.RecordActivity(ctx, b); err == nil {
			t.Error("RecordActivity with over-long metadata succeeded, want it refused")
		}
	})
}

// TestProductionPlan reads the plan that decides an organization's retention.
func TestProductionPlan(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		a, err := st.CreateAccount(ctx, newAccount("plan@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if plan, err := st.ProductionPlan(ctx, a.Organization.ID); err != nil || plan != store.PlanFree {
			t.Errorf("ProductionPlan = %q, %v; want %q", plan, err, store.PlanFree)
		}
		if _, err := st.ProductionPlan(ctx, store.NewID()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ProductionPlan of no organization = %v, want ErrNotFound", err)
		}
	})
}
