package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/logline"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testserver"
)

// BenchmarkAuthenticatedReads serves the hottest reads in process (no network between client and
// server; the database is real): GET /v1/auth/me with a session JWT, GET /v1/pinterest/accounts
// with an API key, and a page of 50 entries of GET /v1/activity-logs. Allocations per request are the stable number to watch
// on a shared machine; `make bench` measures throughput and latency over the network.
func BenchmarkAuthenticatedReads(b *testing.B) {
	for _, eng := range testdb.Engines() {
		b.Run(eng.Name, func(b *testing.B) {
			st, _ := eng.Open(b)
			e := newEnv(b, st, testConfig(b), fastHash)
			a := e.register("bench@example.com", "a perfectly fine password")
			sandbox := e.sandbox(a.AccessToken)
			sw, err := e.client.SwitchProjectWithResponse(context.Background(), client.SwitchProjectJSONRequestBody{ProjectID: sandbox.ID}, bearer(a.AccessToken))
			if err != nil || sw.JSON200 == nil {
				b.Fatalf("switch: %v", err)
			}
			key := e.createKey(sw.JSON200.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "bench"}).APIKey
			// The user belongs to 3 organizations, as in make bench: their own and two that invited them.
			for _, owner := range []string{"team1@example.com", "team2@example.com"} {
				o := e.register(owner, "a perfectly fine password")
				_, link := e.invite(o.AccessToken, "bench@example.com", "editor")
				if status, _ := e.accept(a.AccessToken, link); status != 200 {
					b.Fatalf("accept: %d", status)
				}
			}
			seedActivity(b, st, a.Organization.ID.String(), 2000, e.clock.Now())
			// A server of its own, logging as production does (JSON at info), to nowhere.
			stack := testserver.New(b, e.cfg, st, testserver.Options{
				Logger:         slog.New(logline.New(io.Discard, true, &slog.HandlerOptions{Level: slog.LevelInfo})),
				PasswordParams: fastHash,
			})
			handler := stack.Server.Handler()
			for _, c := range []struct{ name, path, header, value string }{
				{"me", "/v1/auth/me", "Authorization", "Bearer " + a.AccessToken},
				{"accounts_by_key", "/v1/pinterest/accounts", "X-API-Key", key},
				{"activity_page", "/v1/activity-logs?limit=50", "Authorization", "Bearer " + a.AccessToken},
			} {
				b.Run(c.name, func(b *testing.B) {
					req := httptest.NewRequest(http.MethodGet, c.path, nil)
					req.Header.Set(c.header, c.value)
					req.RemoteAddr = "127.0.0.1:40000"
					b.ReportAllocs()
					for b.Loop() {
						rec := httptest.NewRecorder()
						handler.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body)
						}
					}
				})
			}
		})
	}
}

// BenchmarkSharedMiddleware is the fixed cost every request pays: GET /healthz through the whole
// service (request id, access log, deadline, recovery, security headers, body limit, spec
// validation, metrics) next to a bare Echo handler answering a small JSON object. make bench
// measures the same pair over the network.
func BenchmarkSharedMiddleware(b *testing.B) {
	st, _ := testdb.Engines()[0].Open(b)
	stack := testserver.New(b, testConfig(b), st, testserver.Options{
		Logger:         slog.New(logline.New(io.Discard, true, &slog.HandlerOptions{Level: slog.LevelInfo})),
		PasswordParams: fastHash,
	})
	bare := echo.New()
	bare.GET("/hello", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	for _, c := range []struct {
		name, path string
		handler    http.Handler
	}{{"healthz", "/healthz", stack.Server.Handler()}, {"bare_echo", "/hello", bare}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body)
				}
			}
		})
	}
}
