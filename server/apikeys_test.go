package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

func (e *env) createKey(token string, body client.CreateAPIKeyJSONRequestBody) *client.APIKeyCreated {
	e.t.Helper()
	resp, err := e.client.CreateAPIKeyWithResponse(context.Background(), body, bearer(token))
	if err != nil || resp.JSON201 == nil {
		e.t.Fatalf("create key: %v, status %d, body %s", err, resp.StatusCode(), resp.Body)
	}
	return resp.JSON201
}

func (e *env) accountsWith(headers map[string]string) (int, []any) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/v1/pinterest/accounts", nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []any
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			e.t.Fatalf("accounts body is not a bare array: %v", err)
		}
	}
	return resp.StatusCode, out
}

func TestAPIKeyLifecycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("keys@example.com", "a perfectly fine password")
		key := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "Production Publisher"})
		if !strings.HasPrefix(key.APIKey, "pb_live_") || key.Prefix == nil || !strings.HasPrefix(key.APIKey, *key.Prefix) {
			t.Fatalf("api_key %q prefix %v, want pb_live_ and a display prefix of it", key.APIKey, key.Prefix)
		}
		if key.WorkspaceID != a.ActiveProject.ID || key.Scopes == nil || len(*key.Scopes) != 3 || !key.PinterestAccountIds.IsNull() {
			t.Errorf("key = %+v, want the active project, all three scopes, all accounts (null)", key)
		}

		list, err := e.client.ListAPIKeysWithResponse(ctx, bearer(a.AccessToken))
		if err != nil || list.JSON200 == nil || len(*list.JSON200) != 1 || (*list.JSON200)[0].ID != key.ID {
			t.Fatalf("list = %v %s, want the one key", err, list.Body)
		}
		if strings.Contains(string(list.Body), key.APIKey) || strings.Contains(string(list.Body), `"api_key"`) {
			t.Error("the list shows the plaintext key")
		}

		// Both header styles, and both headers at once (Authorization wins).
		for name, h := range map[string]map[string]string{
			"X-API-Key":               {"X-API-Key": key.APIKey},
			"Authorization":           {"Authorization": "Bearer " + key.APIKey},
			"both":                    {"Authorization": "Bearer " + key.APIKey, "X-API-Key": key.APIKey},
			"both, header is garbage": {"Authorization": "Bearer " + key.APIKey, "X-API-Key": "garbage"},
			"JWT and a key":           {"Authorization": "Bearer " + a.AccessToken, "X-API-Key": key.APIKey},
		} {
			if status, accounts := e.accountsWith(h); status != http.StatusOK || accounts == nil || len(accounts) != 0 {
				t.Errorf("%s: status %d accounts %v, want 200 and an empty production project", name, status, accounts)
			}
		}
		if status, _ := e.accountsWith(map[string]string{"Authorization": "Bearer garbage", "X-API-Key": key.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("bad Authorization with a good X-API-Key: %d, want 401 (Authorization is the credential)", status)
		}

		newName := "Nightly Publisher"
		patched, err := e.client.UpdateAPIKeyWithResponse(ctx, key.ID, client.UpdateAPIKeyJSONRequestBody{Name: &newName}, bearer(a.AccessToken))
		if err != nil || patched.JSON200 == nil || patched.JSON200.Name != newName {
			t.Fatalf("rename = %v %s, want name %q", err, patched.Body, newName)
		}

		// last_used_at is written off the request path.
		e.flushUsage()
		list, _ = e.client.ListAPIKeysWithResponse(ctx, bearer(a.AccessToken))
		if lu := (*list.JSON200)[0].LastUsedAt; !lu.IsSpecified() || lu.IsNull() {
			t.Errorf("last_used_at after use = %v, want set", lu)
		}

		revoked, err := e.client.RevokeAPIKeyWithResponse(ctx, key.ID, bearer(a.AccessToken))
		if err != nil || revoked.JSON200 == nil || revoked.JSON200.RevokedAt.IsNull() || !revoked.JSON200.RevokedAt.IsSpecified() {
			t.Fatalf("revoke = %v %s, want revoked_at set", err, revoked.Body)
		}
		status, _, body := e.do("GET", "/v1/pinterest/accounts", "", map[string]string{"X-API-Key": key.APIKey})
		if code, msg := errorOf(t, body); status != http.StatusUnauthorized || code != "invalid_api_key" || msg != "Invalid API key" {
			t.Errorf("revoked key on the next request: %d %s %q, want 401 invalid_api_key", status, code, msg)
		}
		again, err := e.client.RevokeAPIKeyWithResponse(ctx, key.ID, bearer(a.AccessToken))
		if err != nil || again.JSON200 == nil || !again.JSON200.RevokedAt.MustGet().Equal(revoked.JSON200.RevokedAt.MustGet()) {
			t.Errorf("second revoke = %v %s, want 200 with the first revocation time", err, again.Body)
		}
		list, _ = e.client.ListAPIKeysWithResponse(ctx, bearer(a.AccessToken))
		if len(*list.JSON200) != 1 || (*list.JSON200)[0].RevokedAt.IsNull() {
			t.Errorf("list after revoke = %s, want the key with revoked_at", list.Body)
		}
	})
}

