package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

// The takeover paths of the attack review, each closed by a flow of internal/account.

// requestEmailChange asks, with token's session, to move the account to newEmail and returns the
// confirmation link's token from the mail that address gets.
func (e *env) requestEmailChange(token, newEmail string) string {
	e.t.Helper()
	r, err := e.client.RequestEmailChangeWithResponse(context.Background(), client.RequestEmailChangeJSONRequestBody{NewEmail: client.Email(newEmail)}, bearer(token))
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("request email change to %s: %v %s", newEmail, err, r.Body)
	}
	return e.linkTo(newEmail, "/confirm-email-change")
}

func (e *env) confirmEmailChange(token string) int {
	e.t.Helper()
	r, err := e.client.ConfirmEmailChangeWithResponse(context.Background(), &client.ConfirmEmailChangeParams{Token: token})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.StatusCode()
}

// resetLink asks for a reset of email's password and returns the link's token.
func (e *env) resetLink(email string) string {
	e.t.Helper()
	e.forgot(email)
	return e.linkTo(email, "/reset-password")
}

func (e *env) requestVerification(token, email string) string {
	e.t.Helper()
	r, err := e.client.RequestEmailVerificationWithResponse(context.Background(), bearer(token))
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("request verification: %v %s", err, r.Body)
	}
	return e.linkTo(email, "/verify-email")
}

// TestEndingSessionsEndsWhatTheyStarted: a thief with a stolen session asks for an email change to
// their own address; the owner's password reset (or change) must kill that link, the pending change
// and every other outstanding link, or the thief confirms it and takes the account for good.
func TestEndingSessionsEndsWhatTheyStarted(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, how := range []string{"reset", "change"} {
			owner := how + "-owner@example.com"
			a := e.register(owner, "a perfectly fine password")
			stolen := a.AccessToken
			changeLink := e.requestEmailChange(stolen, how+"-thief@example.com")
			e.clock.Advance(2 * time.Minute) // past the resend window
			verifyLink := e.requestVerification(stolen, owner)
			e.clock.Advance(time.Second)

			switch how {
			case "reset":
				if status, msg := e.reset(e.resetLink(owner), "the owner's new password"); status != http.StatusOK {
					t.Fatalf("owner's reset: %d %s", status, msg)
				}
			case "change":
				// A reset link asked for before the change must die with it too.
				early := e.resetLink(owner)
				r, err := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: "a perfectly fine password", NewPassword: "the owner's new password"}, bearer(stolen))
				if err != nil || r.JSON200 == nil {
					t.Fatalf("owner's change: %v %s", err, r.Body)
				}
				if status, _ := e.reset(early, "the thief's password"); status != http.StatusBadRequest {
					t.Errorf("%s: reset link issued before the change: %d, want 400", how, status)
				}
			}
			if status := e.confirmEmailChange(changeLink); status != http.StatusBadRequest {
				t.Errorf("%s: the thief's email-change link after the owner's %s: %d, want 400", how, how, status)
			}
			if r, _ := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: verifyLink}); r.StatusCode() != http.StatusBadRequest {
				t.Errorf("%s: a verification link from before: %d, want 400", how, r.StatusCode())
			}
			fresh := e.loginWith(owner, "the owner's new password")
			if p, _ := e.client.GetProfileWithResponse(ctx, bearer(fresh)); p.JSON200 == nil || !p.JSON200.PendingEmailChangeTo.IsNull() {
				t.Errorf("%s: profile after: %s, want no pending email change", how, p.Body)
			}
		}
	})
}

// TestEmailChangeRetiresLinksOfTheOldAddress: reset and verification links sent to the old address
// stop working once the account has moved to the new one.
func TestEmailChangeRetiresLinksOfTheOldAddress(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("moving@example.com", "a perfectly fine password")
		reset := e.resetLink("moving@example.com")
		if status := e.confirmEmailChange(e.requestEmailChange(a.AccessToken, "moved@example.com")); status != http.StatusOK {
			t.Fatalf("confirm: %d", status)
		}
		if status, _ := e.reset(reset, "someone else's password"); status != http.StatusBadRequest {
			t.Errorf("reset link sent to the old address, after the change: %d, want 400", status)
		}
	})
}

