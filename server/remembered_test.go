package server_test

import (
	"net/http"
	"testing"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestMeFollowsChangesMadeElsewhere: what one instance remembers for `me` never outlives a change
// made through another instance (its own store, its own memory, the same database): the very next
// `me` on the first shows it.
func TestMeFollowsChangesMadeElsewhere(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, dbURL := eng.Open(t)
			other := testdb.OpenURL(t, dbURL, store.Options{})
			cfg := testConfig(t)
			a := newEnv(t, st, cfg, fastHash)
			b := newEnvWithSMTP(t, other, cfg, fastHash, a.smtp)
			owner := a.register("elsewhere@example.com", "a perfectly fine password")
			auth := map[string]string{"Authorization": "Bearer " + owner.AccessToken}
			me := func() map[string]any {
				t.Helper()
				status, _, body := a.do("GET", "/v1/auth/me", "", auth)
				if status != http.StatusOK {
					t.Fatalf("me: %d %v", status, body)
				}
				return body
			}
			me()
			me() // remembered on a

			if status, _, body := b.do("PUT", "/v1/auth/profile", `{"workspace_name":"Renamed elsewhere"}`, auth); status != http.StatusOK {
				t.Fatalf("rename on b: %d %v", status, body)
			}
			if got := me()["projects"].([]any)[0].(map[string]any)["name"]; got != "Renamed elsewhere" {
				t.Errorf("me on a after the workspace was renamed on b: production project named %v", got)
			}
			if status, _, body := b.do("POST", "/v1/projects/sandbox", `{}`, auth); status != http.StatusOK && status != http.StatusCreated {
				t.Fatalf("sandbox on b: %d %v", status, body)
			}
			if got := me()["projects"].([]any); len(got) != 2 {
				t.Errorf("me on a after a sandbox made on b: %d projects, want 2", len(got))
			}
			// A password changed on b ends the other sessions: refused on a at once.
			fresh := a.login("elsewhere@example.com")
			if status, _, body := b.do("POST", "/v1/auth/change-password",
				`{"current_password":"a perfectly fine password","new_password":"another perfectly fine password"}`,
				map[string]string{"Authorization": "Bearer " + fresh}); status != http.StatusOK {
				t.Fatalf("change password on b: %d %v", status, body)
			}
			if status, _, _ := a.do("GET", "/v1/auth/me", "", auth); status != http.StatusUnauthorized {
				t.Errorf("me on a with a session the password change on b ended: %d, want 401", status)
			}
		})
	}
}
