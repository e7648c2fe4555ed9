package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

// postgresApp opens, for a server under test, a store of its own on a fresh PostgreSQL schema with
// a pool of conns connections, tagged with an application_name so that the test can find its
// backends in pg_stat_activity. admin is another store on the same schema for the test's own
// statements (terminating backends, taking locks). PostgreSQL only: skipped without it.
func postgresApp(t *testing.T, conns int) (st, admin *store.Store, app string) {
	t.Helper()
	admin, u := testdb.Engines()[1].Open(t)
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	app = "pinbridge-test-" + hex.EncodeToString(buf)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("application_name", app)
	pu.RawQuery = q.Encode()
	return testdb.OpenURL(t, pu.String(), store.Options{MaxOpenConns: conns}), admin, app
}

// readers runs n goroutines sending GET target with the bearer token until stop, and records every
// answer. Each finished request is announced on progress with its reader and the epoch it started
// in (see next).
type readers struct {
	mu       sync.Mutex
	statuses map[int]int
	missing  int // 503s without Retry-After
	failed   []error
	progress chan [2]int
	epoch    atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	n        int
}

func startReaders(n int, target, token string) *readers {
	r := &readers{statuses: map[int]int{}, progress: make(chan [2]int, 1<<16), stop: make(chan struct{}), n: n}
	for i := range n {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				select {
				case <-r.stop:
					return
				default:
				}
				epoch := int(r.epoch.Load())
				req, _ := http.NewRequest("GET", target, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				r.mu.Lock()
				if err != nil {
					r.failed = append(r.failed, err)
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					r.statuses[resp.StatusCode]++
					if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
						r.missing++
					}
				}
				r.mu.Unlock()
				r.progress <- [2]int{i, epoch}
			}
		}()
	}
	return r
}

// next starts a new epoch and returns once every reader has finished k requests that started in it.
func (r *readers) next(k int) {
	epoch := int(r.epoch.Add(1))
	left := make([]int, r.n)
	for i := range left {
		left[i] = k
	}
	pending := r.n
	for pending > 0 {
		p := <-r.progress
		if i := p[0]; p[1] == epoch && left[i] > 0 {
			if left[i]--; left[i] == 0 {
				pending--
			}
		}
	}
}

// finish stops the readers and returns what they saw.
func (r *readers) finish() (map[int]int, int, []error) {
	close(r.stop)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	for {
		select {
		case <-r.progress:
		case <-done:
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.statuses, r.missing, r.failed
		}
	}
}

// terminate ends every backend of app, as pg_terminate_backend does in a failover drill: each
// connection of the pool learns it on its next use (57P01).
func terminate(t *testing.T, admin *store.Store, app string) int {
	t.Helper()
	var n int
	err := admin.DB().Raw("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?", app).Scan(&n).Error
	if err != nil {
		t.Fatalf("terminate backends: %v", err)
	}
	return n
}

// TestReadsSurviveTerminatedBackends terminates every connection of the server's pool, five times,
// under 8 concurrent readers on a pool of 4. The database stays up, so each read that finds its
// connection dead is retried on a fresh one and every answer is 200: never 500, and not even 503.
func TestReadsSurviveTerminatedBackends(t *testing.T) {
	st, admin, app := postgresApp(t, 4)
	e := newEnv(t, st, testConfig(t), fastHash)
	token := e.register("reader@example.com", "a perfectly fine password").AccessToken

	r := startReaders(8, e.url+"/v1/auth/me", token)
	r.next(2)
	killed := 0
	for range 5 {
		killed += terminate(t, admin, app)
		// Every reader has come through the terminated connections (a pool of 4 under 8 readers
		// is never idle) and finished two requests begun after the termination.
		r.next(2)
	}
	statuses, _, failed := r.finish()
	if killed == 0 {
		t.Fatal("no backend of the server was terminated: the test proves nothing")
	}
	if len(failed) > 0 {
		t.Errorf("%d requests failed without an answer, first: %v", len(failed), failed[0])
	}
	for status, n := range statuses {
		if status != http.StatusOK {
			t.Errorf("%d answers with status %d; want only 200 (a read that lost its connection is retried on a fresh one)", n, status)
		}
	}
	t.Logf("%d backends terminated; answers by status: %v", killed, statuses)
	if t.Failed() {
		logFailures(t, e)
	}
}