// TestNewerEmailChangeRetiresOlder: a request to an address already in use (which sends no link)
// still retires the link of the previous request.
func TestNewerEmailChangeRetiresOlder(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("newer@example.com", "a perfectly fine password")
		e.register("in-use@example.com", "a perfectly fine password")
		older := e.requestEmailChange(a.AccessToken, "first-choice@example.com")
		r, err := e.client.RequestEmailChangeWithResponse(context.Background(), client.RequestEmailChangeJSONRequestBody{NewEmail: "in-use@example.com"}, bearer(a.AccessToken))
		if err != nil || r.JSON200 == nil {
			t.Fatalf("second request: %v %s", err, r.Body)
		}
		if status := e.confirmEmailChange(older); status != http.StatusBadRequest {
			t.Errorf("the older link after a newer request: %d, want 400", status)
		}
	})
}

// TestResetOfNeverVerifiedAddressRevokesKeys: someone registers another person's address and mints
// an API key; the real owner resets the password; the intruder's key must die with the reset.
func TestResetOfNeverVerifiedAddressRevokesKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		intruder := e.register("victim@example.com", "the intruder's password")
		key := e.createKey(intruder.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "backdoor"})
		// An accomplice joins as admin through the intruder's invitation (an unverified account makes
		// nobody an owner), and another invitation waits.
		accomplice := e.join(intruder.AccessToken, "accomplice@example.com", "admin")
		accompliceKey := e.createKey(accomplice.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "accomplice's"})
		_, pending := e.invite(intruder.AccessToken, "accomplice2@example.com", "admin")
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": key.APIKey}); status != http.StatusOK {
			t.Fatalf("intruder's key before: %d", status)
		}
		if r, _ := e.client.RegisterWithResponse(context.Background(), client.RegisterJSONRequestBody{FullName: "Victim", Email: "victim@example.com", Password: "the victim's password"}); r.StatusCode() != http.StatusConflict {
			t.Fatalf("the owner's registration: %d, want 409", r.StatusCode())
		}
		if status, msg := e.reset(e.resetLink("victim@example.com"), "the victim's password"); status != http.StatusOK {
			t.Fatalf("owner's reset: %d %s", status, msg)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": key.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("intruder's key after the owner's reset: %d, want 401", status)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": accompliceKey.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("the accomplice's key after the owner's reset: %d, want 401", status)
		}
		victim := e.loginWith("victim@example.com", "the victim's password")
		members, _ := e.client.ListTeamMembersWithResponse(context.Background(), bearer(victim))
		if members.JSON200 == nil || len(members.JSON200.Items) != 1 {
			t.Errorf("members after the owner's reset: %s, want the owner alone", members.Body)
		}
		if r, _ := e.client.RegisterWithResponse(context.Background(), client.RegisterJSONRequestBody{FullName: "Second", Email: "accomplice2@example.com", Password: "a perfectly fine password", InviteToken: &pending}); r.StatusCode() != http.StatusBadRequest {
			t.Errorf("the intruder's pending invitation after the owner's reset: %d, want 400", r.StatusCode())
		}

		// A reset of an address already verified is an ordinary reset: keys stay.
		owner := e.register("verified@example.com", "a perfectly fine password")
		verify := e.requestVerification(owner.AccessToken, "verified@example.com")
		if r, _ := e.client.VerifyEmailWithResponse(context.Background(), &client.VerifyEmailParams{Token: verify}); r.StatusCode() != http.StatusOK {
			t.Fatalf("verify: %d", r.StatusCode())
		}
		kept := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "production"})
		if status, msg := e.reset(e.resetLink("verified@example.com"), "a brand new password"); status != http.StatusOK {
			t.Fatalf("reset: %d %s", status, msg)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": kept.APIKey}); status != http.StatusOK {
			t.Errorf("a verified account's key after its reset: %d, want 200", status)
		}
	})
}

