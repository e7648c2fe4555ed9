package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/gen/client"
)

// edgeRunes build the longest strings: multibyte (2, 3 and 4 bytes in UTF-8, a surrogate pair in
// JSON's \u escapes) and characters JSON must escape.
var edgeRunes = []rune{'é', '"', '漢', '\\', '😀', '<', '\n', 'ß', '&', '\u2028'}

func longest(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(edgeRunes[i%len(edgeRunes)])
	}
	return b.String()
}

// longestEmail is a valid address of 254 characters.
func longestEmail(tag string) string {
	local := (tag + strings.Repeat("x", 64))[:64]
	domain := strings.Repeat("d", 63) + "." + strings.Repeat("e", 63) + "." + strings.Repeat("f", 57) + ".com"
	return local + "@" + domain
}

// edgeCase is one request: an operation with a body or a query in which one string field is as
// long as the spec allows.
type edgeCase struct {
	op, method, path, field string
	body                    map[string]any
	list                    []any // an array body instead of body
	query                   url.Values
}

// TestLongestInputsNeverFail sends, for every string field of every operation's body or query, the
// longest value openapi.yaml allows, made of multibyte and JSON-escaped characters, and expects no
// 5xx on either engine. The operations come from the spec, so a new one without a base request
// here fails the test.
func TestLongestInputsNeverFail(t *testing.T) {
	spec, err := gen.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("edges@example.com", "a perfectly fine password")
		token := a.AccessToken
		key := e.createKey(token, client.CreateAPIKeyJSONRequestBody{Name: "edge"})
		sandbox := e.sandbox(token)
		n := 0
		bases := map[string]map[string]any{
			"register":             {"full_name": "Jane Doe", "password": "a perfectly fine password"},
			"login":                {"email": "edges@example.com", "password": "a perfectly fine password"},
			"forgotPassword":       {"email": "edges@example.com"},
			"resetPassword":        {"token": strings.Repeat("t", 43), "password": "a perfectly fine password"},
			"changePassword":       {"current_password": "wrong password", "new_password": "another fine password"},
			"requestEmailChange":   {"new_email": "elsewhere@example.com"},
			"updateProfile":        {},
			"createAPIKey":         {"name": "edge"},
			"updateAPIKey":         {"name": "edge"},
			"createSandboxProject": {},
			"switchProject":        {"project_id": sandbox.ID.String()},
			"createTeamInvitation": {"email": "invitee@example.com", "role": "editor"},
			"resendTeamInvitation": {},
			"acceptTeamInvitation": {"token": strings.Repeat("t", 43)},
			"updateTeamMember":     {"role": "editor"},
			"revertEmailChange":    {"token": strings.Repeat("t", 43)},
			"rotateAPIKey":         {},
			// An array body: each case sends one report of this entry (unsigned, so 401; never a 5xx).
			// The token is no key's prefix: the secret scan of the activity log would find it in
			// the label of a key whose random part happened to start the same way.
			"reportLeakedKeys": {"token": "not-a-pinbridge-key", "type": "pinbridge_api_key"},
		}
		queries := map[string]url.Values{
			"verifyEmail":           {"token": {strings.Repeat("t", 43)}},
			"confirmEmailChange":    {"token": {strings.Repeat("t", 43)}},
			"previewTeamInvitation": {"token": {strings.Repeat("t", 43)}},
			"listActivityLogs":      {},
		}
		var cases []edgeCase
		paths := spec.Paths.InMatchingOrder()
		sort.Strings(paths)
		for _, path := range paths {
			for method, op := range spec.Paths.Value(path).Operations() {
				concrete := strings.NewReplacer("{key_id}", key.ID.String(), "{member_id}", uuid.NewString(),
					"{invitation_id}", uuid.NewString()).Replace(path)
				if op.RequestBody != nil {
					base, ok := bases[op.OperationID]
					if !ok {
						t.Errorf("%s has a body and no base request in this test: add one", op.OperationID)
						continue
					}
					schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
					array := schema.Type.Is("array")
					if array {
						schema = schema.Items.Value
					}
					for name, prop := range schema.Properties {
						for _, v := range edgeValues(prop.Value, name) {
							body := map[string]any{}
							for k, bv := range base {
								body[k] = bv
							}
							body[name] = v
							if op.OperationID == "register" && name != "email" {
								n++
								body["email"] = fmt.Sprintf("edge%d@example.com", n)
							}
							c := edgeCase{op: op.OperationID, method: method, path: concrete, field: name, body: body}
							if array {
								c.body, c.list = nil, []any{body}
							}
							cases = append(cases, c)
						}
					}
				}
				for _, p := range op.Parameters {
					if p.Value.In != "query" {
						continue
					}
					base, ok := queries[op.OperationID]
					if !ok {
						t.Errorf("%s has a query and no base query in this test: add one", op.OperationID)
						continue
					}
					for _, v := range edgeValues(p.Value.Schema.Value, p.Value.Name) {
						q := url.Values{}
						for k, bv := range base {
							q[k] = bv
						}
						q.Set(p.Value.Name, fmt.Sprint(v))
						cases = append(cases, edgeCase{op: op.OperationID, method: method, path: concrete, field: p.Value.Name, query: q})
					}
				}
			}
		}
		if len(cases) < 20 {
			t.Fatalf("only %d cases: the spec walk found too few fields", len(cases))
		}
		for _, c := range cases {
			headers := map[string]string{"Authorization": "Bearer " + token}
			var body string
			if c.body != nil || c.list != nil {
				var v any = c.body
				if c.list != nil {
					v = c.list
				}
				raw, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				body = string(raw)
			}
			path := c.path
			if c.query != nil {
				path += "?" + c.query.Encode()
			}
			status, _, resp := e.do(c.method, path, body, headers)
			if status >= 500 {
				t.Errorf("%s with the longest %s: %d %v", c.op, c.field, status, resp)
			}
			if c.op == "changePassword" && status == http.StatusOK {
				t.Fatal("the edge case changed the password; the rest would run without a session")
			}
		}
		// The register cases must have succeeded, not merely failed cleanly: a 255-character name
		// (the derived workspace name included) is valid.
		status, _, body := e.do("POST", "/v1/auth/register", fmt.Sprintf(`{"full_name":%q,"email":"long-name@example.com","password":"a perfectly fine password"}`, longest(255)), nil)
		if status != http.StatusCreated {
			t.Errorf("register with a 255-character full name: %d %v, want 201", status, body)
		}
	})
}

