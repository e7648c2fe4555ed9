// Package e2e runs the real binary: two instances over one PostgreSQL, a crash in the middle of a
// burst of writes, a PostgreSQL of its own stopped under load (failover_test.go), and SIGTERM while
// an SMTP server hangs (shutdown_test.go). It needs PostgreSQL (TEST_DATABASE_URL) and
// PINBRIDGE_E2E=1; make test sets both when PostgreSQL is there.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
	"github.com/pinbridge/pinbridge-auth/store"
)

var binary string

func TestMain(m *testing.M) {
	if os.Getenv("PINBRIDGE_E2E") != "1" {
		fmt.Println("e2e: skipped (set PINBRIDGE_E2E=1 and TEST_DATABASE_URL)")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "pinbridge-e2e")
	if err != nil {
		panic(err)
	}
	_, file, _, _ := runtime.Caller(0)
	binary = filepath.Join(dir, "pinbridge")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireE2E(t *testing.T) {
	t.Helper()
	if binary == "" {
		t.Skip("e2e off: set PINBRIDGE_E2E=1 (needs TEST_DATABASE_URL)")
	}
}

// instance is one running server process.
type instance struct {
	t    *testing.T
	url  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

// freePort is a port of 127.0.0.1 that is free now, below the kernel's ephemeral range: the ports
// handed to anything that binds or connects without naming one come from that range, so no other
// process can take this one between here and the child binding it, nor while a PostgreSQL restarts
// on it.
func freePort(t *testing.T) int {
	t.Helper()
	low := 32768 // Linux's default start of the range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				low = n
			}
		}
	}
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

func start(t *testing.T, dbURL, smtpURL string, extra ...string) *instance {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(),
		"PINBRIDGE_ENV=test", "PINBRIDGE_ADDR="+addr, "PINBRIDGE_DATABASE_URL="+dbURL,
		"PINBRIDGE_JWT_SECRET=e2e-secret-0123456789-0123456789-abcdef", "PINBRIDGE_SMTP_URL="+smtpURL,
		"PINBRIDGE_PUBLIC_URL=http://"+addr, "PINBRIDGE_DATA_DIR="+t.TempDir(), "PINBRIDGE_MAIL_POLL=100ms",
		"PINBRIDGE_MAIL_RETRY_MIN=100ms", "PINBRIDGE_RATE_LIMIT_SCALE=1")
	cmd.Env = append(cmd.Env, extra...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, url: "http://" + addr, cmd: cmd, logs: logs}
	t.Cleanup(func() { in.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return in
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance did not become ready:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a process that is starting, not synchronising tests
	}
}

func (in *instance) stop() {
	if in.cmd.ProcessState == nil {
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		_, _ = in.cmd.Process.Wait()
	}
}

func (in *instance) kill() {
	_ = in.cmd.Process.Kill()
	_, _ = in.cmd.Process.Wait()
}

// call sends a JSON request and decodes the JSON answer.
func (in *instance) call(method, path, body string, headers ...string) (int, map[string]any) {
	in.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, in.url+path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func postgres(t *testing.T) (*store.Store, string) {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Fatal("e2e needs TEST_DATABASE_URL")
	}
	return testdb.Engines()[1].Open(t)
}

func resetLink(t *testing.T, m testsmtp.Message) string {
	t.Helper()
	link := m.Link()
	i := strings.Index(link, "token=")
	if i < 0 {
		t.Fatalf("no token in %q", link)
	}
	return link[i+len("token="):]
}

// mailLinking waits for the next mail to addr that links to page, skipping notices on the way (a new
// API key is announced to its creator).
func mailLinking(t *testing.T, smtp *testsmtp.Server, addr, page string) testsmtp.Message {
	t.Helper()
	for range 10 {
		if m := smtp.WaitFor(t, addr, 15*time.Second); strings.Contains(m.Link(), page+"?") {
			return m
		}
	}
	t.Fatalf("no mail to %s linking to %s among the next 10", addr, page)
	return testsmtp.Message{}
}

