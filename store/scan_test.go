package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestAuthenticationJoinsMatchGORM: the joins read past GORM (Account, APIKeyAccess) give exactly
// the rows GORM's own loading gives, every column included; AccountSummary gives the same account
// with only its fields; and a key sees the accounts it may act on: all of its project's, only those
// it names, or none.
func TestAuthenticationJoinsMatchGORM(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
		a, err := st.CreateAccount(ctx, newAccount("join@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		sandbox, _, err := st.EnsureSandbox(ctx, a.Organization.ID, "Acme sandbox", "UTC", now)
		if err != nil {
			t.Fatal(err)
		}

		got, err := st.Account(ctx, a.User.ID, a.Organization.ID)
		if err != nil {
			t.Fatal(err)
		}
		user, _ := st.UserByID(ctx, a.User.ID)
		projects, _ := st.Projects(ctx, a.Organization.ID)
		if !reflect.DeepEqual(got.User, user) {
			t.Errorf("Account user = %+v\nGORM loads     %+v", got.User, user)
		}
		if len(got.Projects) != 2 || got.Projects[0].Environment != store.EnvironmentProduction || !reflect.DeepEqual(got.Projects, projects) {
			t.Errorf("Account projects = %+v\nGORM loads         %+v (production first)", got.Projects, projects)
		}

		// AccountSummary: the same account with only the summary's fields.
		summary, err := st.AccountSummary(ctx, a.User.ID, a.Organization.ID)
		if err != nil {
			t.Fatal(err)
		}
		u := got.User
		want := store.Account{User: store.User{ID: u.ID, OrganizationID: u.OrganizationID, Email: u.Email, FullName: u.FullName,
			Timezone: u.Timezone, EmailVerifiedAt: u.EmailVerifiedAt, SessionVersion: u.SessionVersion, ActiveProjectID: u.ActiveProjectID,
			CreatedAt: u.CreatedAt}}
		for _, o := range got.Organizations {
			ps := make([]store.Project, 0, len(o.Projects))
			for _, p := range o.Projects {
				p.UpdatedAt, p.AccountsVersion = time.Time{}, 0
				ps = append(ps, p)
			}
			want.Organizations = append(want.Organizations, store.OrganizationAccess{
				Organization: store.Organization{ID: o.Organization.ID, Name: o.Organization.Name}, Role: o.Role, Projects: ps})
		}
		want.Organization, want.Role, want.Projects = want.Organizations[0].Organization, want.Organizations[0].Role, want.Organizations[0].Projects
		// Read at the user's access version, which the membership and projects made have bumped.
		if !summary.Versioned || summary.AccessVersion < 1 {
			t.Errorf("AccountSummary read at version %d (versioned %v), want a version of at least 1", summary.AccessVersion, summary.Versioned)
		}
		want.AccessVersion, want.Versioned = summary.AccessVersion, true
		if u.PasswordHash == "" || !reflect.DeepEqual(summary, want) {
			t.Errorf("AccountSummary = %+v\nwant             %+v", summary, want)
		}
		// Again, from the user's row and the organizations remembered: the same summary.
		if again, err := st.AccountSummary(ctx, a.User.ID, a.Organization.ID); err != nil || !reflect.DeepEqual(again, want) {
			t.Errorf("AccountSummary again = %+v, %v\nwant                   %+v", again, err, want)
		}

		accounts, err := st.PinterestAccounts(ctx, sandbox.ID)
		if err != nil || len(accounts) != 2 {
			t.Fatalf("sandbox accounts: %v %v", accounts, err)
		}
		expires := now.Add(24 * time.Hour)
		newKey := func(hash, projectID string, only *[]string) store.APIKey {
			k, err := st.CreateAPIKey(ctx, store.NewAPIKey{ProjectID: projectID, OrganizationID: a.Organization.ID, CreatedBy: a.User.ID,
				Name: hash, Prefix: "pb_test_", SecretHash: hash, Scopes: []string{"read"}, PinterestAccountIDs: only, ExpiresAt: &expires, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			stored, err := st.APIKeyInOrganization(ctx, a.Organization.ID, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			return stored
		}
		one := []string{accounts[1].ID}
		none := []string{}
		for _, c := range []struct {
			key  store.APIKey
			want []store.PinterestAccount
		}{
			{newKey("all", sandbox.ID, nil), accounts},
			{newKey("one", sandbox.ID, &one), accounts[1:]},
			{newKey("none", sandbox.ID, &none), []store.PinterestAccount{}},
			{newKey("production", a.Production().ID, nil), []store.PinterestAccount{}},
		} {
			access, err := st.APIKeyAccess(ctx, c.key.SecretHash)
			if err != nil {
				t.Fatalf("%s: %v", c.key.Name, err)
			}
			if !reflect.DeepEqual(access.Key, c.key) {
				t.Errorf("%s: key = %+v\nGORM loads %+v", c.key.Name, access.Key, c.key)
			}
			if !reflect.DeepEqual(access.Accounts, c.want) {
				t.Errorf("%s: accounts = %+v\nwant %+v", c.key.Name, access.Accounts, c.want)
			}
			summary, err := st.APIKeyAccessSummary(ctx, c.key.SecretHash)
			if err != nil {
				t.Fatalf("%s summary: %v", c.key.Name, err)
			}
			k := c.key
			wantKey := store.APIKey{ID: k.ID, ProjectID: k.ProjectID, OrganizationID: k.OrganizationID, SecretHash: k.SecretHash,
				Scopes: k.Scopes, PinterestAccountIDs: k.PinterestAccountIDs, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
			if k.ExpiresAt == nil || !reflect.DeepEqual(summary.Key, wantKey) || !reflect.DeepEqual(summary.Accounts, c.want) {
				t.Errorf("%s: summary = %+v\nwant %+v and the accounts", c.key.Name, summary, wantKey)
			}
			// Again, from the key's row and the accounts remembered: the same summary.
			if again, err := st.APIKeyAccessSummary(ctx, c.key.SecretHash); err != nil || !reflect.DeepEqual(again, summary) {
				t.Errorf("%s: summary again = %+v, %v\nwant %+v", c.key.Name, again, err, summary)
			}
		}
		if _, err := st.APIKeyAccess(ctx, "no-such-hash"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown hash: %v, want ErrNotFound", err)
		}
	})
}
