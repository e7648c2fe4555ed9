package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// strictEnv is an env with the production rate limits (scale 1).
func strictEnv(t *testing.T, eng testdb.Engine, mutate func(*config.Config)) *env {
	t.Helper()
	st, dbURL := eng.Open(t)
	cfg := testConfig(t)
	cfg.Limits.Scale = 1
	if mutate != nil {
		mutate(&cfg)
	}
	e := newEnv(t, st, cfg, fastHash)
	e.useSQL(t, dbURL)
	return e
}

func expect429(t *testing.T, what string, status int, hdr http.Header, body map[string]any) {
	t.Helper()
	code, _ := errorOf(t, body)
	retry, err := strconv.Atoi(hdr.Get("Retry-After"))
	if status != http.StatusTooManyRequests || code != "rate_limited" || err != nil || retry < 1 {
		t.Errorf("%s: %d %s Retry-After %q, want 429 rate_limited with Retry-After", what, status, code, hdr.Get("Retry-After"))
	}
}

func TestForgotPasswordIsRateLimitedPerEmailAlike(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := strictEnv(t, eng, nil)
			e.register("limited@example.com", "a perfectly fine password")
			for _, email := range []string{"limited@example.com", "nobody@example.com"} {
				for i := range 3 {
					if status, _, _ := e.do("POST", "/v1/auth/forgot-password", `{"email":"`+email+`"}`, nil); status != http.StatusOK {
						t.Fatalf("%s request %d: %d, want 200", email, i+1, status)
					}
				}
				status, hdr, body := e.do("POST", "/v1/auth/forgot-password", `{"email":"`+email+`"}`, nil)
				expect429(t, "4th forgot-password for "+email, status, hdr, body)
			}
		})
	}
}

func TestLoginBackoff(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := strictEnv(t, eng, nil)
			e.register("backoff@example.com", "a perfectly fine password")
			login := func(email, pw string) (int, http.Header, map[string]any) {
				return e.do("POST", "/v1/auth/login", `{"email":"`+email+`","password":"`+pw+`"}`, nil)
			}
			for _, email := range []string{"backoff@example.com", "ghost@example.com"} {
				for i := range 6 {
					if status, _, _ := login(email, "wrong password "+strconv.Itoa(i)); status != http.StatusUnauthorized {
						t.Fatalf("%s failure %d: %d, want 401", email, i+1, status)
					}
				}
				// The sixth failure costs a wait; even the right password must wait it out.
				status, hdr, body := login(email, "a perfectly fine password")
				expect429(t, "login during backoff for "+email, status, hdr, body)
			}
			e.clock.Advance(2 * time.Second)
			if status, _, body := login("backoff@example.com", "a perfectly fine password"); status != http.StatusOK {
				t.Fatalf("after the wait: %d %v, want 200", status, body)
			}
			// The success cleared the failures: five free ones again.
			for i := range 5 {
				if status, _, _ := login("backoff@example.com", "wrong again"); status != http.StatusUnauthorized {
					t.Fatalf("failure %d after a success: %d, want 401", i+1, status)
				}
			}
			// A password reset clears the backoff too.
			login("backoff@example.com", "wrong again")
			e.forgot("backoff@example.com")
			e.clock.Advance(time.Millisecond)
			token := e.linkTo("backoff@example.com", "/reset-password")
			if status, msg := e.reset(token, "a brand new password"); status != http.StatusOK {
				t.Fatalf("reset: %d %s", status, msg)
			}
			if status, _, body := login("backoff@example.com", "a brand new password"); status != http.StatusOK {
				t.Errorf("login right after a reset: %d %v, want 200", status, body)
			}
		})
	}
}

