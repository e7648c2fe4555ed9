package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen/client"
)

func (e *env) sandbox(token string) client.Project {
	e.t.Helper()
	resp, err := e.client.CreateSandboxProjectWithResponse(context.Background(), client.CreateSandboxProjectJSONRequestBody{}, bearer(token))
	if err != nil || resp.JSON200 == nil {
		e.t.Fatalf("create sandbox: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	for _, p := range resp.JSON200.Projects {
		if p.Environment == client.ProjectEnvironmentSandbox {
			return p
		}
	}
	e.t.Fatalf("no sandbox among %s", resp.Body)
	return client.Project{}
}

func TestSandboxFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("sandbox@example.com", "a perfectly fine password")

		projects, err := e.client.ListProjectsWithResponse(ctx, bearer(a.AccessToken))
		if err != nil || projects.JSON200 == nil || len(projects.JSON200.Projects) != 1 || projects.JSON200.ActiveProject.ID != a.ActiveProject.ID {
			t.Fatalf("projects = %v %s, want the production project, active", err, projects.Body)
		}
		sb := e.sandbox(a.AccessToken)
		if again := e.sandbox(a.AccessToken); again.ID != sb.ID {
			t.Errorf("second create returned sandbox %s, want the same %s", again.ID, sb.ID)
		}
		if sb.Name != "Sandbox" || sb.Plan != client.Free || sb.Timezone == nil {
			t.Errorf("sandbox = %+v", sb)
		}

		sw, err := e.client.SwitchProjectWithResponse(ctx, client.SwitchProjectJSONRequestBody{ProjectID: sb.ID}, bearer(a.AccessToken))
		if err != nil || sw.JSON200 == nil || sw.JSON200.ActiveProject.ID != sb.ID || sw.JSON200.AccessToken == "" || sw.JSON200.ExpiresIn != 3600 {
			t.Fatalf("switch = %v %s, want the sandbox active and a token", err, sw.Body)
		}
		token := sw.JSON200.AccessToken
		me, _ := e.client.GetMeWithResponse(ctx, bearer(token))
		if me.JSON200 == nil || me.JSON200.ActiveProject.ID != sb.ID || me.JSON200.Workspace.ID != sb.ID || len(me.JSON200.Projects) != 2 {
			t.Fatalf("me after switch = %s, want the sandbox active among two projects", me.Body)
		}

		key := e.createKey(token, client.CreateAPIKeyJSONRequestBody{Name: "sandbox key"})
		if !strings.HasPrefix(key.APIKey, "pb_test_") || key.WorkspaceID != sb.ID {
			t.Fatalf("sandbox key %q in %s, want pb_test_ in the sandbox", key.APIKey, key.WorkspaceID)
		}
		status, accounts := e.accountsWith(map[string]string{"X-API-Key": key.APIKey})
		if status != http.StatusOK || len(accounts) != 2 {
			t.Fatalf("sandbox accounts: %d %v, want two simulated accounts", status, accounts)
		}
		first := accounts[0].(map[string]any)
		for _, field := range []string{"id", "workspace_id", "pinterest_user_id", "username", "display_name", "scopes", "created_at", "updated_at", "health_status", "reconnect_required", "missing_scopes"} {
			if _, ok := first[field]; !ok {
				t.Errorf("simulated account has no %s: %v", field, first)
			}
		}
		if _, isString := first["scopes"].(string); !isString || first["workspace_id"] != sb.ID.String() {
			t.Errorf("scopes %v (want a comma-separated string), workspace_id %v (want %s)", first["scopes"], first["workspace_id"], sb.ID)
		}

		// A key limited to one account sees only it; the session sees both.
		limitedTo := first["id"].(string)
		limited := e.createKey(token, client.CreateAPIKeyJSONRequestBody{Name: "one account", PinterestAccountIds: nullableIDs(t, limitedTo)})
		if status, got := e.accountsWith(map[string]string{"Authorization": "Bearer " + limited.APIKey}); status != http.StatusOK || len(got) != 1 || got[0].(map[string]any)["id"] != limitedTo {
			t.Errorf("limited key sees %d %v, want only %s", status, got, limitedTo)
		}
		if status, got := e.accountsWith(map[string]string{"Authorization": "Bearer " + token}); status != http.StatusOK || len(got) != 2 {
			t.Errorf("session sees %d %v, want both accounts", status, got)
		}

		// Reset: data cleared and restored, same project id, same account ids, keys kept.
		if n := e.sql.Exec(t, "DELETE FROM pinterest_accounts WHERE project_id = ?", sb.ID.String()); n != 2 {
			t.Fatalf("cleared %d sandbox accounts, want 2", n)
		}
		if _, got := e.accountsWith(map[string]string{"X-API-Key": key.APIKey}); len(got) != 0 {
			t.Fatalf("accounts after clearing: %v", got)
		}
		reset, err := e.client.ResetSandboxProjectWithResponse(ctx, bearer(token))
		if err != nil || reset.JSON200 == nil {
			t.Fatalf("reset: %v %s", err, reset.Body)
		}
		var sandboxes int
		for _, p := range reset.JSON200.Projects {
			if p.Environment == client.ProjectEnvironmentSandbox {
				sandboxes++
				if p.ID != sb.ID {
					t.Errorf("sandbox id after reset = %s, want %s", p.ID, sb.ID)
				}
			}
		}
		if sandboxes != 1 {
			t.Errorf("sandboxes after reset = %d", sandboxes)
		}
		if status, got := e.accountsWith(map[string]string{"X-API-Key": limited.APIKey}); status != http.StatusOK || len(got) != 1 || got[0].(map[string]any)["id"] != limitedTo {
			t.Errorf("after reset the limited key sees %d %v, want its account restored", status, got)
		}

		// The production project starts empty and keys there are live.
		if status, got := e.accountsWith(map[string]string{"Authorization": "Bearer " + a.AccessToken}); status != http.StatusOK || len(got) != 0 {
			t.Errorf("production accounts: %d %v, want none", status, got)
		}
	})
}

