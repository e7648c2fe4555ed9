package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/session"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

func TestRegisterLoginMe(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		tz := "America/New_York"
		ws := "Acme Publishing"
		reg, err := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{
			FullName: "Jane Doe", Email: "Jane@Example.com", Password: "correct horse battery",
			Timezone: &tz, WorkspaceName: &ws,
			MarketingAttribution: &client.MarketingAttribution{"utm_source": ptr("newsletter")},
		})
		if err != nil || reg.JSON201 == nil {
			t.Fatalf("register: %v, status %d, body %s", err, reg.StatusCode(), reg.Body)
		}
		a := reg.JSON201
		if a.AccessToken == "" || a.ExpiresIn != 3600 || a.TokenType == nil || *a.TokenType != "bearer" {
			t.Errorf("token fields = %q, %d, %v; want a token, 3600, bearer", a.AccessToken, a.ExpiresIn, a.TokenType)
		}
		// The local part as given, the domain in its canonical (IDNA, lower-case) form.
		if a.User.Email != "Jane@example.com" || a.User.Timezone != tz || a.User.EmailVerified {
			t.Errorf("user = %+v, want the email Jane@example.com, %s, not verified", a.User, tz)
		}
		if a.Organization.Name != ws || a.ActiveProject.Name != ws || a.ActiveProject.Environment != client.ProjectEnvironmentProduction {
			t.Errorf("organization %+v / active project %+v, want both named %q, production", a.Organization, a.ActiveProject, ws)
		}
		if !sameWorkspace(a.Workspace, a.ActiveProject) || len(a.Projects) != 1 || !sameWorkspace(a.Projects[0], a.ActiveProject) {
			t.Errorf("workspace %+v / projects %+v, want both equal to the active project", a.Workspace, a.Projects)
		}
		if a.ActiveProject.Plan != client.Free || a.ActiveProject.Timezone != tz || a.ActiveProject.CreatedAt == nil {
			t.Errorf("active project = %+v, want plan free, timezone %s, created_at", a.ActiveProject, tz)
		}
		if a.OrganizationRole != client.Owner || !a.Permissions.CanManageAPIKeys {
			t.Errorf("role %v permissions %+v, want owner with every permission", a.OrganizationRole, a.Permissions)
		}

		login, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "jane@EXAMPLE.com", Password: "correct horse battery"})
		if err != nil || login.JSON200 == nil {
			t.Fatalf("login in another letter case: %v, status %d, body %s", err, login.StatusCode(), login.Body)
		}
		if login.JSON200.User.ID != a.User.ID || login.JSON200.ActiveProject.ID != a.ActiveProject.ID {
			t.Errorf("login user/project = %s/%s, want %s/%s", login.JSON200.User.ID, login.JSON200.ActiveProject.ID, a.User.ID, a.ActiveProject.ID)
		}

		for name, token := range map[string]string{"register": a.AccessToken, "login": login.JSON200.AccessToken} {
			me, err := e.client.GetMeWithResponse(ctx, bearer(token))
			if err != nil || me.JSON200 == nil {
				t.Fatalf("me with the %s token: %v, status %d, body %s", name, err, me.StatusCode(), me.Body)
			}
			m := me.JSON200
			if m.User.ID != a.User.ID || m.User.Email != a.User.Email || !m.User.CreatedAt.Equal(a.User.CreatedAt) || m.Organization != a.Organization || !sameWorkspace(m.ActiveProject, a.ActiveProject) || !sameWorkspace(m.Workspace, a.Workspace) {
				t.Errorf("me (%s token) = %+v, want the register response's user, organization and project", name, m)
			}
		}
	})
}

func TestRegisterDefaults(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("plain@example.com", "a perfectly fine password")
		if a.User.Timezone != "UTC" || a.ActiveProject.Timezone != "UTC" {
			t.Errorf("timezones = %q/%q, want UTC by default", a.User.Timezone, a.ActiveProject.Timezone)
		}
		if a.Organization.Name != "Jane Doe's Workspace" {
			t.Errorf("organization name = %q, want one built from the full name", a.Organization.Name)
		}
		if len(a.AvailableOrganizations) != 1 || a.AvailableOrganizations[0].Organization != a.Organization {
			t.Errorf("available_organizations = %v, want the user's one organization", a.AvailableOrganizations)
		}
	})
}

func TestConcurrentRegistrationsOfOneEmail(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const n = 20
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := "same@example.com"
				if i%3 == 0 {
					email = "SAME@example.com"
				}
				resp, err := e.client.RegisterWithResponse(context.Background(), client.RegisterJSONRequestBody{
					FullName: "Racer", Email: client.Email(email), Password: "a perfectly fine password",
				})
				if err != nil {
					t.Errorf("register %d: %v", i, err)
					return
				}
				statuses[i] = resp.StatusCode()
				if resp.StatusCode() == http.StatusConflict && (resp.JSON409 == nil || resp.JSON409.Detail.Message != "Account already exists") {
					t.Errorf("409 body = %s, want message %q", resp.Body, "Account already exists")
				}
			}()
		}
		wg.Wait()
		created, conflicts := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
				conflicts++
			}
		}
		if created != 1 || conflicts != n-1 {
			t.Fatalf("statuses = %v; want exactly one 201 and %d 409", statuses, n-1)
		}
	})
}