// TestLoginAttemptsSentAtOnceTakeTurns: attempts sent at once cannot slip past the backoff by
// being checked before any of them is counted. Of ten wrong passwords sent together from a clean
// source, six are checked (the five free failures and the one that starts the wait) and four wait;
// after the wait, of ten more exactly one is checked.
func TestLoginAttemptsSentAtOnceTakeTurns(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := strictEnv(t, eng, nil)
			e.register("burst@example.com", "a perfectly fine password")
			burst := func(n int) (checked int) {
				t.Helper()
				statuses := make([]int, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range statuses {
					wg.Go(func() {
						body := `{"email":"burst@example.com","password":"wrong password ` + strconv.Itoa(i) + `"}`
						resp, err := e.http.Post(e.url+"/v1/auth/login", "application/json", strings.NewReader(body))
						if err != nil {
							errs[i] = err
							return
						}
						resp.Body.Close()
						statuses[i] = resp.StatusCode
					})
				}
				wg.Wait()
				for i, status := range statuses {
					switch {
					case errs[i] != nil:
						t.Fatal(errs[i])
					case status == http.StatusUnauthorized:
						checked++
					case status != http.StatusTooManyRequests:
						t.Errorf("attempt %d: %d, want 401 or 429", i, status)
					}
				}
				return checked
			}
			if checked := burst(10); checked != 6 {
				t.Errorf("%d of 10 attempts sent at once from a clean source had their password checked, want 6 (5 free, 1 more)", checked)
			}
			e.clock.Advance(2 * time.Second)
			if checked := burst(10); checked != 1 {
				t.Errorf("%d of 10 attempts sent at once after the wait had their password checked, want 1 (the rest wait)", checked)
			}
			// The right password waits too, then clears the count.
			if status, _, body := e.do("POST", "/v1/auth/login", `{"email":"burst@example.com","password":"a perfectly fine password"}`, nil); status != http.StatusTooManyRequests {
				t.Fatalf("right password during the wait: %d %v, want 429", status, body)
			}
			e.clock.Advance(3 * time.Second)
			e.loginWith("burst@example.com", "a perfectly fine password")
			if checked := burst(5); checked != 5 {
				t.Errorf("after a success, %d of 5 attempts at once were checked, want all 5 (the count starts over)", checked)
			}
		})
	}
}

// TestRightPasswordClearsItsAttemptAfterTheRequestEnds: a right password's attempt is cleared even
// when its request ends (deadline passed, client gone) between the check and the clearing; left
// counted, it would hold that source's next attempts back.
func TestRightPasswordClearsItsAttemptAfterTheRequestEnds(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("late@example.com", "a perfectly fine password")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e.beforeLoginFailuresCleared("test:request_ends", cancel) // the request ends as its right password's attempt is being cleared
		_, err := e.stack.Accounts.Login(ctx, account.Credentials{Email: "late@example.com", Password: "a perfectly fine password",
			Origin: account.Origin{Source: "203.0.113.7"}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("login whose request ended: %v, want it to end with the request", err)
		}
		var counted []store.LoginThrottle
		if err := e.store.DB().Where("failures > 0").Find(&counted).Error; err != nil {
			t.Fatal(err)
		}
		if len(counted) != 0 {
			t.Errorf("%d sources left with an attempt counted after a right password (%+v)", len(counted), counted)
		}
	})
}

// TestRateLimitsAreSharedByInstances: two servers over one database count together.
func TestRateLimitsAreSharedByInstances(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, _ := eng.Open(t)
			cfg := testConfig(t)
			cfg.Limits.Scale = 1
			a := newEnv(t, st, cfg, fastHash)
			b := newEnvWithSMTP(t, st, cfg, fastHash, a.smtp)
			body := `{"email":"shared@example.com"}`
			for _, e := range []*env{a, b, a} {
				if status, _, _ := e.do("POST", "/v1/auth/forgot-password", body, nil); status != http.StatusOK {
					t.Fatalf("request: %d", status)
				}
			}
			status, hdr, out := b.do("POST", "/v1/auth/forgot-password", body, nil)
			expect429(t, "4th request, through the other instance", status, hdr, out)
		})
	}
}