// proxiedEnv trusts loopback as a proxy, so a test speaks from any address with X-Forwarded-For,
// and keeps the production rate limits.
func proxiedEnv(t *testing.T, eng testdb.Engine) *env {
	t.Helper()
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	return strictEnv(t, eng, func(c *config.Config) { c.Limits.TrustedProxies = []*net.IPNet{loopback} })
}

func (e *env) loginFrom(addr, email, pw string) int {
	e.t.Helper()
	status, _, _ := e.do("POST", "/v1/auth/login", `{"email":"`+email+`","password":"`+pw+`"}`, map[string]string{"X-Forwarded-For": addr})
	return status
}

// TestLockoutIsNotADenialOfService: failures from one address slow that address only.
func TestLockoutIsNotADenialOfService(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := proxiedEnv(t, eng)
			e.register("target@example.com", "a perfectly fine password")
			for i := range 50 {
				if status := e.loginFrom("203.0.113.66", "target@example.com", fmt.Sprintf("guess %d", i)); status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
					t.Fatalf("guess %d: %d, want 401 or 429", i, status)
				}
			}
			if status := e.loginFrom("203.0.113.66", "target@example.com", "a perfectly fine password"); status != http.StatusTooManyRequests {
				t.Errorf("the guessing address, with the right password: %d, want 429 (it waits)", status)
			}
			if status := e.loginFrom("198.51.100.7", "target@example.com", "a perfectly fine password"); status != http.StatusOK {
				t.Errorf("the owner from another address after 50 guesses elsewhere: %d, want 200 at once", status)
			}
		})
	}
}

// TestLoginCeilingAcrossSources: enough failures from enough addresses pause the account for
// everyone, and the owner is told by email, once.
func TestLoginCeilingAcrossSources(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := proxiedEnv(t, eng)
			e.register("ceiling@example.com", "a perfectly fine password")
			const ceiling = 200 // account.loginAccountCeiling
			for i := range ceiling {
				addr := fmt.Sprintf("10.%d.%d.1", i/200, i%200)
				if status := e.loginFrom(addr, "ceiling@example.com", "wrong"); status != http.StatusUnauthorized {
					t.Fatalf("failure %d from %s: %d, want 401", i+1, addr, status)
				}
			}
			if status := e.loginFrom("198.51.100.8", "ceiling@example.com", "a perfectly fine password"); status != http.StatusTooManyRequests {
				t.Errorf("after %d failures from %d addresses, a fresh address: %d, want 429", ceiling, ceiling, status)
			}
			m := e.smtp.WaitFor(t, "ceiling@example.com", mailWait)
			if !strings.Contains(m.Subject, "paused") {
				t.Errorf("mail to the owner = %q, want the notice that sign-ins are paused", m.Subject)
			}
			// The activity log: each failure from its address, and the pause once, by the service.
			e.stack.Accounts.Wait()
			failed := e.sql.Int(t, "SELECT COUNT(DISTINCT source_address) FROM activity_logs WHERE action = 'auth.login' AND status = 'failed' AND actor_id IS NULL")
			locked := e.sql.Strings(t, "SELECT status || ' ' || actor_type || ' ' || actor_label || ' ' || source_address || ' ' || metadata FROM activity_logs WHERE action = 'auth.login.locked'")
			if failed != ceiling || len(locked) != 1 || locked[0] != `success system sign-in throttle 10.0.199.1 {"failures":200,"paused_seconds":900}` {
				t.Errorf("activity log: %d failed sign-ins from distinct addresses and locks %q; want %d and one lock by the system, from the last address", failed, locked, ceiling)
			}
			e.clock.Advance(time.Hour)
			if status := e.loginFrom("198.51.100.8", "ceiling@example.com", "a perfectly fine password"); status != http.StatusOK {
				t.Errorf("after the pause: %d, want 200", status)
			}
			// The count starts over each hour: one failure does not pause the account again.
			e.clock.Advance(time.Hour)
			if status := e.loginFrom("10.9.9.9", "ceiling@example.com", "wrong"); status != http.StatusUnauthorized {
				t.Errorf("a failure in a new hour: %d, want 401", status)
			}
			if status := e.loginFrom("198.51.100.9", "ceiling@example.com", "a perfectly fine password"); status != http.StatusOK {
				t.Errorf("the owner after one more failure in a new hour: %d, want 200", status)
			}
		})
	}
}

