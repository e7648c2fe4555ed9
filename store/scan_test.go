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

// TestAuthenticationJoinsMatchGORM: the two joins read past GORM (Account, APIKeyAccess) give
// exactly the rows GORM's own loading gives, every column included, and a key sees the accounts it
// may act on: all of its project's, only those it names, or none.
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
		}
		if _, err := st.APIKeyAccess(ctx, "no-such-hash"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown hash: %v, want ErrNotFound", err)
		}
	})
}
