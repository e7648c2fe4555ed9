package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

// TestBrowserPages drives the account pages in headless Chromium (scripts/js/pages.test.mjs)
// against a real server, SMTP server and database, on each engine. It needs node, Chromium and
// scripts/js/node_modules; PINBRIDGE_BROWSER_TESTS=1 (set by make test when they are there, and
// always by CI) turns it on.
func TestBrowserPages(t *testing.T) {
	if os.Getenv("PINBRIDGE_BROWSER_TESTS") != "1" {
		t.Skip("browser tests off: set PINBRIDGE_BROWSER_TESTS=1 (needs node, chromium, scripts/js/node_modules)")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "scripts", "js")
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, _ := eng.Open(t)
			e := newEnv(t, st, testConfig(t), fastHash)
			e.clock.Follow() // pages run in real time: tokens expire by the wall clock

			inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m, ok := e.smtp.Next(r.URL.Query().Get("to"), 15*time.Second)
				if !ok {
					http.Error(w, "no email", http.StatusNotFound)
					return
				}
				_ = json.NewEncoder(w).Encode(map[string]string{"subject": m.Subject, "link": m.Link(), "text": m.Text})
			}))
			defer inbox.Close()

			shots := os.Getenv("PINBRIDGE_SCREENSHOTS")
			if shots != "" {
				shots = filepath.Join(shots, eng.Name)
				_ = os.MkdirAll(shots, 0o755)
			}
			cmd := exec.Command("node", "--test", "--test-concurrency=1", "pages.test.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "BASE_URL="+e.url, "INBOX_URL="+inbox.URL, "SHOTS_DIR="+shots)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("browser tests failed: %v\n%s", err, out)
			}
			t.Logf("browser tests passed:\n%s", out)
		})
	}
}

// jsDir is scripts/js, where the node tools live.
func jsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "scripts", "js")
}