func TestTwoInstances(t *testing.T) {
	requireE2E(t)
	st, dbURL := postgres(t)
	smtp := testsmtp.Start(t)
	// Scale 3: the per-email forgot-password limit is 9, per IP 30 per 10 minutes. forgot:email
	// counts over a year here, not 10 minutes, so that no window can end among the requests that
	// test it below.
	a := start(t, dbURL, smtp.URL, "PINBRIDGE_RATE_LIMIT_SCALE=3", "PINBRIDGE_RATE_LIMITS=forgot:email=3/8760h")
	b := start(t, dbURL, smtp.URL, "PINBRIDGE_RATE_LIMIT_SCALE=3", "PINBRIDGE_RATE_LIMITS=forgot:email=3/8760h")

	status, reg := a.call("POST", "/v1/auth/register", `{"full_name":"Two","email":"two@example.com","password":"a perfectly fine password"}`)
	if status != http.StatusCreated {
		t.Fatalf("register via A: %d %v", status, reg)
	}
	token := reg["access_token"].(string)

	// A key revoked through A is refused by B on the next request.
	_, key := a.call("POST", "/v1/api-keys", `{"name":"shared"}`, "Authorization", "Bearer "+token)
	plain, id := key["api_key"].(string), key["id"].(string)
	if s, _ := b.call("GET", "/v1/pinterest/accounts", "", "X-API-Key", plain); s != http.StatusOK {
		t.Fatalf("key via B before revocation: %d", s)
	}
	a.call("DELETE", "/v1/api-keys/"+id, "", "Authorization", "Bearer "+token)
	if s, _ := b.call("GET", "/v1/pinterest/accounts", "", "X-API-Key", plain); s != http.StatusUnauthorized {
		t.Errorf("key revoked via A, used via B: %d, want 401", s)
	}

	// A session ended by a reset through A is refused by B.
	if s, _ := b.call("GET", "/v1/auth/me", "", "Authorization", "Bearer "+token); s != http.StatusOK {
		t.Fatalf("session via B: %d", s)
	}
	b.call("POST", "/v1/auth/forgot-password", `{"email":"two@example.com"}`)
	rt := resetLink(t, mailLinking(t, smtp, "two@example.com", "/reset-password"))
	if s, out := a.call("POST", "/v1/auth/reset-password", `{"token":"`+rt+`","password":"a brand new password"}`); s != http.StatusOK {
		t.Fatalf("reset via A: %d %v", s, out)
	}
	if s, _ := b.call("GET", "/v1/auth/me", "", "Authorization", "Bearer "+token); s != http.StatusUnauthorized {
		t.Errorf("session ended by a reset via A, used via B: %d, want 401", s)
	}
	// The reset token is single-use across A and B.
	if s, _ := b.call("POST", "/v1/auth/reset-password", `{"token":"`+rt+`","password":"yet another password"}`); s != http.StatusBadRequest {
		t.Errorf("reset token reused via B: %d, want 400", s)
	}
	smtp.WaitFor(t, "two@example.com", 15*time.Second) // the password-changed notice

	// Concurrent use of one fresh token, one request per instance: exactly one wins.
	a.call("POST", "/v1/auth/forgot-password", `{"email":"two@example.com"}`)
	rt2 := resetLink(t, mailLinking(t, smtp, "two@example.com", "/reset-password"))
	results := make(chan int, 2)
	for _, in := range []*instance{a, b} {
		go func() {
			s, _ := in.call("POST", "/v1/auth/reset-password", `{"token":"`+rt2+`","password":"concurrent password `+in.url+`"}`)
			results <- s
		}()
	}
	r1, r2 := <-results, <-results
	if !(r1 == 200 && r2 == 400 || r1 == 400 && r2 == 200) {
		t.Errorf("concurrent resets via A and B: %d and %d, want one 200 and one 400", r1, r2)
	}

	// Rate-limit counters are shared: 9 forgot-password requests per email (3, scaled by 3) here.
	for i := range 9 {
		if s, _ := []*instance{a, b}[i%2].call("POST", "/v1/auth/forgot-password", `{"email":"limit@example.com"}`); s != http.StatusOK {
			t.Fatalf("forgot %d: %d", i+1, s)
		}
	}
	if s, _ := b.call("POST", "/v1/auth/forgot-password", `{"email":"limit@example.com"}`); s != http.StatusTooManyRequests {
		t.Errorf("10th request via B after 9 spread over A and B: %d, want 429", s)
	}

	// Each outbox message is sent exactly once although both instances deliver.
	for i := range 8 {
		email := fmt.Sprintf("mail%d@example.com", i)
		in := []*instance{a, b}[i%2]
		in.call("POST", "/v1/auth/register", `{"full_name":"M","email":"`+email+`","password":"a perfectly fine password"}`)
		in.call("POST", "/v1/auth/forgot-password", `{"email":"`+email+`"}`)
	}
	// The resets arrive in any order: wait until each address has had its email.
	want := map[string]bool{}
	for i := range 8 {
		want[fmt.Sprintf("mail%d@example.com", i)] = true
	}
	for len(want) > 0 {
		m := smtp.Wait(t, 15*time.Second)
		for _, to := range m.To {
			delete(want, to)
		}
	}
	ctx := context.Background()
	for {
		n, err := st.OutboxBacklog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond) // waiting on two other processes' delivery loops
	}
	sent := testdb.OpenSQL(t, dbURL).Int(t, "SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NOT NULL")
	seen := map[string]int{}
	for _, m := range smtp.All() {
		seen[m.ID]++
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
	if int64(len(seen)) != sent {
		t.Errorf("%d distinct messages received, %d marked sent", len(seen), sent)
	}
}