func (e *env) flushUsage() { e.stack.KeyUsage.Flush(context.Background()) }

func TestAPIKeyScopesAndSessionOnlyEndpoints(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("scopes@example.com", "a perfectly fine password")
		write := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "writer", Scopes: &client.APIKeyScopes{client.Write, client.Destructive}})
		read := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "reader", Scopes: &client.APIKeyScopes{client.Read}})

		status, _, body := e.do("GET", "/v1/pinterest/accounts", "", map[string]string{"X-API-Key": write.APIKey})
		if code, msg := errorOf(t, body); status != http.StatusForbidden || code != "insufficient_scope" || !strings.Contains(msg, "read") {
			t.Errorf("GET without read scope: %d %s %q, want 403 insufficient_scope naming read", status, code, msg)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": read.APIKey}); status != http.StatusOK {
			t.Errorf("GET with read scope: %d, want 200", status)
		}
		// API keys cannot manage keys, projects or the account, whatever their scopes.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v1/auth/me", ""},
			{"GET", "/v1/api-keys", ""},
			{"POST", "/v1/api-keys", `{"name":"escalate"}`},
			{"DELETE", "/v1/api-keys/" + read.ID.String(), ""},
			{"GET", "/v1/projects", ""},
			{"POST", "/v1/projects/sandbox", `{}`},
		} {
			for _, k := range []string{read.APIKey, write.APIKey} {
				status, _, body := e.do(c.method, c.path, c.body, map[string]string{"X-API-Key": k})
				if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "session_required" {
					t.Errorf("%s %s with a key: %d %s, want 403 session_required", c.method, c.path, status, code)
				}
			}
		}
		// The key survived the DELETE attempt made with a key.
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": read.APIKey}); status != http.StatusOK {
			t.Errorf("read key after a refused DELETE: %d, want 200", status)
		}
	})
}

func TestAPIKeyExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("expiry@example.com", "a perfectly fine password")
		at := e.clock.Now().Add(time.Hour)
		key := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "short-lived", ExpiresAt: &at})
		if !key.ExpiresAt.MustGet().Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("expires_at = %v, want %v", key.ExpiresAt, at)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": key.APIKey}); status != http.StatusOK {
			t.Fatalf("before expiry: %d, want 200", status)
		}
		e.clock.Advance(time.Hour + time.Second)
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": key.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("after expiry: %d, want 401", status)
		}
		past := e.clock.Now().Add(-time.Minute)
		status, _, body := e.do("POST", "/v1/api-keys", `{"name":"x","expires_at":"`+past.Format(time.RFC3339)+`"}`, map[string]string{"Authorization": "Bearer " + e.login("expiry@example.com")})
		if code, msg := errorOf(t, body); status != http.StatusUnprocessableEntity || code != "validation_error" || !strings.Contains(msg, "expires_at") {
			t.Errorf("expires_at in the past: %d %s %q, want 422 naming expires_at", status, code, msg)
		}
	})
}

func (e *env) login(email string) string {
	e.t.Helper()
	return e.loginWith(email, "a perfectly fine password")
}

func (e *env) loginWith(email, password string) string {
	e.t.Helper()
	resp, err := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: client.Email(email), Password: password})
	if err != nil || resp.JSON200 == nil {
		e.t.Fatalf("login %s: %v %s", email, err, resp.Body)
	}
	return resp.JSON200.AccessToken
}

// TestMalformedKeyRefusedWithoutQuery: a key with one character changed fails its checksum and is
// refused before any database query.
func TestMalformedKeyRefusedWithoutQuery(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, _ := eng.Open(t)
			queries := testdb.CountQueries(t, st)
			e := newEnv(t, st, testConfig(t), fastHash)
			a := e.register("flip@example.com", "a perfectly fine password")
			key := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "k"}).APIKey
			flipped := []byte(key)
			i := len("pb_live_") + 10
			if flipped[i] == 'A' {
				flipped[i] = 'B'
			} else {
				flipped[i] = 'A'
			}
			before := queries.Total() - queries.Count("email_outbox")
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": string(flipped)}); status != http.StatusUnauthorized {
				t.Fatalf("flipped key: %d, want 401", status)
			}
			if n := queries.Total() - queries.Count("email_outbox") - before; n != 0 {
				t.Errorf("flipped key cost %d queries, want 0", n)
			}
			// The control: the real key and the accounts it lists cost one query together.
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": key}); status != http.StatusOK {
				t.Fatalf("real key: %d", status)
			}
			if n := queries.Total() - queries.Count("email_outbox") - before; n != 1 {
				t.Errorf("listing accounts with an API key cost %d queries, want 1", n)
			}
		})
	}
}

