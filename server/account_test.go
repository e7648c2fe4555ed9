package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
)

const mailWait = 10 * time.Second

// tokenFrom checks the emailed link points at page on the public URL and returns its token.
func (e *env) tokenFrom(m testsmtp.Message, page string) string {
	t := e.t
	t.Helper()
	link := m.Link()
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host != e.url || u.Path != page || u.Query().Get("token") == "" {
		t.Fatalf("link %q in %q, want %s%s?token=...", link, m.Subject, e.url, page)
	}
	if !strings.Contains(m.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("the HTML part does not carry the link %s", link)
	}
	return u.Query().Get("token")
}

// mailLinking waits for the next mail to addr that links to page, skipping the notices on the way
// (a key created earlier in the test is announced to its creator, for one).
func (e *env) mailLinking(addr, page string) testsmtp.Message {
	e.t.Helper()
	for range 10 {
		m := e.smtp.WaitFor(e.t, addr, mailWait)
		if u, err := url.Parse(m.Link()); err == nil && u.Path == page {
			return m
		}
	}
	e.t.Fatalf("no mail to %s linking to %s among the next 10", addr, page)
	return testsmtp.Message{}
}

// linkTo is the token of the next mail to addr that links to page (see mailLinking).
func (e *env) linkTo(addr, page string) string {
	e.t.Helper()
	return e.tokenFrom(e.mailLinking(addr, page), page)
}

func (e *env) forgot(email string) {
	e.t.Helper()
	resp, err := e.client.ForgotPasswordWithResponse(context.Background(), client.ForgotPasswordJSONRequestBody{Email: client.Email(email)})
	if err != nil || resp.JSON200 == nil {
		e.t.Fatalf("forgot-password: %v %s", err, resp.Body)
	}
}

func (e *env) reset(token, pw string) (int, string) {
	e.t.Helper()
	status, _, body := e.do("POST", "/v1/auth/reset-password", `{"token":"`+token+`","password":"`+pw+`"}`, nil)
	if status == http.StatusOK {
		return status, body["message"].(string)
	}
	_, msg := errorOf(e.t, body)
	return status, msg
}

// TestResetTokenMissingIsAnInvalidToken: a reset token that is missing or not of a token's shape is
// answered as an invalid token (400 invalid_reset_token, as the contract and the guide say), never
// as a malformed request; the rest of the body is still validated.
func TestResetTokenMissingIsAnInvalidToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		pw := `"password":"a perfectly fine password"`
		for _, body := range []string{
			`{` + pw + `}`,
			`{"token":"",` + pw + `}`,
			`{"token":"short",` + pw + `}`,
			`{"token":"` + strings.Repeat("x", 513) + `",` + pw + `}`,
			`{"token":42,` + pw + `}`,
			`{"token":null,` + pw + `}`,
			`{"token":"short","password":"x"}`,
		} {
			status, _, out := e.do("POST", "/v1/auth/reset-password", body, nil)
			if code, _ := errorOf(t, out); status != http.StatusBadRequest || code != "invalid_reset_token" {
				t.Errorf("reset with %.60s: %d %s, want 400 invalid_reset_token", body, status, code)
			}
		}
		status, _, out := e.do("POST", "/v1/auth/reset-password", `{"token":"`+strings.Repeat("x", 43)+`","password":"x"}`, nil)
		if _, msg := errorOf(t, out); status != http.StatusUnprocessableEntity || !strings.Contains(msg, "password") {
			t.Errorf("reset with a token of the right shape and a short password: %d %s, want 422 naming password", status, msg)
		}
		status, _, out = e.do("POST", "/v1/auth/reset-password", `{"token":`, nil)
		if code, _ := errorOf(t, out); status != http.StatusUnprocessableEntity || code != "validation_error" {
			t.Errorf("reset with a body that is not JSON: %d %s, want 422 validation_error", status, code)
		}
	})
}

func TestPasswordResetFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("reset@example.com", "a perfectly fine password")
		e.forgot("RESET@example.com")
		m := e.smtp.WaitFor(t, "reset@example.com", mailWait)
		if m.Subject != "Reset your PinBridge password" || !strings.Contains(m.Text, "1 hour") {
			t.Errorf("reset mail %q: %s", m.Subject, m.Text)
		}
		token := e.tokenFrom(m, "/reset-password")

		e.clock.Advance(time.Second) // the test clock stands still; real sessions predate a reset
		if status, msg := e.reset(token, "a brand new password"); status != http.StatusOK {
			t.Fatalf("reset: %d %s", status, msg)
		}
		// Every earlier session ended.
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + a.AccessToken}); status != http.StatusUnauthorized {
			t.Errorf("session from before the reset: %d, want 401", status)
		}
		if r, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "reset@example.com", Password: "a perfectly fine password"}); r.StatusCode() != http.StatusUnauthorized {
			t.Errorf("old password after reset: %d, want 401", r.StatusCode())
		}
		e.clock.Advance(time.Millisecond)
		login, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "reset@example.com", Password: "a brand new password"})
		if err != nil || login.JSON200 == nil {
			t.Fatalf("new password: %v %s", err, login.Body)
		}
		if !login.JSON200.User.EmailVerified {
			t.Error("email not verified after a reset through the emailed link")
		}
		// Single use.
		if status, msg := e.reset(token, "yet another password"); status != http.StatusBadRequest || msg != "Invalid or expired password reset token" {
			t.Errorf("reused token: %d %q, want 400 %q", status, msg, "Invalid or expired password reset token")
		}
		notice := e.smtp.WaitFor(t, "reset@example.com", mailWait)
		if notice.Subject != "Your PinBridge password was changed" || notice.Link() != "" {
			t.Errorf("notice after reset = %q (link %q)", notice.Subject, notice.Link())
		}
		// The database keeps only the token's hash, and the sent message's bodies are blanked.
		hashes := e.sql.Strings(t, "SELECT token_hash FROM one_time_tokens")
		if len(hashes) == 0 {
			t.Fatal("no one-time token stored")
		}
		for _, h := range hashes {
			if strings.Contains(h, token) {
				t.Error("a token is stored in plaintext")
			}
		}
		leaked := e.sql.Int(t, "SELECT COUNT(*) FROM email_outbox WHERE sent_at IS NOT NULL AND (text_body LIKE ? OR html_body LIKE ?)", "%"+token+"%", "%"+token+"%")
		if leaked != 0 {
			t.Errorf("%d sent messages still hold the token", leaked)
		}
	})
}

func TestForgotPasswordAnswersTheSame(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("known@example.com", "a perfectly fine password")
		s1, _, unknown := e.do("POST", "/v1/auth/forgot-password", `{"email":"nobody@example.com"}`, nil)
		s2, _, known := e.do("POST", "/v1/auth/forgot-password", `{"email":"known@example.com"}`, nil)
		if s1 != http.StatusOK || s2 != http.StatusOK || unknown["message"] != known["message"] || len(unknown) != len(known) {
			t.Errorf("unknown -> %d %v, known -> %d %v; want the same 200 body", s1, unknown, s2, known)
		}
		m := e.smtp.Wait(t, mailWait)
		if len(m.To) != 1 || m.To[0] != "known@example.com" {
			t.Errorf("first mail went to %v, want only known@example.com (nothing for the unknown address)", m.To)
		}
		e.stack.Sender.Deliver(context.Background())
		for _, msg := range e.smtp.All() {
			if strings.Contains(strings.Join(msg.To, ","), "nobody") {
				t.Errorf("mail sent to an unregistered address: %v", msg.To)
			}
		}
	})
}

func TestConcurrentResetsWithOneToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("race-reset@example.com", "a perfectly fine password")
		e.forgot("race-reset@example.com")
		token := e.linkTo("race-reset@example.com", "/reset-password")
		const n = 10
		type result struct {
			status int
			msg    string
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, m := e.reset(token, "concurrent new password "+string(rune('a'+i)))
				results[i] = result{s, m}
			}()
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, r := range results {
			switch {
			case r.status == http.StatusOK:
				ok++
			case r.status == http.StatusBadRequest && r.msg == "Invalid or expired password reset token":
				refused++
			default:
				t.Errorf("unexpected result %+v", r)
			}
		}
		if ok != 1 || refused != n-1 {
			t.Fatalf("results %+v: want exactly one 200 and %d 400", results, n-1)
		}
	})
}

func TestResetTokenExpiryAndRetirement(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("expire@example.com", "a perfectly fine password")
		e.forgot("expire@example.com")
		first := e.linkTo("expire@example.com", "/reset-password")
		e.clock.Advance(time.Minute) // a reset mail goes at most once a minute
		e.forgot("expire@example.com")
		second := e.linkTo("expire@example.com", "/reset-password")
		if status, _ := e.reset(first, "a brand new password"); status != http.StatusBadRequest {
			t.Errorf("older token after a newer one was issued: %d, want 400", status)
		}
		e.clock.Advance(time.Hour + time.Second)
		if status, _ := e.reset(second, "a brand new password"); status != http.StatusBadRequest {
			t.Errorf("token after its hour: %d, want 400", status)
		}
		e.forgot("expire@example.com")
		third := e.linkTo("expire@example.com", "/reset-password")
		e.clock.Advance(59 * time.Minute)
		if status, msg := e.reset(third, "a brand new password"); status != http.StatusOK {
			t.Errorf("token within its hour: %d %s, want 200", status, msg)
		}
		for _, bad := range []string{"short", strings.Repeat("x", 43)} {
			status, _ := e.reset(bad, "a brand new password")
			if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
				t.Errorf("token %q: %d, want 400 or 422", bad, status)
			}
		}
	})
}

func TestChangePassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("change@example.com", "a perfectly fine password")
		other := e.login("change@example.com")
		e.clock.Advance(time.Millisecond)

		wrong, _ := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: "not my password", NewPassword: "a brand new password"}, bearer(a.AccessToken))
		if wrong.StatusCode() != http.StatusBadRequest || wrong.JSON400 == nil || wrong.JSON400.Detail.Code != "incorrect_password" {
			t.Fatalf("wrong current password: %d %s, want 400 incorrect_password", wrong.StatusCode(), wrong.Body)
		}
		resp, err := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: "a perfectly fine password", NewPassword: "a brand new password"}, bearer(a.AccessToken))
		if err != nil || resp.JSON200 == nil || resp.JSON200.AccessToken == nil || resp.JSON200.ExpiresIn == nil {
			t.Fatalf("change password: %v %s", err, resp.Body)
		}
		for name, tok := range map[string]string{"caller's old token": a.AccessToken, "other session": other} {
			if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + tok}); status != http.StatusUnauthorized {
				t.Errorf("%s after change: %d, want 401", name, status)
			}
		}
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + *resp.JSON200.AccessToken}); status != http.StatusOK {
			t.Errorf("fresh token after change: %d, want 200", status)
		}
		if m := e.smtp.WaitFor(t, "change@example.com", mailWait); m.Subject != "Your PinBridge password was changed" {
			t.Errorf("notice = %q", m.Subject)
		}
		same, _ := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: "a brand new password", NewPassword: "a brand new password"}, bearer(*resp.JSON200.AccessToken))
		if same.StatusCode() != http.StatusUnprocessableEntity {
			t.Errorf("new password equal to the current one: %d, want 422", same.StatusCode())
		}
	})
}

