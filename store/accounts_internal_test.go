package store

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestAccountRowsOrder: whatever order the database returns the join's rows in, organizations come
// in the order the user joined them (ties broken by id) and, within each, production first, then the
// other projects by creation.
func TestAccountRowsOrder(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	row := func(joined int, org string, env string, created int, id string) *accountRow {
		return &accountRow{
			Membership:   Membership{CreatedAt: at.Add(time.Duration(joined) * time.Hour)},
			Organization: Organization{ID: org},
			Project:      Project{ID: id, Environment: env, CreatedAt: at.Add(time.Duration(created) * time.Minute)},
		}
	}
	want := []*accountRow{
		row(0, "z-own", EnvironmentProduction, 5, "p1"), // a production project made after the sandbox still comes first
		row(0, "z-own", EnvironmentSandbox, 1, "s1"),
		row(1, "b-same-time", EnvironmentProduction, 0, "p2"),
		row(1, "c-same-time", EnvironmentProduction, 0, "p3"),
		row(1, "c-same-time", EnvironmentSandbox, 0, "s3a"),
		row(1, "c-same-time", EnvironmentSandbox, 0, "s3b"),
		row(2, "a-joined-last", EnvironmentProduction, 0, "p4"),
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		got := slices.Clone(want)
		rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		slices.SortFunc(got, compareAccountRows)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d is project %s, want %s", i, got[i].Project.ID, want[i].Project.ID)
			}
		}
	}
}

// TestJoinOnceModels: a join's once model (the account's user, the key of a key's accounts) is
// decoded from the first row only: the other rows' destinations skip its columns and no other.
func TestJoinOnceModels(t *testing.T) {
	plan := accountSummaryJoin()
	rows := make([]accountRow, 2)
	dest := make([]any, len(plan.fields))
	plan.destinations(&rows[1], dest, true)
	skipped := 0
	for i, f := range plan.fields {
		once := f.index[0] == 0 || f.index[0] == 4 // User and Version, accountRow's first and last fields
		if (dest[i] == nil) != once {
			t.Errorf("column %d (field %v): destination %v", i, f.index, dest[i])
		}
		if dest[i] == nil {
			skipped++
		}
	}
	if want := len(summaryUserColumns) + 1; skipped != want {
		t.Errorf("%d columns skipped, want the summary's %d user columns and the version", skipped, want)
	}
	for i, f := range keyAccessJoin().fields {
		if f.once != (f.index[0] == 0) { // Key is keyAccessRow's first field
			t.Errorf("the key join's column %d (field %v): once %v, want only its Key's", i, f.index, f.once)
		}
	}
}
