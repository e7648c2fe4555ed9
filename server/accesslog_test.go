package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/logline"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testserver"
)

// TestAccessLogWrittenAsTheLogger: through the process's handler (internal/logline), the access log
// line carries the request's fields, in JSON or text as configured, once; a Logger above INFO
// silences it.
func TestAccessLogWrittenAsTheLogger(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	for _, c := range []struct {
		name  string
		level slog.Level
		json  bool
	}{{"json", slog.LevelInfo, true}, {"text", slog.LevelInfo, false}, {"above info", slog.LevelWarn, true}} {
		t.Run(c.name, func(t *testing.T) {
			var access bytes.Buffer
			stack := testserver.New(t, testConfig(t), st, testserver.Options{
				Logger:         slog.New(logline.New(&access, c.json, &slog.HandlerOptions{Level: c.level})),
				PasswordParams: fastHash,
			})
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			req.Header.Set("X-Request-ID", "access-line-test")
			req.RemoteAddr = "192.0.2.7:40000"
			rec := httptest.NewRecorder()
			stack.Server.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /healthz = %d", rec.Code)
			}
			line := access.String()
			if c.level > slog.LevelInfo {
				if line != "" {
					t.Errorf("access line written with the Logger at %v: %s", c.level, line)
				}
				return
			}
			if strings.Count(line, "\n") != 1 {
				t.Fatalf("access log = %q, want one line", line)
			}
			if !c.json {
				for _, field := range []string{"level=INFO msg=request request_id=access-line-test method=GET route=/healthz status=200 duration_ms=", " client_ip=192.0.2.7\n"} {
					if !strings.Contains(line, field) {
						t.Errorf("access line %q lacks %q", line, field)
					}
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("access line %q: %v", line, err)
			}
			want := map[string]any{"level": "INFO", "msg": "request", "request_id": "access-line-test", "method": "GET",
				"route": "/healthz", "status": float64(200), "bytes_out": float64(rec.Body.Len()), "client_ip": "192.0.2.7"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, line)
				}
			}
		})
	}
}

// TestAccessLogNamesTheCaller: the line of an authenticated request names the session's user and
// organization, and an API key's organization.
func TestAccessLogNamesTheCaller(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	e := newEnv(t, st, testConfig(t), fastHash)
	a := e.register("logged@example.com", "a perfectly fine password")
	line := func(route string) map[string]any {
		t.Helper()
		var found map[string]any
		for _, l := range strings.Split(e.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["route"] == route {
				found = m
			}
		}
		if found == nil {
			t.Fatalf("no access line for %s", route)
		}
		return found
	}
	if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + a.AccessToken}); status != http.StatusOK {
		t.Fatalf("GET /v1/auth/me = %d", status)
	}
	me := line("/v1/auth/me")
	if me["user_id"] != a.User.ID.String() || me["organization_id"] != a.Organization.ID.String() {
		t.Errorf("access line of me = %v, want user %s and organization %s", me, a.User.ID, a.Organization.ID)
	}
	key := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "logged"}).APIKey
	req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/pinterest/accounts", nil)
	req.Header.Set("X-API-Key", key)
	resp, err := e.http.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/pinterest/accounts = %v %v", resp, err)
	}
	resp.Body.Close()
	accounts := line("/v1/pinterest/accounts")
	if _, has := accounts["user_id"]; has || accounts["organization_id"] != a.Organization.ID.String() {
		t.Errorf("access line of the key's read = %v, want organization %s and no user", accounts, a.Organization.ID)
	}
}
