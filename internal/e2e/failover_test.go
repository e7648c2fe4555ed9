package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// cluster is a throwaway PostgreSQL of the test's own (scripts/pg.sh), which the test stops (a fast
// shutdown, as a restart or a failover does) and starts again.
type cluster struct {
	t         *testing.T
	script    string
	dir, port string
	url       string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	c := &cluster{t: t, script: filepath.Join(filepath.Dir(file), "..", "..", "scripts", "pg.sh")}
	if exec.Command("bash", c.script, "available").Run() != nil {
		if os.Getenv("PINBRIDGE_REQUIRE_POSTGRES") == "1" {
			t.Fatal("this test stops and starts a PostgreSQL of its own, and the server binaries are not installed")
		}
		t.Skip("PostgreSQL's server binaries are not installed (apt-get install postgresql): this test needs a cluster of its own to stop")
	}
	// Not t.TempDir: as root, pg.sh runs PostgreSQL as another user, who must reach the directory.
	dir, err := os.MkdirTemp("", "pinbridge-failover-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		_ = exec.Command("bash", c.script, "stop", c.dir).Run()
		_ = os.RemoveAll(c.dir)
	})
	var lastErr error
	for range 5 { // another test's PostgreSQL may take a free port before this one binds it
		c.port = fmt.Sprint(freePort(t))
		if lastErr = c.start(); lastErr == nil {
			return c
		}
	}
	t.Fatalf("start PostgreSQL: %v", lastErr)
	return nil
}

func (c *cluster) start() error {
	out, err := exec.Command("bash", c.script, "start", c.dir, c.port).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return fmt.Errorf("%v: %s", err, stderr)
	}
	c.url = strings.TrimSpace(string(out))
	return nil
}

// stop shuts PostgreSQL down in fast mode and returns once it is down: every backend is told 57P01
// (terminating connection due to administrator command) and new connections are refused.
func (c *cluster) stop() {
	c.t.Helper()
	if out, err := exec.Command("bash", c.script, "stop", c.dir).CombinedOutput(); err != nil {
		c.t.Fatalf("stop PostgreSQL: %v %s", err, out)
	}
}

// readers sends GET path with a bearer token from n goroutines until finish, recording every answer.
// Each finished request is announced with its reader and the epoch it began in (see next).
type readers struct {
	mu       sync.Mutex
	statuses map[int]int
	noRetry  int // 503s without Retry-After
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
						r.noRetry++
					}
				}
				r.mu.Unlock()
				r.progress <- [2]int{i, epoch}
			}
		}()
	}
	return r
}

// next starts a new epoch and returns once every reader has finished k requests begun in it.
func (r *readers) next(k int) {
	epoch := int(r.epoch.Add(1))
	left := make([]int, r.n)
	for i := range left {
		left[i] = k
	}
	for pending := r.n; pending > 0; {
		p := <-r.progress
		if i := p[0]; p[1] == epoch && left[i] > 0 {
			if left[i]--; left[i] == 0 {
				pending--
			}
		}
	}
}

func (r *readers) finish() {
	close(r.stop)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	for {
		select {
		case <-r.progress:
		case <-done:
			return
		}
	}
}

// halt stops the process with SIGTERM and waits until it has exited and its output is all in logs.
func (in *instance) halt() {
	if in.cmd.ProcessState == nil {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		_ = in.cmd.Wait()
	}
}

// readiness returns /readyz's status code and its database field.
func (in *instance) readiness() (int, string) {
	in.t.Helper()
	status, body := in.call("GET", "/readyz", "")
	db, _ := body["database"].(string)
	return status, db
}