// TestWrongCurrentPasswordCountsAsFailedLogin: change-password cannot be used to guess passwords
// faster than login.
func TestWrongCurrentPasswordCountsAsFailedLogin(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := strictEnv(t, eng, nil)
			a := e.register("guessed@example.com", "a perfectly fine password")
			change := func(current string) int {
				status, _, _ := e.do("POST", "/v1/auth/change-password", `{"current_password":"`+current+`","new_password":"a brand new password"}`,
					map[string]string{"Authorization": "Bearer " + a.AccessToken})
				return status
			}
			for i := range 6 {
				if status := change(fmt.Sprintf("guess %d", i)); status != http.StatusBadRequest {
					t.Fatalf("wrong guess %d: %d, want 400", i+1, status)
				}
			}
			if status := change("a perfectly fine password"); status != http.StatusTooManyRequests {
				t.Errorf("change-password after 6 wrong guesses: %d, want 429", status)
			}
			if status := e.loginFrom("", "guessed@example.com", "a perfectly fine password"); status != http.StatusTooManyRequests {
				t.Errorf("login from the same address after 6 wrong change-password guesses: %d, want 429", status)
			}
		})
	}
}

// TestMailCarriesNoTypedTextToUnverifiedAddresses: a name typed at registration reaches no mail
// sent to an address nobody proved, and never as something that reads like a link.
func TestMailCarriesNoTypedTextToUnverifiedAddresses(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const bait = "Your account is locked, restore it at https://evil.example"
		r, err := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: bait, Email: "someone@example.com", Password: "a perfectly fine password"})
		if err != nil || r.JSON201 == nil {
			t.Fatalf("register: %v %s", err, r.Body)
		}
		verify := e.requestVerification(r.JSON201.AccessToken, "someone@example.com")
		reset := e.resetLink("someone@example.com")
		for _, m := range e.smtp.All() {
			if strings.Contains(m.Text+m.HTML, "evil") || strings.Contains(m.Text+m.HTML, "locked") {
				t.Errorf("mail %q to an unverified address carries the typed name:\n%s", m.Subject, m.Text)
			}
		}
		// Verified, the address still never gets a name that reads like a link.
		if r, _ := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: verify}); r.StatusCode() != http.StatusOK {
			t.Fatalf("verify: %d", r.StatusCode())
		}
		if status, _ := e.reset(reset, "a brand new password"); status != http.StatusOK {
			t.Fatalf("reset: %d", status)
		}
		notice := e.smtp.WaitFor(t, "someone@example.com", mailWait)
		if strings.Contains(notice.Text+notice.HTML, "evil") {
			t.Errorf("notice %q to the verified address carries a link-like name:\n%s", notice.Subject, notice.Text)
		}
		// An ordinary name is greeted once the address is proved.
		plain := e.register("plain-name@example.com", "a perfectly fine password")
		v := e.requestVerification(plain.AccessToken, "plain-name@example.com")
		if !strings.HasPrefix(e.smtp.All()[len(e.smtp.All())-1].Text, "Hi,") {
			t.Errorf("verification mail to an unverified address greets by name")
		}
		if r, _ := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: v}); r.StatusCode() != http.StatusOK {
			t.Fatalf("verify: %d", r.StatusCode())
		}
		if status, _ := e.reset(e.resetLink("plain-name@example.com"), "a brand new password"); status != http.StatusOK {
			t.Fatal("reset")
		}
		if m := e.smtp.WaitFor(t, "plain-name@example.com", mailWait); !strings.HasPrefix(m.Text, "Hi Jane Doe,") {
			t.Errorf("notice to a verified address: %q, want it to greet Jane Doe", firstLine(m.Text))
		}
	})
}