// edgeValues are the longest values of one field the schema allows (none for fields that are not
// free strings).
func edgeValues(s *openapi3.Schema, name string) []any {
	switch {
	case s == nil:
		return nil
	case s.Type.Is("object") && s.AdditionalProperties.Schema != nil:
		inner := s.AdditionalProperties.Schema.Value
		if inner.MaxLength == nil || s.MaxProps == nil {
			return nil
		}
		full := map[string]any{}
		for i := range int(*s.MaxProps) {
			full[fmt.Sprintf("%s_%d_%s", longest(20), i, strings.Repeat("k", 40))] = longest(int(*inner.MaxLength))
		}
		return []any{full}
	case !s.Type.Is("string") || len(s.Enum) > 0:
		return nil
	case s.Format == "email":
		return []any{longestEmail(name)}
	case s.Format != "" || s.MaxLength == nil:
		return nil
	}
	return []any{longest(int(*s.MaxLength))}
}

// TestNULIsRefusedNamingTheField: PostgreSQL cannot store U+0000; every free text field answers 422.
func TestNULIsRefusedNamingTheField(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("nul@example.com", "a perfectly fine password")
		auth := map[string]string{"Authorization": "Bearer " + a.AccessToken}
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/v1/auth/register", `{"full_name":"Ja\u0000ne","email":"nul2@example.com","password":"a perfectly fine password"}`, "full_name"},
			{"POST", "/v1/auth/register", `{"full_name":"Jane","workspace_name":"W\u0000","email":"nul3@example.com","password":"a perfectly fine password"}`, "workspace_name"},
			{"POST", "/v1/auth/register", `{"full_name":"Jane","marketing_attribution":{"utm\u0000":"x"},"email":"nul4@example.com","password":"a perfectly fine password"}`, "marketing_attribution"},
			{"PUT", "/v1/auth/profile", `{"company_name":"Acme\u0000"}`, "company_name"},
			{"POST", "/v1/api-keys", `{"name":"key\u0000"}`, "name"},
			{"POST", "/v1/projects/sandbox", `{"name":"S\u0000"}`, "name"},
			{"GET", "/v1/auth/email/verify?token=" + strings.Repeat("t", 30) + "%00", "", "token"},
			{"GET", "/v1/activity-logs?cursor=abc%00", "", "cursor"},
		} {
			headers := auth
			if strings.HasPrefix(c.path, "/v1/auth/register") {
				headers = nil
			}
			status, _, body := e.do(c.method, c.path, c.body, headers)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s with a NUL in %s: %d %v, want 422", c.method, c.path, c.field, status, body)
				continue
			}
			if _, msg := errorOf(t, body); !strings.Contains(msg, c.field) {
				t.Errorf("%s %s: message %q does not name %s", c.method, c.path, msg, c.field)
			}
		}
	})
}