func TestEmailVerification(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("verify@example.com", "a perfectly fine password")
		r, err := e.client.RequestEmailVerificationWithResponse(ctx, bearer(a.AccessToken))
		if err != nil || r.JSON200 == nil || r.JSON200.RetryAfterSeconds != nil {
			t.Fatalf("request verification: %v %s", err, r.Body)
		}
		m := e.smtp.WaitFor(t, "verify@example.com", mailWait)
		token := e.tokenFrom(m, "/verify-email")
		if !strings.Contains(m.Text, "24 hours") {
			t.Errorf("verification mail does not say it lasts 24 hours: %s", m.Text)
		}
		again, _ := e.client.RequestEmailVerificationWithResponse(ctx, bearer(a.AccessToken))
		if again.JSON200 == nil || again.JSON200.RetryAfterSeconds == nil || *again.JSON200.RetryAfterSeconds != 60 {
			t.Errorf("second request within a minute: %s, want retry_after_seconds 60", again.Body)
		}
		v, err := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: token})
		if err != nil || v.JSON200 == nil {
			t.Fatalf("verify: %v %s", err, v.Body)
		}
		me, _ := e.client.GetMeWithResponse(ctx, bearer(a.AccessToken))
		if me.JSON200 == nil || !me.JSON200.User.EmailVerified {
			t.Errorf("me after verification: %s, want email_verified", me.Body)
		}
		reuse, _ := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: token})
		if reuse.StatusCode() != http.StatusBadRequest || reuse.JSON400.Detail.Code != "invalid_verification_token" {
			t.Errorf("reused verification token: %d %s, want 400 invalid_verification_token", reuse.StatusCode(), reuse.Body)
		}
		done, _ := e.client.RequestEmailVerificationWithResponse(ctx, bearer(a.AccessToken))
		if done.JSON200 == nil || !strings.Contains(done.JSON200.Message, "already verified") {
			t.Errorf("request when verified: %s", done.Body)
		}
		// Expiry: a new account's link is dead after 24 hours.
		b := e.register("verify-late@example.com", "a perfectly fine password")
		_, _ = e.client.RequestEmailVerificationWithResponse(ctx, bearer(b.AccessToken))
		late := e.linkTo("verify-late@example.com", "/verify-email")
		e.clock.Advance(24*time.Hour + time.Second)
		if r, _ := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: late}); r.StatusCode() != http.StatusBadRequest {
			t.Errorf("verification after 24 hours: %d, want 400", r.StatusCode())
		}
	})
}

func TestEmailChange(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("old@example.com", "a perfectly fine password")
		e.register("taken@example.com", "a perfectly fine password")
		// A verified address: its notice names the new one (an unverified one's does not, see
		// TestMailCarriesNoTypedTextToUnverifiedAddresses).
		e.verify(a.AccessToken, "old@example.com")

		req, err := e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{NewEmail: "new@example.com"}, bearer(a.AccessToken))
		if err != nil || req.JSON200 == nil || req.JSON200.PendingEmail != "new@example.com" {
			t.Fatalf("request change: %v %s", err, req.Body)
		}
		profile, _ := e.client.GetProfileWithResponse(ctx, bearer(a.AccessToken))
		if profile.JSON200 == nil || profile.JSON200.PendingEmailChangeTo.MustGet() != "new@example.com" || profile.JSON200.Email != "old@example.com" {
			t.Errorf("profile while pending: %s", profile.Body)
		}
		token := e.linkTo("new@example.com", "/confirm-email-change")
		conf, err := e.client.ConfirmEmailChangeWithResponse(ctx, &client.ConfirmEmailChangeParams{Token: token})
		if err != nil || conf.JSON200 == nil || conf.JSON200.NewEmail != "new@example.com" {
			t.Fatalf("confirm: %v %s", err, conf.Body)
		}
		notice := e.smtp.WaitFor(t, "old@example.com", mailWait)
		if notice.Subject != "Your PinBridge email was changed" || !strings.Contains(notice.Text, "new@example.com") {
			t.Errorf("old address notice = %q %s", notice.Subject, notice.Text)
		}
		me, _ := e.client.GetMeWithResponse(ctx, bearer(a.AccessToken))
		if me.JSON200 == nil || me.JSON200.User.Email != "new@example.com" || !me.JSON200.User.EmailVerified {
			t.Errorf("me after change: %s", me.Body)
		}
		if r, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "new@example.com", Password: "a perfectly fine password"}); r.StatusCode() != http.StatusOK {
			t.Errorf("login with the new email: %d", r.StatusCode())
		}
		if r, _ := e.client.ConfirmEmailChangeWithResponse(ctx, &client.ConfirmEmailChangeParams{Token: token}); r.StatusCode() != http.StatusBadRequest {
			t.Errorf("reused change token: %d, want 400", r.StatusCode())
		}

		// A taken address gets the same answer; that address is told, and no link exists.
		taken, _ := e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{NewEmail: "TAKEN@example.com"}, bearer(a.AccessToken))
		if taken.JSON200 == nil || taken.JSON200.PendingEmail != "TAKEN@example.com" {
			t.Fatalf("change to a taken address: %d %s, want the same 200 shape", taken.StatusCode(), taken.Body)
		}
		m := e.smtp.WaitFor(t, "TAKEN@example.com", mailWait)
		if m.Link() != "" || m.Subject != "A PinBridge account already uses this email" {
			t.Errorf("mail to the taken address = %q with link %q", m.Subject, m.Link())
		}
		same, _ := e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{NewEmail: "NEW@example.com"}, bearer(a.AccessToken))
		if same.StatusCode() != http.StatusUnprocessableEntity {
			t.Errorf("change to the current address: %d, want 422", same.StatusCode())
		}
	})
}