// logFailures shows the causes the server logged for the requests it failed.
func logFailures(t *testing.T, e *env) {
	t.Helper()
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request failed"`) {
			t.Log(line)
		}
	}
}

// TestLockedTableAnswers503AtTheDeadline locks the users table, as a long migration or a stuck
// transaction would, and reads the account: the request answers 503 unavailable with Retry-After at
// its deadline (PINBRIDGE_REQUEST_TIMEOUT), the query is cancelled on the server (its backend no
// longer waits for the lock, and its connection survives), and the access log records the 503.
func TestLockedTableAnswers503AtTheDeadline(t *testing.T) {
	st, admin, app := postgresApp(t, 4)
	cfg := testConfig(t)
	cfg.HTTP.RequestTimeout = time.Second
	e := newEnv(t, st, cfg, fastHash)
	token := e.register("locked@example.com", "a perfectly fine password").AccessToken

	lock := admin.DB().Begin()
	if err := lock.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE").Error; err != nil {
		t.Fatalf("lock users: %v", err)
	}
	defer lock.Rollback()

	req, _ := http.NewRequest("GET", e.url+"/v1/auth/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Request-ID", "locked-table-read")
	start := time.Now()
	resp, err := (&http.Client{Timeout: cfg.HTTP.RequestTimeout + 10*time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET /v1/auth/me with users locked: %v (no answer within the deadline and 10s more)", err)
	}
	elapsed := time.Since(start)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), `"unavailable"`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("GET /v1/auth/me with users locked = %d %s (Retry-After %q), want 503 unavailable with Retry-After",
			resp.StatusCode, raw, resp.Header.Get("Retry-After"))
	}
	// Not a timed assertion of speed: the bound is the promise (the deadline), with a margin.
	if limit := cfg.HTTP.RequestTimeout + 2*time.Second; elapsed > limit {
		t.Errorf("answered after %v, want within the %v deadline (+2s margin)", elapsed, cfg.HTTP.RequestTimeout)
	}

	// Still under the lock: had the driver merely closed its socket, the backend would still be
	// waiting for the lock (PostgreSQL does not notice a closed socket while it waits).
	// The cancel request travels on a connection of its own, so the backend may take a moment to
	// stop waiting; poll its state (another process's) for a bounded time. Other queries of the
	// server (the mail sender polls the outbox) may be active meanwhile: what must not remain is a
	// backend waiting for the lock.
	type backend struct {
		State         string
		WaitEventType *string
	}
	var backends []backend
	waiting := func() []backend {
		backends = nil
		if err := admin.DB().Raw("SELECT state, wait_event_type FROM pg_stat_activity WHERE application_name = ?", app).Scan(&backends).Error; err != nil {
			t.Fatal(err)
		}
		var out []backend
		for _, b := range backends {
			if b.WaitEventType != nil && *b.WaitEventType == "Lock" {
				out = append(out, b)
			}
		}
		return out
	}
	stuck := waiting()
	for deadline := time.Now().Add(3 * time.Second); len(stuck) > 0 && time.Now().Before(deadline); stuck = waiting() {
		time.Sleep(50 * time.Millisecond) // polling another process's state, not synchronising this test's goroutines
	}
	if len(backends) == 0 {
		t.Error("the server has no connection left: the query was abandoned by closing it, not cancelled")
	}
	if len(stuck) > 0 {
		t.Errorf("%d backends of the server still wait for the lock, want none: the query was not cancelled", len(stuck))
	}

	var logged map[string]any
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, "locked-table-read") {
			_ = json.Unmarshal([]byte(line), &logged)
		}
	}
	if logged == nil || logged["status"] != float64(http.StatusServiceUnavailable) || logged["error_code"] != "unavailable" {
		t.Errorf("access log for the request = %v, want status 503 and error_code unavailable", logged)
	}
}
