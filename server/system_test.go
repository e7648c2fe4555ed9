package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

func TestSystemEndpoints(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		root, err := e.client.GetServiceInfoWithResponse(ctx)
		if err != nil || root.JSON200 == nil || root.JSON200.Docs != "/docs" || root.JSON200.Service != "pinbridge-auth" {
			t.Errorf("GET / = %v %s, want service pinbridge-auth and docs /docs", err, root.Body)
		}
		health, err := e.client.GetHealthWithResponse(ctx)
		if err != nil || health.JSON200 == nil || health.JSON200.Status != "ok" || health.JSON200.Checks["server"] != "ok" || health.JSON200.Environment != "test" {
			t.Errorf("GET /healthz = %v %s, want ok with string checks", err, health.Body)
		}
		ready, err := e.client.GetReadinessWithResponse(ctx)
		if err != nil || ready.JSON200 == nil || ready.JSON200.Database != "ok" {
			t.Errorf("GET /readyz = %v %s, want 200 database ok", err, ready.Body)
		}
	})
}

func TestReadinessWhenDatabaseIsDown(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, _ := eng.Open(t)
			e := newEnv(t, st, testConfig(t), fastHash)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			ready, err := e.client.GetReadinessWithResponse(t.Context())
			if err != nil || ready.StatusCode() != http.StatusServiceUnavailable || ready.JSON503 == nil || ready.JSON503.Database != "unreachable" {
				t.Fatalf("GET /readyz with the database closed = %v %d %s, want 503 database unreachable", err, ready.StatusCode(), ready.Body)
			}
			if ready.HTTPResponse.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			// Liveness does not depend on the database.
			if h, err := e.client.GetHealthWithResponse(t.Context()); err != nil || h.StatusCode() != http.StatusOK {
				t.Errorf("GET /healthz with the database closed = %v %d, want 200", err, h.StatusCode())
			}
			// A request that needs the database gets 503 in the error shape, not a 500.
			status, hdr, body := e.do("POST", "/v1/auth/login", `{"email":"a@example.com","password":"whatever-password"}`, nil)
			if code, _ := errorOf(t, body); status != http.StatusServiceUnavailable || code != "unavailable" || hdr.Get("Retry-After") == "" {
				t.Errorf("login with the database closed: %d %s (Retry-After %q), want 503 unavailable with Retry-After", status, code, hdr.Get("Retry-After"))
			}
		})
	}
}

func TestRequestIDAndErrorShapes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, hdr, _ := e.do("GET", "/healthz", "", map[string]string{"X-Request-ID": "caller-id-123"})
		if got := hdr.Get("X-Request-ID"); got != "caller-id-123" {
			t.Errorf("X-Request-ID = %q, want the caller's value echoed", got)
		}
		for _, id := range []string{"abc def", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "dGVzdCBpZA+/==", strings.Repeat("x", 128)} {
			_, hdr, _ = e.do("GET", "/healthz", "", map[string]string{"X-Request-ID": id})
			if got := hdr.Get("X-Request-ID"); got != id {
				t.Errorf("X-Request-ID = %q, want the caller's %q echoed", got, id)
			}
		}
		for _, id := range []string{"bad id <script>", `say "hi"`, "a&b", "caf\u00e9", strings.Repeat("x", 129)} {
			_, hdr, _ = e.do("GET", "/healthz", "", map[string]string{"X-Request-ID": id})
			if got := hdr.Get("X-Request-ID"); got == "" || got == id {
				t.Errorf("X-Request-ID = %q for %q, want a fresh id instead", got, id)
			}
		}
		cases := []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/nope", 404, "not_found"},
			{"GET", "/v1/auth/register/", 404, "not_found"},
			{"DELETE", "/healthz", 405, "method_not_allowed"},
		}
		for _, c := range cases {
			body := ""
			if c.method == "POST" {
				body = `{"email":"a@example.com"}`
			}
			status, hdr, out := e.do(c.method, c.path, body, nil)
			if code, msg := errorOf(t, out); status != c.status || code != c.code || msg == "" {
				t.Errorf("%s %s: got %d %s %q, want %d %s with a message", c.method, c.path, status, code, msg, c.status, c.code)
			}
			if hdr.Get("Location") != "" {
				t.Errorf("%s %s redirected to %s; the API never redirects", c.method, c.path, hdr.Get("Location"))
			}
			// Answers without a route still went through the shared middleware.
			if hdr.Get("X-Request-ID") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: X-Request-ID %q, X-Content-Type-Options %q; want an id and nosniff", c.method, c.path,
					hdr.Get("X-Request-ID"), hdr.Get("X-Content-Type-Options"))
			}
		}
	})
}

func TestServedSpecAndMetrics(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	e := newEnv(t, st, testConfig(t), fastHash)
	e.register("metrics@example.com", "a perfectly fine password")
	e.do("GET", "/v1/auth/me", "", nil) // a 401 to count

	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/openapi.json")
	var spec map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &spec) != nil || spec["openapi"] != "3.0.3" {
		t.Fatalf("/openapi.json: %d %.80s", resp.StatusCode, body)
	}
	if _, has := spec["servers"]; has {
		t.Error("served spec lists servers; it should leave tools on the origin they loaded it from")
	}
	if !strings.Contains(body, `"operationId":"getHealth"`) {
		t.Error("served spec changed the operationIds of openapi.yaml")
	}
	resp, body = get("/openapi.yaml")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "openapi: 3.0.3") {
		t.Errorf("/openapi.yaml: %d %.80s", resp.StatusCode, body)
	}
	resp, body = get("/docs")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "swagger-ui-bundle.js") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("/docs: %d", resp.StatusCode)
	}
	if resp, _ := get("/docs/swagger-ui/swagger-ui-bundle.js"); resp.StatusCode != http.StatusOK {
		t.Errorf("swagger-ui bundle: %d", resp.StatusCode)
	}
	// Made-up methods are counted under one label: they cannot make series without end.
	for _, method := range []string{"FOO", "BREW", "PROPFIND"} {
		req, _ := http.NewRequest(method, e.url+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	resp, body = get("/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, method := range []string{"FOO", "BREW", "PROPFIND"} {
		if strings.Contains(body, `method="`+method+`"`) {
			t.Errorf("/metrics has a series for the made-up method %s", method)
		}
	}
	if !strings.Contains(body, `method="other",route="/healthz"`) {
		t.Error(`/metrics lacks the made-up methods' series, method="other"`)
	}
	for _, want := range []string{
		`pinbridge_http_requests_total{method="POST",route="/v1/auth/register",status="201"} 1`,
		`pinbridge_auth_failures_total{reason="missing_access_token"} 1`,
		`pinbridge_password_hash_queue 0`,
		`pinbridge_mail_outbox_backlog`,
		`pinbridge_http_request_duration_seconds_bucket{method="POST",route="/v1/auth/register"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