// TestOneCanonicalFormPerMailbox: a lookalike spelling of a registered address is that address;
// one that could not be folded safely, or that names an internal host, is refused with 422.
func TestOneCanonicalFormPerMailbox(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		register := func(email string) (int, map[string]any) {
			status, _, body := e.do("POST", "/v1/auth/register", `{"full_name":"Kate","email":"`+email+`","password":"a perfectly fine password"}`, nil)
			return status, body
		}
		e.register("kate@example.com", "a perfectly fine password")
		if status, _ := register(`\u212Aate@example.com`); status != http.StatusConflict {
			t.Errorf("KELVIN SIGN spelling of a registered address: %d, want 409", status)
		}
		status, body := register(`\u212Aeith@example.com`)
		if status != http.StatusCreated {
			t.Fatalf("KELVIN SIGN spelling of a new address: %d %v", status, body)
		}
		if got := body["user"].(map[string]any)["email"]; got != "Keith@example.com" {
			t.Errorf("stored email = %q, want the canonical Keith@example.com", got)
		}
		e.forgot("keith@example.com")
		if m := e.smtp.WaitFor(t, "Keith@example.com", mailWait); m.To[0] != "Keith@example.com" {
			t.Errorf("reset mail to %v, want the canonical address", m.To)
		}
		for _, email := range []string{`\u0130nes@example.com`, `x@[127.0.0.1]`, `x@127.0.0.1`, `x@intranet`, `x@example.123`} {
			status, body := register(email)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("register %s: %d, want 422", email, status)
				continue
			}
			if _, msg := errorOf(t, body); !strings.Contains(msg, "email") {
				t.Errorf("register %s: message %q does not name the email field", email, msg)
			}
		}
	})
}

// TestEmailChangeNeedsRecentPassword: a session that proved the password more than the window ago
// must send current_password to move the account's email; switching projects does not refresh it.
func TestEmailChangeNeedsRecentPassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("reauth@example.com", "a perfectly fine password")
		sandbox := e.sandbox(a.AccessToken)
		e.clock.Advance(11 * time.Minute) // past the 10-minute window, within the hour of the token
		sw, err := e.client.SwitchProjectWithResponse(context.Background(), client.SwitchProjectJSONRequestBody{ProjectID: sandbox.ID}, bearer(a.AccessToken))
		if err != nil || sw.JSON200 == nil {
			t.Fatalf("switch: %v %s", err, sw.Body)
		}
		for name, token := range map[string]string{"the old session": a.AccessToken, "a session moved to the sandbox since": sw.JSON200.AccessToken} {
			for _, body := range []string{`{"new_email":"thief@example.com"}`, `{"new_email":"thief@example.com","current_password":"a wrong guess"}`} {
				status, _, resp := e.do("POST", "/v1/auth/email/change/request", body, map[string]string{"Authorization": "Bearer " + token})
				if code, _ := errorOf(t, resp); status != http.StatusForbidden || code != "reauthentication_required" {
					t.Errorf("%s, %s: %d %s, want 403 reauthentication_required", name, body, status, code)
				}
			}
		}
		status, _, resp := e.do("POST", "/v1/auth/email/change/request", `{"new_email":"moving@example.com","current_password":"a perfectly fine password"}`,
			map[string]string{"Authorization": "Bearer " + a.AccessToken})
		if status != http.StatusOK {
			t.Errorf("with the right current_password: %d %v, want 200", status, resp)
		}
		// A fresh login is a fresh proof.
		fresh := e.loginWith("reauth@example.com", "a perfectly fine password")
		if status, _, resp := e.do("POST", "/v1/auth/email/change/request", `{"new_email":"moving2@example.com"}`, map[string]string{"Authorization": "Bearer " + fresh}); status != http.StatusOK {
			t.Errorf("right after a login, without current_password: %d %v, want 200", status, resp)
		}
	})
}

