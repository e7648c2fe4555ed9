package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pinbridge/pinbridge-auth/gen/client"
)

// TestSessionsEndInTheSameSecond: a password change or reset ends every earlier session on the
// next request although the test clock stands still, so the tokens before and after share their
// iat to the second; the session opened after the change (or by a login after the reset) works.
func TestSessionsEndInTheSameSecond(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cases := []struct {
			name string
			// end ends the sessions of email (password "a perfectly fine password") and returns a
			// token opened after that.
			end func(t *testing.T, email, token string) string
		}{
			{"change password", func(t *testing.T, email, token string) string {
				resp, err := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{
					CurrentPassword: "a perfectly fine password", NewPassword: "a brand new password",
				}, bearer(token))
				if err != nil || resp.JSON200 == nil || resp.JSON200.AccessToken == nil {
					t.Fatalf("change password: %v, status %d, body %s; want 200 with an access token", err, resp.StatusCode(), resp.Body)
				}
				return *resp.JSON200.AccessToken
			}},
			{"reset password", func(t *testing.T, email, _ string) string {
				e.forgot(email)
				reset := e.linkTo(email, "/reset-password")
				if status, msg := e.reset(reset, "a brand new password"); status != http.StatusOK {
					t.Fatalf("reset: got %d %q, want 200", status, msg)
				}
				return e.loginWith(email, "a brand new password")
			}},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				email := "same-second-" + strconv.Itoa(i) + "@example.com"
				before := e.clock.Now()
				first := e.register(email, "a perfectly fine password").AccessToken
				second := e.login(email)
				fresh := c.end(t, email, first)
				if now := e.clock.Now(); !now.Equal(before) {
					t.Fatalf("the clock moved from %v to %v; the test needs one instant", before, now)
				}
				for name, tok := range map[string]string{"token from register": first, "token from an earlier login": second} {
					if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + tok}); status != http.StatusUnauthorized {
						t.Errorf("%s, used in the second its session ended: got %d, want 401", name, status)
					}
				}
				if status, _, body := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + fresh}); status != http.StatusOK {
					t.Errorf("token opened after the end of sessions: got %d %v, want 200", status, body)
				}
			})
		}
	})
}

// TestIssuedTokensAreWholeSeconds: every token the API hands out has exp, iat and nbf as JSON
// integers (some JWT libraries refuse fractions), nbf equal to iat and exp-iat equal to
// expires_in, and a plain HS256 header.
func TestIssuedTokensAreWholeSeconds(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		reg := e.register("whole-seconds@example.com", "a perfectly fine password")
		login, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "whole-seconds@example.com", Password: "a perfectly fine password"})
		if err != nil || login.JSON200 == nil {
			t.Fatalf("login: %v, body %s", err, login.Body)
		}
		change, err := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{
			CurrentPassword: "a perfectly fine password", NewPassword: "a brand new password",
		}, bearer(login.JSON200.AccessToken))
		if err != nil || change.JSON200 == nil || change.JSON200.AccessToken == nil || change.JSON200.ExpiresIn == nil {
			t.Fatalf("change password: %v, body %s", err, change.Body)
		}
		cases := []struct {
			name      string
			token     string
			expiresIn int
		}{
			{"register", reg.AccessToken, reg.ExpiresIn},
			{"login", login.JSON200.AccessToken, login.JSON200.ExpiresIn},
			{"change password", *change.JSON200.AccessToken, *change.JSON200.ExpiresIn},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				parts := strings.Split(c.token, ".")
				if len(parts) != 3 {
					t.Fatalf("token has %d parts, want 3", len(parts))
				}
				var header map[string]any
				decodeSegment(t, parts[0], &header)
				if len(header) != 2 || header["alg"] != "HS256" || header["typ"] != "JWT" {
					t.Errorf("header = %v, want exactly alg HS256 and typ JWT", header)
				}
				var payload map[string]any
				decodeSegment(t, parts[1], &payload)
				times := map[string]int64{}
				for _, claim := range []string{"exp", "iat", "nbf"} {
					n, ok := payload[claim].(json.Number)
					v, err := strconv.ParseInt(n.String(), 10, 64)
					if !ok || err != nil {
						t.Errorf("%s = %v, want a JSON integer", claim, payload[claim])
					}
					times[claim] = v
				}
				if times["nbf"] != times["iat"] || times["exp"]-times["iat"] != int64(c.expiresIn) {
					t.Errorf("iat %d, nbf %d, exp %d; want nbf = iat and exp - iat = expires_in %d", times["iat"], times["nbf"], times["exp"], c.expiresIn)
				}
			})
		}
	})
}

// decodeSegment decodes one base64url segment of a JWT into v, keeping numbers as written.
func decodeSegment(t *testing.T, segment string, v any) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatalf("segment %q is not base64url: %v", segment, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("segment %s is not JSON: %v", raw, err)
	}
}

// TestMeShowsWhatLoginShows: me reads a narrower join than login (store.AccountSummary), and still
// answers every field as login does, for a verified user with a name, a sandbox and a second
// organization; only the token fields are login's own.
func TestMeShowsWhatLoginShows(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("summary@example.com", "a perfectly fine password")
		e.verify(a.AccessToken, "summary@example.com")
		e.sandbox(a.AccessToken)
		owner := e.register("other-owner@example.com", "a perfectly fine password")
		_, link := e.invite(owner.AccessToken, "summary@example.com", "editor")
		if status, _ := e.accept(a.AccessToken, link); status != http.StatusOK {
			t.Fatalf("accept: %d", status)
		}
		status, _, login := e.do("POST", "/v1/auth/login", `{"email":"summary@example.com","password":"a perfectly fine password"}`, nil)
		if status != http.StatusOK {
			t.Fatalf("login: %d %v", status, login)
		}
		_, _, me := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + login["access_token"].(string)})
		if user := me["user"].(map[string]any); user["email_verified"] != true || user["full_name"] == "" {
			t.Fatalf("me user = %v: the test wants a verified user with a name", user)
		}
		if orgs := me["available_organizations"].([]any); len(orgs) != 2 {
			t.Fatalf("me lists %d organizations, want 2", len(orgs))
		}
		for _, k := range []string{"access_token", "token_type", "expires_in"} {
			delete(login, k)
		}
		if !reflect.DeepEqual(me, login) {
			t.Errorf("me    = %v\nlogin = %v", me, login)
		}
	})
}
