package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testserver"
	"github.com/pinbridge/pinbridge-auth/server"
)

// TestAccessLogWrittenAsTheLogger: with AccessLog set, the access log line reaches its writer (not
// the Logger's) with the request's fields, in JSON or text as configured; a Logger above INFO
// silences it as it silences its own lines.
func TestAccessLogWrittenAsTheLogger(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	for _, c := range []struct {
		name  string
		level slog.Level
		json  bool
	}{{"json", slog.LevelInfo, true}, {"text", slog.LevelInfo, false}, {"above info", slog.LevelWarn, true}} {
		t.Run(c.name, func(t *testing.T) {
			var own, access bytes.Buffer
			stack := testserver.New(t, testConfig(t), st, testserver.Options{
				Logger:         slog.New(slog.NewJSONHandler(&own, &slog.HandlerOptions{Level: c.level})),
				AccessLog:      &server.AccessLog{Out: &access, JSON: c.json},
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
			if strings.Contains(own.String(), "access-line-test") {
				t.Errorf("the Logger wrote the access line too: %s", own.String())
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
