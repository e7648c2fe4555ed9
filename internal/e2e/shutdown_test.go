package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// TestShutdownWithHungSMTPServer sends SIGTERM while the mail sender waits on an SMTP server that
// accepted the connection and never answers. The process exits within PINBRIDGE_SHUTDOWN_TIMEOUT
// (the promise, with a margin for the process's own exit), the mail is still queued, and the next
// instance, with a working SMTP server, delivers it exactly once.
func TestShutdownWithHungSMTPServer(t *testing.T) {
	requireE2E(t)
	st, dbURL := postgres(t)
	hung := testsmtp.StartHung(t)
	const shutdownTimeout = 3 * time.Second
	in := start(t, dbURL, hung.URL, "PINBRIDGE_SHUTDOWN_TIMEOUT="+shutdownTimeout.String())

	if s, out := in.call("POST", "/v1/auth/register", `{"full_name":"Hung","email":"hung@example.com","password":"a perfectly fine password"}`); s != http.StatusCreated {
		t.Fatalf("register: %d %v", s, out)
	}
	for range 2 {
		if s, out := in.call("POST", "/v1/auth/forgot-password", `{"email":"hung@example.com"}`); s != http.StatusOK {
			t.Fatalf("forgot-password: %d %v", s, out)
		}
	}
	hung.WaitAccepted(t, 15*time.Second) // the sender is in an attempt the server will never answer

	exited := make(chan error, 1)
	begin := time.Now()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- in.cmd.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-time.After(shutdownTimeout + time.Minute):
		_ = in.cmd.Process.Kill()
		<-exited
		t.Fatalf("still running a minute past the %v shutdown timeout:\n%s", shutdownTimeout, in.logs.String())
	}
	elapsed := time.Since(begin)
	if err != nil {
		t.Errorf("exit after SIGTERM: %v, want a clean exit\n%s", err, in.logs.String())
	}
	if margin := 2 * time.Second; elapsed > shutdownTimeout+margin {
		t.Errorf("exited %v after SIGTERM, want within the %v shutdown timeout (+%v margin)\n%s", elapsed, shutdownTimeout, margin, in.logs.String())
	}
	if !strings.Contains(in.logs.String(), "abandoned at shutdown") {
		t.Errorf("the log does not say the attempt was abandoned:\n%s", in.logs.String())
	}

	var queued []store.OutboxMessage
	if err := st.DB().Where("sent_at IS NULL").Find(&queued).Error; err != nil {
		t.Fatal(err)
	}
	if len(queued) != 2 {
		t.Fatalf("%d messages still queued after the shutdown, want both reset emails", len(queued))
	}

	smtp := testsmtp.Start(t)
	start(t, dbURL, smtp.URL)
	for range queued {
		smtp.WaitFor(t, "hung@example.com", 15*time.Second)
	}
	for {
		n, err := st.OutboxBacklog(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond) // waiting on the other process's delivery loop
	}
	seen := map[string]int{}
	for _, m := range smtp.All() {
		seen[m.ID]++
	}
	for _, q := range queued {
		if n := seen["<"+q.ID+"@pinbridge>"]; n != 1 {
			t.Errorf("message %s delivered %d times after the restart, want once (seen: %v)", q.ID, n, seen)
		}
	}
	t.Logf("exited %v after SIGTERM (shutdown timeout %v); %d queued messages delivered once by the next instance", elapsed, shutdownTimeout, len(queued))
}