// TestFailover runs the real binary over a PostgreSQL of its own, with a pool of 4 connections:
//   - a locked table saturates the pool: /readyz says 200 "saturated", not "unreachable";
//   - a fast shutdown under 8 concurrent readers: every answer is 200 or 503 with Retry-After, never
//     500, and /readyz says 503 "unreachable";
//   - PostgreSQL back: the same process serves again, without a restart.
func TestFailover(t *testing.T) {
	requireE2E(t)
	pg := startCluster(t)
	app := "pinbridge-failover"
	smtp := testsmtp.Start(t)
	in := start(t, pg.url+"&application_name="+app, smtp.URL,
		"PINBRIDGE_DB_MAX_OPEN_CONNS=4", "PINBRIDGE_REQUEST_TIMEOUT=10s", "PINBRIDGE_RATE_LIMIT_SCALE=1000")
	status, reg := in.call("POST", "/v1/auth/register", `{"full_name":"Fail","email":"failover@example.com","password":"a perfectly fine password"}`)
	if status != http.StatusCreated {
		t.Fatalf("register: %d %v", status, reg)
	}
	token := reg["access_token"].(string)

	// Saturation: users locked, four reads of it hold the four pooled connections.
	parsed, err := config.ParseDatabaseURL(pg.url)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := store.Open(context.Background(), parsed, store.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	lock := admin.DB().Begin()
	if err := lock.Exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	blocked := make(chan int, 4)
	for range 4 {
		go func() {
			s, _ := in.call("GET", "/v1/auth/me", "", "Authorization", "Bearer "+token)
			blocked <- s
		}()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var waiting int
		err := admin.DB().Raw("SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND wait_event_type = 'Lock'", app).Scan(&waiting).Error
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 4 reads wait for the lock after 15s", waiting)
		}
		time.Sleep(20 * time.Millisecond) // observing another process
	}
	if s, db := in.readiness(); s != http.StatusOK || db != "saturated" {
		t.Errorf("GET /readyz with every pooled connection waiting on a lock = %d %q, want 200 \"saturated\"", s, db)
	}
	lock.Rollback()
	for range 4 {
		if s := <-blocked; s != http.StatusOK {
			t.Errorf("read released from the lock: %d, want 200", s)
		}
	}
	if s, db := in.readiness(); s != http.StatusOK || db != "ok" {
		t.Errorf("GET /readyz after the lock = %d %q, want 200 \"ok\"", s, db)
	}
	_ = admin.Close()

	// Fast shutdown under concurrent reads.
	r := startReaders(8, in.url+"/v1/auth/me", token)
	r.next(2)
	pg.stop()
	r.next(3)
	if s, db := in.readiness(); s != http.StatusServiceUnavailable || db != "unreachable" {
		t.Errorf("GET /readyz with PostgreSQL down = %d %q, want 503 \"unreachable\"", s, db)
	}
	r.finish()
	if len(r.failed) > 0 {
		t.Errorf("%d requests got no answer, first: %v", len(r.failed), r.failed[0])
	}
	for s, n := range r.statuses {
		if s != http.StatusOK && s != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d during the shutdown, want only 200 or 503", n, s)
		}
	}
	if r.statuses[http.StatusServiceUnavailable] == 0 {
		t.Error("no 503 while PostgreSQL was down: the test proves nothing")
	}
	if r.noRetry > 0 {
		t.Errorf("%d answers 503 without Retry-After", r.noRetry)
	}

	// PostgreSQL back: the pool dials again by itself.
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if s, _ := in.readiness(); s == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			in.halt()
			t.Fatalf("not ready 30s after PostgreSQL came back:\n%s", in.logs.String())
		}
		time.Sleep(50 * time.Millisecond) // observing another process
	}
	if s, _ := in.call("GET", "/v1/auth/me", "", "Authorization", "Bearer "+token); s != http.StatusOK {
		t.Errorf("me after PostgreSQL came back: %d, want 200", s)
	}
	in.halt() // its log is complete and no longer written
	if strings.Contains(in.logs.String(), "status=500") {
		t.Errorf("the log records a 500:\n%s", in.logs.String())
	}
	t.Logf("answers during the fast shutdown: %v", r.statuses)
}
