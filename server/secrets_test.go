package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen/client"
)

// TestSecretsNeverLogged drives the whole API surface, the happy paths and the refusals, then
// searches everything the server logged for each password, token, key and JWT it saw. Its
// activity-log entries are searched as every API test's are (env.useSQL).
func TestSecretsNeverLogged(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var secrets []string
		keep := func(s ...string) { secrets = append(secrets, s...) }
		pw1, pw2, pw3, pw4 := "first secret passphrase", "second secret passphrase", "third secret passphrase", "wrong secret passphrase"
		keep(pw1, pw2, pw3, pw4)

		a := e.register("secrets@example.com", pw1)
		keep(a.AccessToken)
		e.do("POST", "/v1/auth/login", `{"email":"secrets@example.com","password":"`+pw4+`"}`, nil)
		e.do("POST", "/v1/auth/login", `{"email":"nobody@example.com","password":"`+pw4+`"}`, nil)
		e.do("POST", "/v1/auth/register", `{"full_name":"x","email":"bad","password":"`+pw4+`"}`, nil)            // 422 with a password inside
		e.do("POST", "/v1/auth/register", `{"full_name":"x","email":"a@example.com","password":"`+pw4+`",}`, nil) // malformed JSON
		e.do("POST", "/v1/auth/register", `{"full_name":"x","email":"secrets@example.com","password":"`+pw4+`"}`, nil)
		token := e.loginWith("secrets@example.com", pw1)
		keep(token)
		e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + token})
		e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + token + "x"})

		key := e.createKey(token, client.CreateAPIKeyJSONRequestBody{Name: "logged?"})
		keep(key.APIKey)
		e.accountsWith(map[string]string{"X-API-Key": key.APIKey})
		e.accountsWith(map[string]string{"Authorization": "Bearer " + key.APIKey})
		e.accountsWith(map[string]string{"X-API-Key": key.APIKey[:len(key.APIKey)-1] + "x"})
		e.do("GET", "/v1/api-keys", "", map[string]string{"X-API-Key": key.APIKey})
		name := "renamed"
		e.client.UpdateAPIKeyWithResponse(ctx, key.ID, client.UpdateAPIKeyJSONRequestBody{Name: &name}, bearer(token))
		e.client.RevokeAPIKeyWithResponse(ctx, key.ID, bearer(token))
		e.accountsWith(map[string]string{"X-API-Key": key.APIKey})

		sb := e.sandbox(token)
		sw, _ := e.client.SwitchProjectWithResponse(ctx, client.SwitchProjectJSONRequestBody{ProjectID: sb.ID}, bearer(token))
		keep(sw.JSON200.AccessToken)
		e.client.ResetSandboxProjectWithResponse(ctx, bearer(token))
		e.do("PUT", "/v1/auth/profile", `{"billing_email":"billing@example.com","tax_id":"FR1"}`, map[string]string{"Authorization": "Bearer " + token})

		e.client.RequestEmailVerificationWithResponse(ctx, bearer(token))
		vt := e.linkTo("secrets@example.com", "/verify-email")
		keep(vt)
		e.do("GET", "/v1/auth/email/verify?token="+url.QueryEscape(vt), "", nil)
		e.do("GET", "/v1/auth/email/verify?token="+url.QueryEscape(vt), "", nil)

		e.forgot("secrets@example.com")
		rt := e.linkTo("secrets@example.com", "/reset-password")
		keep(rt)
		e.clock.Advance(time.Second)
		e.reset(rt, pw2)
		e.reset(rt, pw2)
		e.clock.Advance(time.Millisecond)
		token = e.loginWith("secrets@example.com", pw2)
		keep(token)
		e.do("POST", "/v1/auth/change-password", `{"current_password":"`+pw4+`","new_password":"`+pw3+`"}`, map[string]string{"Authorization": "Bearer " + token})
		status, _, body := e.do("POST", "/v1/auth/change-password", `{"current_password":"`+pw2+`","new_password":"`+pw3+`"}`, map[string]string{"Authorization": "Bearer " + token})
		if status == http.StatusOK {
			keep(body["access_token"].(string))
		}

		e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{NewEmail: "secrets-new@example.com"}, bearer(body["access_token"].(string)))
		ct := e.linkTo("secrets-new@example.com", "/confirm-email-change")
		keep(ct)
		e.do("GET", "/v1/auth/email/change/confirm?token="+url.QueryEscape(ct), "", nil)

		e.stack.Sender.Deliver(ctx)
		logs := e.logs.String()
		if !strings.Contains(logs, `"msg":"request"`) {
			t.Fatal("no access log captured; the test would prove nothing")
		}
		for _, s := range secrets {
			if s == "" {
				t.Fatal("an empty secret was collected")
			}
			if strings.Contains(logs, s) || strings.Contains(logs, url.QueryEscape(s)) {
				t.Errorf("the logs contain a secret (%.12s…)", s)
			}
		}
		t.Logf("searched %d bytes of logs for %d secrets", len(logs), len(secrets))
		// The activity log of these flows is searched too, when the test ends (env.useSQL).
		if n := e.sql.Int(t, "SELECT COUNT(*) FROM activity_logs"); n < 15 {
			t.Errorf("%d activity entries: the search of the activity log would prove little", n)
		}
	})
}