// TestCrashKeepsAcknowledgedWrites kills the server with SIGKILL during a burst of registrations,
// key creations and password-reset requests; after a restart every acknowledged write is there and
// nothing is half-written.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	requireE2E(t)
	_, dbURL := postgres(t)
	smtp := testsmtp.Start(t)
	// Rate limits off the way (scale 1000): the burst is about crashing, not limiting.
	in := start(t, dbURL, smtp.URL, "PINBRIDGE_RATE_LIMIT_SCALE=1000")
	_, owner := in.call("POST", "/v1/auth/register", `{"full_name":"Owner","email":"owner@example.com","password":"a perfectly fine password"}`)
	token := owner["access_token"].(string)

	type ack struct{ kind, id string }
	acks := make(chan ack, 1000)
	stop := make(chan struct{})
	done := make(chan struct{})
	workers := 6
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch (w + i) % 3 {
				case 0:
					email := fmt.Sprintf("crash-%d-%d@example.com", w, i)
					if s, out := in.call("POST", "/v1/auth/register", `{"full_name":"C","email":"`+email+`","password":"a perfectly fine password"}`); s == http.StatusCreated {
						acks <- ack{"user", out["user"].(map[string]any)["id"].(string)}
					}
				case 1:
					if s, out := in.call("POST", "/v1/api-keys", `{"name":"crash"}`, "Authorization", "Bearer "+token); s == http.StatusCreated {
						acks <- ack{"key", out["id"].(string)}
					}
				case 2:
					in.call("POST", "/v1/auth/forgot-password", `{"email":"owner@example.com"}`)
				}
			}
		}()
	}
	// Kill once the burst has produced some acknowledged writes.
	var got []ack
	for len(got) < 30 {
		got = append(got, <-acks)
	}
	in.kill()
	close(stop)
	for range workers {
		<-done
	}
	close(acks)
	for a := range acks {
		got = append(got, a)
	}

	restarted := start(t, dbURL, smtp.URL)
	if s, _ := restarted.call("GET", "/readyz", ""); s != http.StatusOK {
		t.Fatalf("restart: %d", s)
	}
	db := testdb.OpenSQL(t, dbURL)
	for _, a := range got {
		var n int64
		switch a.kind {
		case "user":
			n = db.Int(t, "SELECT COUNT(*) FROM users WHERE id = ?", a.id)
		case "key":
			n = db.Int(t, "SELECT COUNT(*) FROM api_keys WHERE id = ?", a.id)
		}
		if n != 1 {
			t.Errorf("acknowledged %s %s is missing after the crash", a.kind, a.id)
		}
	}
	orphans := db.Int(t, "SELECT COUNT(*) FROM users u LEFT JOIN organizations o ON o.id = u.organization_id WHERE o.id IS NULL")
	if orphans != 0 {
		t.Errorf("%d users without an organization", orphans)
	}
	orphans = db.Int(t, "SELECT COUNT(*) FROM organizations o WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.organization_id = o.id AND p.environment = 'production')")
	if orphans != 0 {
		t.Errorf("%d organizations without a production project", orphans)
	}
	orphans = db.Int(t, "SELECT COUNT(*) FROM api_keys k LEFT JOIN projects p ON p.id = k.project_id WHERE p.id IS NULL")
	if orphans != 0 {
		t.Errorf("%d keys without a project", orphans)
	}
	tokens := db.Int(t, "SELECT COUNT(*) FROM one_time_tokens WHERE purpose = ?", store.PurposePasswordReset)
	mails := db.Int(t, "SELECT COUNT(*) FROM email_outbox WHERE kind = 'password_reset'")
	if tokens != mails {
		t.Errorf("%d reset tokens but %d reset emails queued: a token without its mail", tokens, mails)
	}
	t.Logf("%d acknowledged writes checked after SIGKILL; %d reset tokens, each with its email", len(got), tokens)
}

