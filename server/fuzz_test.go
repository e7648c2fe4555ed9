package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pinbridge/pinbridge-auth/internal/testdb"
)

// fuzzOps are the operations whose request bodies FuzzRequestBodies throws inputs at: every
// operation that reads a body, with the credential it needs.
var fuzzOps = []struct {
	method, path string
	session      bool
}{
	{"POST", "/v1/auth/register", false},
	{"POST", "/v1/auth/login", false},
	{"POST", "/v1/auth/forgot-password", false},
	{"POST", "/v1/auth/reset-password", false},
	{"POST", "/v1/auth/change-password", true},
	{"POST", "/v1/auth/email/change/request", true},
	{"PUT", "/v1/auth/profile", true},
	{"POST", "/v1/api-keys", true},
	{"PATCH", "/v1/api-keys/6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11", true},
	{"POST", "/v1/projects/sandbox", true},
	{"POST", "/v1/projects/switch", true},
}

// FuzzRequestBodies sends arbitrary bodies to every operation that takes one and requires an
// answer in the contract's shape: never a 5xx, always a JSON object, errors with detail.code.
func FuzzRequestBodies(f *testing.F) {
	seeds := []string{
		`{"full_name":"Jane Doe","email":"fuzz@example.com","password":"a perfectly fine password"}`,
		`{"email":"fuzz@example.com","password":"a perfectly fine password","timezone":"Europe/Paris"}`,
		`{"email":"fuzz@example.com"}`,
		`{"token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","password":"a brand new password"}`,
		`{"current_password":"a perfectly fine password","new_password":"another fine password"}`,
		`{"new_email":"other@example.com"}`,
		`{"workspace_name":"Acme","billing_email":"billing@acme.com","tax_id":null}`,
		`{"name":"k","scopes":["read"],"pinterest_account_ids":null,"expires_at":"2999-01-01T00:00:00Z"}`,
		`{"name":"renamed"}`,
		`{}`,
		`{"project_id":"6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11"}`,
		``, `null`, `[]`, `"x"`, `{"email":`, `{"a":1}`, "{\"email\":\"\u0000@x.io\"}", `{"password":12}`,
		`{"full_name":"\ud800","email":"a@b.co","password":"xxxxxxxx"}`, `{"scopes":[{},[]]}`,
		// NUL, which PostgreSQL cannot store, in every kind of free text.
		`{"full_name":"Ja\u0000ne","email":"nul@example.com","password":"a perfectly fine password"}`,
		`{"workspace_name":"\u0000","company_name":"a\u0000b"}`, `{"name":"\u0000"}`,
		`{"full_name":"Jane","email":"m@example.com","password":"a perfectly fine password","marketing_attribution":{"k\u0000":"v\u0000"}}`,
		// The longest values the spec allows, in multibyte and escaped characters.
		`{"full_name":"` + strings.Repeat(`\u00e9\"`, 127) + `x","email":"long@example.com","password":"a perfectly fine password"}`,
		`{"name":"` + strings.Repeat("漢", 255) + `"}`,
		`{"company_name":"` + strings.Repeat(`\\`, 255) + `","address_country":"` + strings.Repeat("😀", 10) + `"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	// On PostgreSQL when there is one: it refuses what SQLite silently stores (NUL, overlong text).
	eng := testdb.Engines()[0]
	if os.Getenv("TEST_DATABASE_URL") != "" {
		eng = testdb.Engines()[1]
	}
	st, _ := eng.Open(f)
	e := newEnv(f, st, testConfig(f), fastHash)
	token := e.register("fuzz-owner@example.com", "a perfectly fine password").AccessToken

	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		o := fuzzOps[int(op)%len(fuzzOps)]
		req, err := http.NewRequest(o.method, e.url+o.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if o.session {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with %q: %d %s", o.method, o.path, body, resp.StatusCode, raw)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s with %q: answer is not a JSON object: %s", o.method, o.path, body, raw)
		}
		if resp.StatusCode >= 400 {
			d, ok := out["detail"].(map[string]any)
			if !ok || d["code"] == "" || d["message"] == "" {
				t.Fatalf("%s %s with %q: error without detail.code/message: %s", o.method, o.path, body, raw)
			}
		}
		// A password change through the fuzzer must not lock the fuzzer out.
		if o.path == "/v1/auth/change-password" && resp.StatusCode == http.StatusOK {
			if tok, ok := out["access_token"].(string); ok {
				token = tok
			}
		}
	})
}
