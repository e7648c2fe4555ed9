package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testserver"
)

// TestStaticRoutes: under /assets and /docs the embedded files are served as they are, with their
// content type and cache lifetime, and every other path (directories, dot segments, encoded
// slashes, bytes that are not UTF-8) answers 404 in the contract's error shape, never a redirect
// and never a plain-text error.
func TestStaticRoutes(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t) // no database involved: the files are in the binary
	e := newEnv(t, st, testConfig(t), fastHash)
	hc := &http.Client{
		Transport:     e.http.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(t *testing.T, path string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
		if err != nil {
			t.Fatalf("request %q: %v", path, err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: read body: %v", path, err)
		}
		return resp, body
	}

	files := []struct {
		path, file, contentType, cacheControl string
	}{
		{"/assets/app.js", "web/assets/app.js", "text/javascript; charset=utf-8", "public, max-age=300"},
		{"/assets/style.css", "web/assets/style.css", "text/css; charset=utf-8", "public, max-age=300"},
		{"/docs/init.js", "docs/init.js", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/docs/swagger-ui/swagger-ui.css", "docs/swagger-ui/swagger-ui.css", "text/css; charset=utf-8", "public, max-age=3600"},
		{"/docs/swagger-ui/swagger-ui-bundle.js", "docs/swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/docs/swagger-ui/favicon-32x32.png", "docs/swagger-ui/favicon-32x32.png", "image/png", "public, max-age=3600"},
		{"/docs/swagger-ui/LICENSE", "docs/swagger-ui/LICENSE", "text/plain; charset=utf-8", "public, max-age=3600"},
	}
	for _, f := range files {
		t.Run("serves "+f.path, func(t *testing.T) {
			want, err := os.ReadFile(f.file)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := get(t, f.path)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
				t.Fatalf("got %d with %d bytes, want 200 with the %d bytes of %s", resp.StatusCode, len(body), len(want), f.file)
			}
			if got := resp.Header.Get("Content-Type"); got != f.contentType {
				t.Errorf("Content-Type = %q, want %q", got, f.contentType)
			}
			if resp.ContentLength != int64(len(want)) {
				t.Errorf("Content-Length = %d, want %d", resp.ContentLength, len(want))
			}
			if got := resp.Header.Get("Cache-Control"); got != f.cacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, f.cacheControl)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}

	for _, path := range []string{
		// Bytes that are not UTF-8 once decoded.
		"/assets/%ff", "/assets/%ff%fe", "/docs/swagger-ui/%ff%fe", "/docs/%ff",
		// Directories and index files.
		"/assets", "/assets/", "/assets/.", "/assets/./", "/assets/index.html", "/docs/", "/docs/.",
		"/docs/index.html", "/docs/swagger-ui", "/docs/swagger-ui/", "/docs/swagger-ui/.", "/docs/swagger-ui/index.html",
		// Dot segments, plain and encoded, including ones that would land on a real file.
		"/assets/./app.js", "/assets/..", "/assets/../assets/app.js", "/assets/%2e%2e/layout.html",
		"/docs/./init.js", "/docs/swagger-ui/../init.js", "/docs/swagger-ui/..", "/docs/%2e%2e/docs.go",
		// Encoded slashes and backslashes.
		"/assets%2Fapp.js", "/assets/app.js%2F", "/assets/..%2Fpages%2Freset-password.html", "/assets/%2fapp.js",
		"/docs/swagger-ui%2Fswagger-ui.css", "/docs/swagger-ui/..%2f..%2fdocs.go", "/docs/swagger-ui/%2Fswagger-ui.css",
		"/assets/%5capp.js", "/docs/swagger-ui/..%5cinit.js",
		// Empty segments, trailing slashes, unknown names.
		"/assets//app.js", "/assets/app.js/", "/docs//init.js", "/docs/init.js/", "/docs/swagger-ui//swagger-ui.css",
		"/assets/nope.js", "/docs/nope", "/docs/swagger-ui/nope.js",
	} {
		t.Run("404 "+path, func(t *testing.T) {
			resp, body := get(t, path)
			if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode != http.StatusNotFound {
				t.Fatalf("got %d (Location %q), body %.200q; want 404 and no redirect", resp.StatusCode, loc, body)
			}
			var out struct {
				Detail struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"detail"`
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" || json.Unmarshal(body, &out) != nil ||
				out.Detail.Code != "not_found" || out.Detail.Message == "" {
				t.Errorf("got Content-Type %q, body %.200q; want application/json {\"detail\": {\"code\": \"not_found\", \"message\": ...}}", ct, body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store on an error", cc)
			}
		})
	}
}

// TestStaticFilesAllocateLittle: serving an embedded file copies it from the binary through a
// pooled buffer; a request for a 2 KB stylesheet allocates a few KB, not a 32 KiB copy buffer.
func TestStaticFilesAllocateLittle(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	stack := testserver.New(t, testConfig(t), st, testserver.Options{PasswordParams: fastHash})
	handler := stack.Server.Handler()
	serve := func() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/style.css", nil))
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Fatalf("GET /assets/style.css = %d, %d bytes", rec.Code, rec.Body.Len())
		}
	}
	serve() // the pool's buffer is made here
	const n = 500
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		serve()
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / n
	// A fresh copy buffer is 32 KiB per request; with the pool, about 10 KB in all (20-23 KB under
	// -race, where sync.Pool drops a quarter of what it is given).
	if per > 32<<10 {
		t.Errorf("a request for a 2 KB file allocated %d bytes", per)
	}
	t.Logf("%d bytes allocated per request", per)
}