// TestQueriesPerSessionRequest: authenticating a session and answering me costs one query.
func TestQueriesPerSessionRequest(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, _ := eng.Open(t)
			queries := testdb.CountQueries(t, st)
			e := newEnv(t, st, testConfig(t), fastHash)
			a := e.register("count@example.com", "a perfectly fine password")
			e.sandbox(a.AccessToken) // two projects: still one query
			before := queries.Total() - queries.Count("email_outbox")
			if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + a.AccessToken}); status != http.StatusOK {
				t.Fatalf("me: %d", status)
			}
			if n := queries.Total() - queries.Count("email_outbox") - before; n != 1 {
				t.Errorf("GET /v1/auth/me cost %d queries, want 1", n)
			}
		})
	}
}

func TestAPIKeyValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("keyval@example.com", "a perfectly fine password")
		auth := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		for _, c := range []struct{ body, field string }{
			{`{}`, "name"},
			{`{"name":"  "}`, "name"},
			{`{"name":"k","scopes":[]}`, "scopes"},
			{`{"name":"k","scopes":["admin"]}`, "0"},
			{`{"name":"k","scopes":["read","read"]}`, "scopes"},
			{`{"name":"k","pinterest_account_ids":["not-a-uuid"]}`, "0"},
			{`{"name":"k","pinterest_account_ids":["6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11"]}`, "pinterest_account_ids"},
		} {
			status, _, body := e.do("POST", "/v1/api-keys", c.body, auth)
			code, msg := errorOf(t, body)
			if status != http.StatusUnprocessableEntity || code != "validation_error" || !strings.Contains(msg, c.field) {
				t.Errorf("%s: %d %s %q, want 422 naming %s", c.body, status, code, msg, c.field)
			}
		}
		if status, _, _ := e.do("PATCH", "/v1/api-keys/6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11", `{}`, auth); status != http.StatusUnprocessableEntity {
			t.Errorf("empty PATCH: %d, want 422", status)
		}
		status, _, body := e.do("PATCH", "/v1/api-keys/6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11", `{"name":"x"}`, auth)
		if code, _ := errorOf(t, body); status != http.StatusNotFound || code != "not_found" {
			t.Errorf("PATCH unknown key: %d %s, want 404 not_found", status, code)
		}
		// Nothing was created by the refusals.
		list, _ := e.client.ListAPIKeysWithResponse(context.Background(), bearer(a.AccessToken))
		if len(*list.JSON200) != 0 {
			t.Errorf("keys after refused creations: %s", list.Body)
		}
	})
}

// TestNewAPIKeyIsAnnounced: creating a key mails its creator a short notice with the key's display
// prefix and project, never the key itself nor the name someone typed, so a key a thief made does not
// go unnoticed.
func TestNewAPIKeyIsAnnounced(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("announced@example.com", "a perfectly fine password")
		sb := e.sandbox(a.AccessToken)
		for _, c := range []struct {
			token, environment string
		}{
			{a.AccessToken, "production"},
			{e.switchTo(a.AccessToken, sb.ID.String()), "sandbox"},
		} {
			key := e.createKey(c.token, client.CreateAPIKeyJSONRequestBody{Name: "Visit https://evil.example now"})
			m := e.smtp.WaitFor(t, "announced@example.com", mailWait)
			if m.Subject != "A new API key was created for your PinBridge account" {
				t.Fatalf("mail after creating a key: %q, want the new-key notice", m.Subject)
			}
			for _, part := range []string{m.Text, m.HTML} {
				if !strings.Contains(part, *key.Prefix+"…") || !strings.Contains(part, "the "+c.environment+" project") {
					t.Errorf("notice does not name the key %s… of the %s project: %s", *key.Prefix, c.environment, part)
				}
				if strings.Contains(part, key.APIKey) || strings.Contains(part, "evil") {
					t.Errorf("notice carries the key or its typed name: %s", part)
				}
			}
		}
	})
}

// switchTo switches token's session to project and returns the new session's token.
func (e *env) switchTo(token, project string) string {
	e.t.Helper()
	r, err := e.client.SwitchProjectWithResponse(context.Background(), client.SwitchProjectJSONRequestBody{ProjectID: uuid.MustParse(project)}, bearer(token))
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("switch to %s: %v %s", project, err, r.Body)
	}
	return r.JSON200.AccessToken
}
