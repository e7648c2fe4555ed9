package activity_test

import (
	"context"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/activity"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// seed stores expired entries expired at now and live ones in one organization.
func seed(t *testing.T, st *store.Store, now time.Time, expired, live int) {
	t.Helper()
	rows := make([]store.ActivityLog, 0, expired+live)
	for i := range expired + live {
		at := now.Add(-8 * 24 * time.Hour)
		expires := at.Add(7 * 24 * time.Hour)
		if i >= expired {
			at, expires = now, now.Add(time.Hour)
		}
		rows = append(rows, store.ActivityLog{OrganizationID: "org", CreatedAt: at, ActorType: "system", Action: "auth.login",
			Category: "security", Status: "success", Message: "m", Metadata: "{}", RetentionDays: 7, ExpiresAt: expires})
	}
	if err := st.RecordActivities(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
}

func left(t *testing.T, st *store.Store, now time.Time) int {
	t.Helper()
	// Entries that had not expired nine days ago: every one still stored.
	rows, err := st.ActivityLogs(context.Background(), store.ActivityFilter{OrganizationID: "org", Now: now.Add(-9 * 24 * time.Hour), Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// TestPruneDeletesExpiredInBatches: a sweep deletes every expired entry, batch after batch, and
// nothing else.
func TestPruneDeletesExpiredInBatches(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		now := time.Now().UTC()
		seed(t, st, now, 2345, 10)
		p := activity.New(st, nil, func() time.Time { return now }, activity.Options{Batch: 500, Pause: time.Millisecond})
		n, err := p.Prune(context.Background())
		if err != nil || n != 2345 {
			t.Fatalf("Prune = %d, %v; want the 2345 expired entries", n, err)
		}
		if got := left(t, st, now); got != 10 {
			t.Errorf("%d entries left, want the 10 live ones", got)
		}
	})
}

// TestPrunerSweepsAtStartAndStopsPromptly: started, the pruner sweeps at once; Close ends a long
// sweep between batches without waiting for it to finish.
func TestPrunerSweepsAtStartAndStopsPromptly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		now := time.Now().UTC()
		seed(t, st, now, 300, 5)
		p := activity.New(st, nil, func() time.Time { return now }, activity.Options{Batch: 100, Pause: time.Millisecond})
		p.Start()
		deadline := time.Now().Add(10 * time.Second)
		for left(t, st, now) != 5 {
			if time.Now().After(deadline) {
				t.Fatal("the first sweep did not prune within 10s of Start")
			}
			time.Sleep(10 * time.Millisecond)
		}
		p.Close()

		seed(t, st, now, 1000, 0)
		slow := activity.New(st, nil, func() time.Time { return now }, activity.Options{Batch: 10, Pause: time.Hour})
		slow.Start()
		start := time.Now()
		time.Sleep(50 * time.Millisecond)
		slow.Close()
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Close took %v during a sweep paused between batches, want it prompt", d)
		}
		if got := left(t, st, now); got <= 5 {
			t.Errorf("%d entries left: the closed sweep went on", got)
		}
	})
}