// TestThisWasntMeRevertsAnEmailChange: the notice to the former address undoes the change, ends
// every session and revokes the keys created since the stolen session could have been opened (the
// re-authentication window before the request).
func TestThisWasntMeRevertsAnEmailChange(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("rightful@example.com", "a perfectly fine password")
		e.verify(owner.AccessToken, "rightful@example.com")
		before := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "the owner's"})
		e.clock.Advance(11 * time.Minute)
		stolen := e.loginWith("rightful@example.com", "a perfectly fine password")
		plantedEarly := e.createKey(stolen, client.CreateAPIKeyJSONRequestBody{Name: "planted before the request"})
		e.clock.Advance(time.Second)
		change := e.requestEmailChange(stolen, "taker@example.com")
		e.clock.Advance(time.Second)
		beforeConfirm := e.createKey(stolen, client.CreateAPIKeyJSONRequestBody{Name: "planted before the confirmation"})
		if status := e.confirmEmailChange(change); status != http.StatusOK {
			t.Fatalf("confirm: %d", status)
		}
		notice := e.mailLinking("rightful@example.com", "/revert-email-change")
		revert := e.tokenFrom(notice, "/revert-email-change")
		if !strings.Contains(notice.Text, "wasn't you") {
			t.Errorf("notice to the former address: %s", notice.Text)
		}
		e.clock.Advance(time.Second)
		planted := e.createKey(stolen, client.CreateAPIKeyJSONRequestBody{Name: "planted"})
		// The thief cannot squat the former address, nor destroy the link with a reset of their own.
		if r, _ := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: "Squatter", Email: "rightful@example.com", Password: "a perfectly fine password"}); r.StatusCode() != http.StatusConflict {
			t.Errorf("registering the former address while it may be taken back: %d, want 409", r.StatusCode())
		}
		e.clock.Advance(time.Minute)
		if status, msg := e.reset(e.resetLink("taker@example.com"), "the taker's own password"); status != http.StatusOK {
			t.Fatalf("the taker's reset: %d %s", status, msg)
		}

		r, err := e.client.RevertEmailChangeWithResponse(ctx, client.RevertEmailChangeJSONRequestBody{Token: revert})
		if err != nil || r.JSON200 == nil || r.JSON200.Email != "rightful@example.com" {
			t.Fatalf("revert: %v %s", err, r.Body)
		}
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + stolen}); status != http.StatusUnauthorized {
			t.Errorf("the taker's session after the revert: %d, want 401", status)
		}
		for name, k := range map[string]string{"after the change": planted.APIKey, "between the request and the confirmation": beforeConfirm.APIKey,
			"by the stolen session before the request": plantedEarly.APIKey} {
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": k}); status != http.StatusUnauthorized {
				t.Errorf("a key created %s: %d, want 401", name, status)
			}
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": before.APIKey}); status != http.StatusOK {
			t.Errorf("a key from before the stolen session: %d, want 200", status)
		}
		// The password whoever changed the address may know stops working; the restored address gets
		// a link to choose a new one.
		if r, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "rightful@example.com", Password: "a perfectly fine password"}); r.StatusCode() != http.StatusUnauthorized {
			t.Errorf("the old password after the revert: %d, want 401", r.StatusCode())
		}
		restored := e.smtp.WaitFor(t, "rightful@example.com", mailWait)
		if status, msg := e.reset(e.tokenFrom(restored, "/reset-password"), "the rightful new password"); status != http.StatusOK {
			t.Fatalf("reset from the restored notice: %d %s", status, msg)
		}
		if e.loginWith("rightful@example.com", "the rightful new password") == "" {
			t.Error("the owner cannot log in with the restored address")
		}
		if r, _ := e.client.RevertEmailChangeWithResponse(ctx, client.RevertEmailChangeJSONRequestBody{Token: revert}); r.StatusCode() != http.StatusBadRequest {
			t.Errorf("the link a second time: %d, want 400", r.StatusCode())
		}
	})
}
