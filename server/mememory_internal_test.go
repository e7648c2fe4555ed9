package server

import (
	"bytes"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/store"
)

// TestMeBodyIsReusedOnlyForWhatItWasMadeFrom: a remembered answer is reused while everything it was
// made from is the same, and any change to one of them (each field of the user it shows, the
// access version, the session's organization or project) gets the answer encoding makes now. An
// account read without a known version is never remembered.
func TestMeBodyIsReusedOnlyForWhatItWasMadeFrom(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p1 := store.Project{ID: "0190a000-0000-7000-8000-000000000001", OrganizationID: "0190a000-0000-7000-8000-0000000000a1", Name: "Acme", Environment: store.EnvironmentProduction, Plan: "free", Timezone: "UTC", CreatedAt: created}
	p2 := store.Project{ID: "0190a000-0000-7000-8000-000000000002", OrganizationID: "0190a000-0000-7000-8000-0000000000a1", Name: "Acme", Environment: store.EnvironmentSandbox, Plan: "free", Timezone: "UTC", CreatedAt: created}
	q1 := store.Project{ID: "0190a000-0000-7000-8000-000000000003", OrganizationID: "0190a000-0000-7000-8000-0000000000a2", Name: "Other", Environment: store.EnvironmentProduction, Plan: "free", Timezone: "UTC", CreatedAt: created}
	base := func() (store.Account, store.Project) {
		a := store.Account{
			User: store.User{ID: "0190a000-0000-7000-8000-0000000000f1", OrganizationID: "0190a000-0000-7000-8000-0000000000a1", Email: "ada@example.com", FullName: "Ada", Timezone: "UTC", CreatedAt: created},
			Organizations: []store.OrganizationAccess{
				{Organization: store.Organization{ID: "0190a000-0000-7000-8000-0000000000a1", Name: "Acme"}, Role: "owner", Projects: []store.Project{p1, p2}},
				{Organization: store.Organization{ID: "0190a000-0000-7000-8000-0000000000a2", Name: "Other"}, Role: "viewer", Projects: []store.Project{q1}},
			},
			AccessVersion: 7, Versioned: true,
		}
		a, _ = a.In("0190a000-0000-7000-8000-0000000000a1")
		return a, p1
	}
	fresh := func(a store.Account, active store.Project) []byte {
		var b bytes.Buffer
		if err := encodeJSON(&b, meWire(wireMe(a, active))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	answer := func(m *meBodies, a store.Account, active store.Project) encodedMe {
		t.Helper()
		body, err := m.answer(a, active)
		if err != nil {
			t.Fatal(err)
		}
		if want := fresh(a, active); !bytes.Equal(body, want) {
			t.Fatalf("answer:\n%s\nwant what encoding makes now:\n%s", body, want)
		}
		return body
	}
	same := func(x, y encodedMe) bool { return len(x) > 0 && len(y) > 0 && &x[0] == &y[0] }

	m := newMeBodies()
	a, active := base()
	first := answer(m, a, active)
	if again := answer(m, a, active); !same(first, again) {
		t.Fatal("the same account and project: the remembered answer was not reused")
	}

	verified := created.Add(time.Hour)
	changes := map[string]func(a *store.Account, active *store.Project){
		"email":     func(a *store.Account, _ *store.Project) { a.User.Email = "ada@example.org" },
		"full name": func(a *store.Account, _ *store.Project) { a.User.FullName = "Ada L." },
		"time zone": func(a *store.Account, _ *store.Project) { a.User.Timezone = "Europe/Paris" },
		"verified":  func(a *store.Account, _ *store.Project) { a.User.EmailVerifiedAt = &verified },
		"created":   func(a *store.Account, _ *store.Project) { a.User.CreatedAt = created.Add(time.Second) },
		"home organization": func(a *store.Account, _ *store.Project) {
			a.User.OrganizationID = "0190a000-0000-7000-8000-0000000000a2"
		},
		"active project": func(_ *store.Account, active *store.Project) { *active = p2 },
		"organization": func(a *store.Account, active *store.Project) {
			*a, _ = a.In("0190a000-0000-7000-8000-0000000000a2")
			*active = q1
		},
		"access version": func(a *store.Account, _ *store.Project) {
			a.Organizations[1].Organization.Name = "Renamed"
			a.AccessVersion++
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			m := newMeBodies()
			a, active := base()
			before := answer(m, a, active)
			a.Organizations = append([]store.OrganizationAccess(nil), a.Organizations...)
			change(&a, &active)
			if after := answer(m, a, active); same(before, after) {
				t.Fatal("the remembered answer was reused after a change")
			}
		})
	}

	t.Run("sessions side by side", func(t *testing.T) {
		m := newMeBodies()
		a, active := base()
		home := answer(m, a, active)
		other, _ := a.In("0190a000-0000-7000-8000-0000000000a2")
		answer(m, other, q1)
		if again := answer(m, a, active); !same(home, again) {
			t.Error("one user's session in another organization displaced the answer of this one")
		}
	})

	t.Run("unversioned", func(t *testing.T) {
		m := newMeBodies()
		a, active := base()
		a.Versioned = false
		answer(m, a, active)
		if m.memory.Len() != 0 {
			t.Fatal("an account read at no known version was remembered")
		}
	})
}