func TestForwardedForTrustedOnlyFromConfiguredProxies(t *testing.T) {
	eng := testdb.Engines()[0]
	register := func(e *env, n int) int {
		status, _, _ := e.do("POST", "/v1/auth/register",
			fmt.Sprintf(`{"full_name":"IP %d","email":"ip%d@example.com","password":"a perfectly fine password"}`, n, n),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", n)})
		return status
	}
	untrusted := strictEnv(t, eng, nil)
	for i := 1; i <= 10; i++ {
		if status := register(untrusted, i); status != http.StatusCreated {
			t.Fatalf("registration %d: %d", i, status)
		}
	}
	if status := register(untrusted, 11); status != http.StatusTooManyRequests {
		t.Errorf("11th registration from one socket with forged X-Forwarded-For: %d, want 429", status)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	trusted := strictEnv(t, eng, func(c *config.Config) { c.Limits.TrustedProxies = []*net.IPNet{loopback} })
	for i := 1; i <= 11; i++ {
		if status := register(trusted, i); status != http.StatusCreated {
			t.Errorf("registration %d through a trusted proxy, distinct clients: %d, want 201", i, status)
		}
	}
}

func TestCORSAllowList(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	cfg := testConfig(t)
	cfg.Limits.CORSOrigins = []string{"https://app.pinbridge.io"}
	e := newEnvWithSMTP(t, st, cfg, fastHash, testsmtp.Start(t))
	_, hdr, _ := e.do("GET", "/healthz", "", map[string]string{"Origin": "https://app.pinbridge.io"})
	if hdr.Get("Access-Control-Allow-Origin") != "https://app.pinbridge.io" {
		t.Errorf("allowed origin: Access-Control-Allow-Origin = %q", hdr.Get("Access-Control-Allow-Origin"))
	}
	_, hdr, _ = e.do("GET", "/healthz", "", map[string]string{"Origin": "https://evil.example"})
	if got := hdr.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("other origin: Access-Control-Allow-Origin = %q, want none", got)
	}
}

func TestRateLimitOverride(t *testing.T) {
	e := strictEnv(t, testdb.Engines()[0], func(c *config.Config) {
		c.Limits.Overrides = map[string]config.RateLimit{"forgot:email": {Limit: 1, Window: time.Hour}}
	})
	if status, _, _ := e.do("POST", "/v1/auth/forgot-password", `{"email":"o@example.com"}`, nil); status != http.StatusOK {
		t.Fatalf("first: %d", status)
	}
	status, hdr, body := e.do("POST", "/v1/auth/forgot-password", `{"email":"o@example.com"}`, nil)
	// The default allows 3; the override makes the second one too many.
	expect429(t, "second request with forgot:email=1/1h", status, hdr, body)
	if r, _ := strconv.Atoi(hdr.Get("Retry-After")); r > 3600 {
		t.Errorf("Retry-After %d, want at most the hour window", r)
	}
}

// TestOneUserPastTheirLimitLeavesTheAddressToOthers: requests a user's own limit refuses do not
// count against the limit of their address, which others behind it (a NAT, an office) share.
func TestOneUserPastTheirLimitLeavesTheAddressToOthers(t *testing.T) {
	e := strictEnv(t, testdb.Engines()[0], func(c *config.Config) {
		c.Limits.Overrides = map[string]config.RateLimit{
			"verify-request:user": {Limit: 1, Window: 10 * time.Minute},
			"account:ip":          {Limit: 3, Window: 10 * time.Minute},
		}
	})
	a := e.register("greedy@example.com", "a perfectly fine password")
	b := e.register("neighbour@example.com", "a perfectly fine password")
	request := func(token string) (int, http.Header, map[string]any) {
		return e.do("POST", "/v1/auth/email/verify/request", "", map[string]string{"Authorization": "Bearer " + token})
	}
	if status, _, body := request(a.AccessToken); status != http.StatusOK {
		t.Fatalf("first request: %d %v", status, body)
	}
	for i := range 4 {
		status, hdr, body := request(a.AccessToken)
		expect429(t, fmt.Sprintf("request %d past the user's limit", i+2), status, hdr, body)
	}
	if status, _, body := request(b.AccessToken); status != http.StatusOK {
		t.Errorf("another user from the same address after one user's refused requests: %d %v, want 200", status, body)
	}
}