func TestProfile(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("profile@example.com", "a perfectly fine password")
		auth := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		p, err := e.client.GetProfileWithResponse(ctx, bearer(a.AccessToken))
		if err != nil || p.JSON200 == nil || p.JSON200.Email != "profile@example.com" || p.JSON200.WorkspaceName != "Jane Doe's Workspace" {
			t.Fatalf("profile: %v %s", err, p.Body)
		}
		status, _, body := e.do("PUT", "/v1/auth/profile", `{"workspace_name":"Acme Publishing","billing_email":"billing@acme.com","tax_id":"FR123"}`, auth)
		if status != http.StatusOK || body["workspace_name"] != "Acme Publishing" || body["billing_email"] != "billing@acme.com" || body["tax_id"] != "FR123" {
			t.Fatalf("PUT profile: %d %v", status, body)
		}
		// Partial: omitted fields stay; null clears.
		status, _, body = e.do("PUT", "/v1/auth/profile", `{"company_name":"Acme","tax_id":null}`, auth)
		if status != http.StatusOK || body["workspace_name"] != "Acme Publishing" || body["billing_email"] != "billing@acme.com" || body["company_name"] != "Acme" || body["tax_id"] != nil {
			t.Errorf("second PUT: %d %v", status, body)
		}
		me, _ := e.client.GetMeWithResponse(ctx, bearer(a.AccessToken))
		if me.JSON200.ActiveProject.Name != "Acme Publishing" {
			t.Errorf("production project name = %q, want the workspace_name", me.JSON200.ActiveProject.Name)
		}
		for _, c := range []struct{ body, field string }{
			{`{"email":"x@example.com"}`, "email"},
			{`{"billing_phone":"` + strings.Repeat("1", 51) + `"}`, "billing_phone"},
			{`{"address_country":"` + strings.Repeat("F", 11) + `"}`, "address_country"},
			{`{"billing_email":"not-an-email"}`, "billing_email"},
		} {
			status, _, body := e.do("PUT", "/v1/auth/profile", c.body, auth)
			if _, msg := errorOf(t, body); status != http.StatusUnprocessableEntity || !strings.Contains(msg, c.field) {
				t.Errorf("PUT %s: %d %q, want 422 naming %s", c.body, status, msg, c.field)
			}
		}
		// An empty update (a client whose every argument was left unset) changes nothing.
		status, _, body = e.do("PUT", "/v1/auth/profile", `{}`, auth)
		if status != http.StatusOK || body["workspace_name"] != "Acme Publishing" || body["company_name"] != "Acme" || body["email"] != "profile@example.com" {
			t.Errorf("PUT {}: %d %v, want 200 and the profile unchanged", status, body)
		}
	})
}