func nullableIDs(t *testing.T, ids ...string) nullable.Nullable[client.PinterestAccountIDs] {
	t.Helper()
	out := client.PinterestAccountIDs{}
	for _, id := range ids {
		out = append(out, uuid.MustParse(id))
	}
	return nullable.NewNullableWithValue(out)
}

func TestConcurrentSandboxCreationMakesOne(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("concurrent-sandbox@example.com", "a perfectly fine password")
		const n = 10
		var wg sync.WaitGroup
		ids := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := e.client.CreateSandboxProjectWithResponse(context.Background(), client.CreateSandboxProjectJSONRequestBody{}, bearer(a.AccessToken))
				if err != nil || resp.JSON200 == nil {
					t.Errorf("create sandbox %d: %v %d %s", i, err, resp.StatusCode(), resp.Body)
					return
				}
				for _, p := range resp.JSON200.Projects {
					if p.Environment == client.ProjectEnvironmentSandbox {
						ids[i] = p.ID.String()
					}
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("sandbox ids = %v, want one", ids)
			}
		}
		count := e.sql.Int(t, "SELECT COUNT(*) FROM projects WHERE organization_id = ? AND environment = 'sandbox'", a.Organization.ID.String())
		accounts := e.sql.Int(t, "SELECT COUNT(*) FROM pinterest_accounts WHERE project_id = ?", ids[0])
		if count != 1 || accounts != 2 {
			t.Errorf("%d sandboxes with %d accounts, want 1 with 2", count, accounts)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		alice := e.register("alice@example.com", "a perfectly fine password")
		bob := e.register("bob@example.com", "a perfectly fine password")
		aliceSandbox := e.sandbox(alice.AccessToken)
		aliceKey := e.createKey(alice.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "alice"})
		name := "stolen"

		if r, _ := e.client.UpdateAPIKeyWithResponse(ctx, aliceKey.ID, client.UpdateAPIKeyJSONRequestBody{Name: &name}, bearer(bob.AccessToken)); r.StatusCode() != http.StatusNotFound {
			t.Errorf("bob renames alice's key: %d, want 404", r.StatusCode())
		}
		if r, _ := e.client.RevokeAPIKeyWithResponse(ctx, aliceKey.ID, bearer(bob.AccessToken)); r.StatusCode() != http.StatusNotFound {
			t.Errorf("bob revokes alice's key: %d, want 404", r.StatusCode())
		}
		for _, pid := range []client.Project{{ID: aliceSandbox.ID}, {ID: alice.ActiveProject.ID}} {
			if r, _ := e.client.SwitchProjectWithResponse(ctx, client.SwitchProjectJSONRequestBody{ProjectID: pid.ID}, bearer(bob.AccessToken)); r.StatusCode() != http.StatusNotFound {
				t.Errorf("bob switches into alice's project %s: %d, want 404", pid.ID, r.StatusCode())
			}
		}
		if r, _ := e.client.ListAPIKeysWithResponse(ctx, bearer(bob.AccessToken)); r.JSON200 == nil || len(*r.JSON200) != 0 {
			t.Errorf("bob's key list = %s, want empty", r.Body)
		}
		if r, _ := e.client.ResetSandboxProjectWithResponse(ctx, bearer(bob.AccessToken)); r.StatusCode() != http.StatusNotFound {
			t.Errorf("bob resets a sandbox he does not have: %d, want 404", r.StatusCode())
		}
		// Alice's key still works and was not renamed.
		list, _ := e.client.ListAPIKeysWithResponse(ctx, bearer(alice.AccessToken))
		if len(*list.JSON200) != 1 || (*list.JSON200)[0].Name != "alice" || !(*list.JSON200)[0].RevokedAt.IsNull() {
			t.Errorf("alice's keys after bob's attempts: %s", list.Body)
		}
	})
}