func TestLoginFailuresLookTheSame(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("known@example.com", "a perfectly fine password")
		s1, _, unknown := e.do("POST", "/v1/auth/login", `{"email":"unknown@example.com","password":"whatever-password"}`, nil)
		s2, _, wrong := e.do("POST", "/v1/auth/login", `{"email":"known@example.com","password":"whatever-password"}`, nil)
		if s1 != http.StatusUnauthorized || s2 != http.StatusUnauthorized {
			t.Fatalf("statuses = %d, %d; want 401 for both", s1, s2)
		}
		c1, m1 := errorOf(t, unknown)
		c2, m2 := errorOf(t, wrong)
		if c1 != c2 || m1 != m2 || c1 != "invalid_credentials" || m1 != "Invalid email or password" {
			t.Errorf("unknown email -> %s %q, wrong password -> %s %q; want both invalid_credentials %q", c1, m1, c2, m2, "Invalid email or password")
		}
	})
}

// TestPasswordStoredAsArgon2idPHC registers with the production parameters and checks what is stored.
func TestPasswordStoredAsArgon2idPHC(t *testing.T) {
	st, _ := testdb.Engines()[0].Open(t)
	e := newEnv(t, st, testConfig(t), password.OWASP)
	a := e.register("phc@example.com", "a perfectly fine password")
	u, err := st.UserByID(context.Background(), a.User.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("stored hash = %q, want argon2id PHC with m=19456,t=2,p=1", u.PasswordHash)
	}
	if strings.Contains(u.PasswordHash, "perfectly") {
		t.Error("stored hash contains the password")
	}
}

// TestLoginUpgradesOutdatedHash: a hash made with other parameters is replaced on the next login.
func TestLoginUpgradesOutdatedHash(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("upgrade@example.com", "a perfectly fine password")
		old, err := password.Hash("a perfectly fine password", password.Params{Memory: 512, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := e.store.SetPasswordHash(ctx, a.User.ID.String(), old, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "upgrade@example.com", Password: "a perfectly fine password"})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("login: %v %d", err, resp.StatusCode())
		}
		u, _ := e.store.UserByID(ctx, a.User.ID.String())
		if !strings.Contains(u.PasswordHash, fmt.Sprintf("m=%d,t=%d", fastHash.Memory, fastHash.Time)) {
			t.Errorf("hash after login = %q, want it re-made with the current parameters", u.PasswordHash)
		}
	})
}

func TestLoginUpdatesTimezone(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.register("tz@example.com", "a perfectly fine password")
		tz := "Asia/Tokyo"
		resp, err := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: "tz@example.com", Password: "a perfectly fine password", Timezone: &tz})
		if err != nil || resp.JSON200 == nil || resp.JSON200.User.Timezone != tz {
			t.Fatalf("login with timezone: %v, body %s; want user timezone %s", err, resp.Body, tz)
		}
	})
}