// TestMailSurvivesSMTPOutageAndRestart: with SMTP refusing, the reset mail stays queued, survives a
// restart of the server, and is delivered exactly once when SMTP is back.
func TestMailSurvivesSMTPOutageAndRestart(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st, dbURL := eng.Open(t)
			cfg := testConfig(t)
			// A refused message waits half an hour: the restarted server's clock starts at the real
			// time, later than the first one's frozen clock, and with the usual second the message
			// could be due (and tried against the SMTP server still down) before that clock is
			// advanced below.
			cfg.Mail.RetryMin, cfg.Mail.RetryMax = 30*time.Minute, 30*time.Minute
			e := newEnv(t, st, cfg, fastHash)
			e.register("outage@example.com", "a perfectly fine password")
			e.smtp.SetDown(true)
			e.forgot("outage@example.com")
			e.smtp.WaitRefused(t, mailWait)

			// Restart: a new server over the same database and the same (still down) SMTP server.
			e.stack.Close()
			cfg.Mail.SMTPURL = "" // newEnv fills in its own SMTP server; point it at ours below
			e2 := newEnvWithSMTP(t, st, cfg, fastHash, e.smtp)
			e2.clock.Advance(time.Hour) // past any backoff
			e.smtp.SetDown(false)
			e2.stack.Sender.Deliver(context.Background())
			m := e.smtp.WaitFor(t, "outage@example.com", mailWait)
			e.tokenFrom(m, "/reset-password")
			if n := e2.stack.Sender.Deliver(context.Background()); n != 0 {
				t.Errorf("a second delivery round sent %d messages, want 0", n)
			}
			// The background sender may be the one that delivered it: stopping it waits for it to
			// record the delivery.
			e2.stack.Close()
			count := 0
			for _, msg := range e.smtp.All() {
				if msg.To[0] == "outage@example.com" {
					count++
				}
			}
			if count != 1 {
				t.Errorf("reset mail delivered %d times, want exactly once", count)
			}
			db := testdb.OpenSQL(t, dbURL)
			const where = " FROM email_outbox WHERE to_address = 'outage@example.com'"
			sent := db.Int(t, "SELECT COUNT(*)"+where+" AND sent_at IS NOT NULL AND last_error IS NOT NULL AND text_body = ''")
			attempts := db.Int(t, "SELECT MAX(attempts)"+where)
			if sent != 1 || attempts < 2 {
				t.Errorf("outbox: %d rows sent after a failed attempt with the body blanked, %d attempts; want 1 row, at least 2 attempts", sent, attempts)
			}
		})
	}
}

// TestPagesDoNotConsumeTokens: opening a page (as a link scanner does) leaves the token usable, and
// the page forbids referrers and third-party loads.
func TestPagesDoNotConsumeTokens(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("scanner@example.com", "a perfectly fine password")
		e.forgot("scanner@example.com")
		link := e.smtp.WaitFor(t, "scanner@example.com", mailWait).Link()
		for range 3 {
			resp, err := http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: %d %s", link, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
				t.Errorf("CSP = %q", csp)
			}
			if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer", rp)
			}
		}
		u, _ := url.Parse(link)
		if status, msg := e.reset(u.Query().Get("token"), "a brand new password"); status != http.StatusOK {
			t.Errorf("token after the page was opened three times: %d %s, want still usable", status, msg)
		}
		for p, want := range map[string]int{"/forgot-password": 200, "/verify-email": 200, "/confirm-email-change": 200,
			"/revert-email-change": 200, "/accept-invitation": 200,
			"/assets/app.js": 200, "/assets/style.css": 200, "/assets/": 404, "/docs/swagger-ui/": 404} {
			resp, err := http.Get(e.url + p)
			if err != nil || resp.StatusCode != want {
				t.Errorf("GET %s: %v %v, want %d", p, err, resp.StatusCode, want)
			}
			resp.Body.Close()
		}
	})
}