// TestTeamChangesReachEveryInstance: a member removed or demoted through one instance is refused
// on their very next request through the other; the keys they created are refused there too.
func TestTeamChangesReachEveryInstance(t *testing.T) {
	requireE2E(t)
	_, dbURL := postgres(t)
	smtp := testsmtp.Start(t)
	a := start(t, dbURL, smtp.URL, "PINBRIDGE_RATE_LIMIT_SCALE=10")
	b := start(t, dbURL, smtp.URL, "PINBRIDGE_RATE_LIMIT_SCALE=10")

	register := func(in *instance, email string) string {
		s, out := in.call("POST", "/v1/auth/register", `{"full_name":"Team","email":"`+email+`","password":"a perfectly fine password"}`)
		if s != http.StatusCreated {
			t.Fatalf("register %s: %d %v", email, s, out)
		}
		return out["access_token"].(string)
	}
	owner := register(a, "team-owner@example.com")
	member := register(b, "team-member@example.com")
	if s, out := a.call("POST", "/v1/team/invitations", `{"email":"team-member@example.com","role":"editor"}`, "Authorization", "Bearer "+owner); s != http.StatusCreated {
		t.Fatalf("invite: %d %v", s, out)
	}
	link := smtp.WaitFor(t, "team-member@example.com", 15*time.Second).Link()
	invite := link[strings.Index(link, "token=")+len("token="):]
	s, joined := b.call("POST", "/v1/team/invitations/accept", `{"token":"`+invite+`"}`, "Authorization", "Bearer "+member)
	if s != http.StatusOK {
		t.Fatalf("accept via B: %d %v", s, joined)
	}
	session := joined["access_token"].(string)
	_, key := b.call("POST", "/v1/api-keys", `{"name":"member's"}`, "Authorization", "Bearer "+session)
	plain := key["api_key"].(string)

	// Demoted through A: B answers with the viewer's permissions at once.
	_, members := a.call("GET", "/v1/team/members", "", "Authorization", "Bearer "+owner)
	var memberID string
	for _, m := range members["items"].([]any) {
		if m := m.(map[string]any); m["user"].(map[string]any)["email"] == "team-member@example.com" {
			memberID = m["id"].(string)
		}
	}
	if s, out := a.call("PATCH", "/v1/team/members/"+memberID, `{"role":"viewer"}`, "Authorization", "Bearer "+owner); s != http.StatusOK {
		t.Fatalf("demote via A: %d %v", s, out)
	}
	if s, _ := b.call("POST", "/v1/api-keys", `{"name":"again"}`, "Authorization", "Bearer "+session); s != http.StatusForbidden {
		t.Errorf("create a key via B right after the demotion via A: %d, want 403", s)
	}
	// Removed through A: B refuses the session and the key on the very next request.
	if s, out := a.call("DELETE", "/v1/team/members/"+memberID, "", "Authorization", "Bearer "+owner); s != http.StatusOK || out["revoked_api_keys"] != float64(1) {
		t.Fatalf("remove via A: %d %v, want one key revoked", s, out)
	}
	if s, _ := b.call("GET", "/v1/auth/me", "", "Authorization", "Bearer "+session); s != http.StatusUnauthorized {
		t.Errorf("the removed member's session via B: %d, want 401", s)
	}
	if s, _ := b.call("GET", "/v1/pinterest/accounts", "", "X-API-Key", plain); s != http.StatusUnauthorized {
		t.Errorf("the removed member's key via B: %d, want 401", s)
	}
}