func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInvalidAccessTokens(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("tokens@example.com", "a perfectly fine password")
		userID, orgID, pid := a.User.ID.String(), a.Organization.ID.String(), a.ActiveProject.ID.String()
		now := e.clock.Now()
		good := session.NewManager([]byte(testSecret), e.cfg.Auth.Issuer, e.cfg.Auth.Audience, time.Hour, e.clock.Now)
		past := session.NewManager([]byte(testSecret), e.cfg.Auth.Issuer, e.cfg.Auth.Audience, time.Hour, func() time.Time { return now.Add(-2 * time.Hour) })
		otherKey := session.NewManager([]byte("another-secret-0123456789-0123456789-xyz"), e.cfg.Auth.Issuer, e.cfg.Auth.Audience, time.Hour, e.clock.Now)
		mustIssue := func(m *session.Manager, u, o, p string, sv int64) string {
			tok, err := m.Issue(u, o, p, sv)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		claims := func(mut func(*session.Claims)) session.Claims {
			c := session.Claims{
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer: e.cfg.Auth.Issuer, Subject: userID, Audience: jwt.ClaimStrings{e.cfg.Auth.Audience},
					IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), ID: uuid.NewString(),
				},
				OrganizationID: orgID, ProjectID: pid, SessionVersion: new(int64(0)),
			}
			mut(&c)
			return c
		}
		payload, _ := json.Marshal(claims(func(*session.Claims) {}))
		enc := base64.RawURLEncoding.EncodeToString
		algNone := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
		valid := mustIssue(good, userID, orgID, pid, 0)
		parts := strings.Split(valid, ".")
		tampered := parts[0] + "." + enc(mustJSON(claims(func(c *session.Claims) { c.Subject = uuid.NewString() }))) + "." + parts[2]

		cases := map[string]string{
			"expired":            mustIssue(past, userID, orgID, pid, 0),
			"bad signature":      mustIssue(otherKey, userID, orgID, pid, 0),
			"alg none":           algNone,
			"HS512":              signed(t, jwt.SigningMethodHS512, []byte(testSecret), claims(func(*session.Claims) {})),
			"unknown user":       mustIssue(good, uuid.NewString(), orgID, pid, 0),
			"other organization": mustIssue(good, userID, uuid.NewString(), pid, 0),
			"unknown project":    mustIssue(good, userID, orgID, uuid.NewString(), 0),
			"wrong issuer":       signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *session.Claims) { c.Issuer = "evil" })),
			"wrong audience":     signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *session.Claims) { c.Audience = jwt.ClaimStrings{"evil"} })),
			"no expiry":          signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *session.Claims) { c.ExpiresAt = nil })),
			"no project claim":   signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *session.Claims) { c.ProjectID = "" })),
			"tampered payload":   tampered,
			"crit header":        critical(t, valid),
			"other sessions":     mustIssue(good, userID, orgID, pid, 1),
			"no session version": signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims(func(c *session.Claims) { c.SessionVersion = nil })),
			"garbage":            "not.a.jwt",
			"huge":               strings.Repeat("a", 10000),
		}
		for name, token := range cases {
			status, hdr, body := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + token})
			code, msg := errorOf(t, body)
			if status != http.StatusUnauthorized || code != "invalid_access_token" || msg != "Invalid access token" {
				t.Errorf("%s: got %d %s %q, want 401 invalid_access_token %q", name, status, code, msg, "Invalid access token")
			}
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q, want a Bearer challenge", name, hdr.Get("WWW-Authenticate"))
			}
		}
		// The control: the well-formed token is accepted.
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + valid}); status != http.StatusOK {
			t.Fatalf("valid token: status %d, want 200", status)
		}
		// Ending the user's sessions (as a password reset does) refuses tokens of the version before,
		// within the same instant, and accepts those of the new one.
		if n := e.sql.Exec(t, "UPDATE users SET session_version = session_version + 1 WHERE id = ?", userID); n != 1 {
			t.Fatalf("ended the sessions of %d users, want 1", n)
		}
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + valid}); status != http.StatusUnauthorized {
			t.Errorf("token of session version 0 after the user's moved to 1: status %d, want 401", status)
		}
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + mustIssue(good, userID, orgID, pid, 1)}); status != http.StatusOK {
			t.Errorf("token of the user's current session version: status %d, want 200", status)
		}
	})
}

// critical re-signs token, with the test secret, under a header that lists a critical extension
// (RFC 7515 4.1.11), which the service must refuse as one it does not understand.
func critical(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","crit":["exp"]}`)) + "." + parts[1]
	sig, err := jwt.SigningMethodHS256.Sign(unsigned, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestMissingAndMalformedCredentials(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		cases := []struct {
			name    string
			headers map[string]string
			code    string
			msg     string
		}{
			{"none", nil, "missing_access_token", "Missing access token"},
			{"basic scheme", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_access_token", "Invalid access token"},
			{"empty bearer", map[string]string{"Authorization": "Bearer "}, "invalid_access_token", "Invalid access token"},
			{"unknown API key as bearer", map[string]string{"Authorization": "Bearer pb_live_nope"}, "invalid_api_key", "Invalid API key"},
			{"unknown API key header", map[string]string{"X-API-Key": "pb_live_nope"}, "invalid_api_key", "Invalid API key"},
		}
		for _, c := range cases {
			status, _, body := e.do("GET", "/v1/auth/me", "", c.headers)
			code, msg := errorOf(t, body)
			if status != http.StatusUnauthorized || code != c.code || msg != c.msg {
				t.Errorf("%s: got %d %s %q, want 401 %s %q", c.name, status, code, msg, c.code, c.msg)
			}
		}
		// An endpoint that takes API keys names the missing key.
		status, _, body := e.do("GET", "/v1/pinterest/accounts", "", nil)
		if code, msg := errorOf(t, body); status != http.StatusUnauthorized || code != "missing_api_key" || msg != "Missing API key" {
			t.Errorf("no credential on a key endpoint: got %d %s %q, want 401 missing_api_key", status, code, msg)
		}
	})
}

func sameWorkspace(a, b client.Workspace) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Environment == b.Environment && a.Plan == b.Plan &&
		a.Timezone == b.Timezone && a.CreatedAt != nil && b.CreatedAt != nil && a.CreatedAt.Equal(*b.CreatedAt)
}
