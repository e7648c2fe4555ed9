package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestValidationNamesTheField(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		cases := []struct {
			name  string
			path  string
			body  string
			field string // expected last element of one errors[].loc
			kind  string
		}{
			{"missing full_name", "/v1/auth/register", `{"email":"a@example.com","password":"long enough pw"}`, "full_name", "missing"},
			{"missing email", "/v1/auth/register", `{"full_name":"A","password":"long enough pw"}`, "email", "missing"},
			{"missing password", "/v1/auth/login", `{"email":"a@example.com"}`, "password", "missing"},
			{"short password", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"short"}`, "password", "string_too_short"},
			{"long password", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"` + strings.Repeat("p", 256) + `"}`, "password", "string_too_long"},
			{"bad email", "/v1/auth/register", `{"full_name":"A","email":"not-an-email","password":"long enough pw"}`, "email", "value_error"},
			{"email with display name", "/v1/auth/register", `{"full_name":"A","email":"Jane <a@example.com>","password":"long enough pw"}`, "email", "value_error"},
			{"blank full_name", "/v1/auth/register", `{"full_name":"   ","email":"a@example.com","password":"long enough pw"}`, "full_name", "string_pattern_mismatch"},
			{"full_name too long", "/v1/auth/register", `{"full_name":"` + strings.Repeat("n", 256) + `","email":"a@example.com","password":"long enough pw"}`, "full_name", "string_too_long"},
			{"number for email", "/v1/auth/login", `{"email":42,"password":"x"}`, "email", "type_error"},
			{"null password", "/v1/auth/login", `{"email":"a@example.com","password":null}`, "password", ""},
			{"extra field", "/v1/auth/login", `{"email":"a@example.com","password":"x","admin":true}`, "admin", "extra_forbidden"},
			{"array body", "/v1/auth/login", `[]`, "body", "type_error"},
			{"malformed JSON", "/v1/auth/login", `{"email":`, "body", "json_invalid"},
			{"trailing data", "/v1/auth/login", `{"email":"a@example.com","password":"long enough pw"}garbage`, "body", "json_invalid"},
			{"two values", "/v1/auth/login", `{"email":"a@example.com","password":"long enough pw"}{}`, "body", "json_invalid"},
			{"timezone with an empty part", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"long enough pw","timezone":"Europe//Paris"}`, "timezone", "value_error"},
			{"the host's own zone", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"long enough pw","timezone":"localtime"}`, "timezone", "value_error"},
			{"a host copy of a zone", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"long enough pw","timezone":"posix/Europe/Paris"}`, "timezone", "value_error"},
			{"timezone as a path", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"long enough pw","timezone":"./UTC"}`, "timezone", "value_error"},
			{"bad timezone", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"long enough pw","timezone":"Mars/Olympus"}`, "timezone", "value_error"},
			{"Local timezone", "/v1/auth/login", `{"email":"a@example.com","password":"long enough pw","timezone":"Local"}`, "timezone", "value_error"},
			{"attribution not strings", "/v1/auth/register", `{"full_name":"A","email":"a@example.com","password":"long enough pw","marketing_attribution":{"utm_source":7}}`, "utm_source", "type_error"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				status, _, body := e.do("POST", c.path, c.body, nil)
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("status = %d, want 422; body %v", status, body)
				}
				code, msg := errorOf(t, body)
				if code != "validation_error" {
					t.Errorf("code = %q, want validation_error", code)
				}
				if !strings.Contains(msg, c.field) {
					t.Errorf("message %q does not name %q", msg, c.field)
				}
				issues, _ := body["detail"].(map[string]any)["errors"].([]any)
				found := false
				for _, raw := range issues {
					is := raw.(map[string]any)
					var loc []string
					for _, l := range is["loc"].([]any) {
						loc = append(loc, l.(string))
					}
					if len(loc) > 0 && loc[len(loc)-1] == c.field && (c.kind == "" || is["type"] == c.kind) {
						found = true
					}
					if is["msg"] == "" || slices.Contains(loc, "") {
						t.Errorf("issue %v has an empty part", is)
					}
				}
				if !found {
					t.Errorf("errors %v have no entry for %q of type %q", issues, c.field, c.kind)
				}
			})
		}
	})
}

func TestPasswordBuiltFromEmailIsWeak(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		for _, pw := range []string{"jane.doe@example.com", "Jane.Doe1", "jane.doe123", "password123", "Iloveyou1"} {
			status, _, body := e.do("POST", "/v1/auth/register", `{"full_name":"Jane","email":"jane.doe@example.com","password":"`+pw+`"}`, nil)
			code, _ := errorOf(t, body)
			if status != http.StatusUnprocessableEntity || code != "weak_password" {
				t.Errorf("password %q: got %d %s, want 422 weak_password", pw, status, code)
			}
		}
		// Nothing was written by the refusals.
		if _, err := e.store.UserByEmail(t.Context(), "jane.doe@example.com"); err == nil {
			t.Error("a refused registration stored a user")
		}
	})
}

func TestUnsupportedMediaTypeAndBodyLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		status, _, body := e.do("POST", "/v1/auth/login", "", map[string]string{"Content-Type": "text/plain"})
		if status != http.StatusUnprocessableEntity && status != http.StatusUnsupportedMediaType {
			t.Errorf("empty text/plain body: status %d (%v), want 415 or 422", status, body)
		}
		status, _, body = e.do("POST", "/v1/auth/login", `email=a@example.com`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if code, msg := errorOf(t, body); status != http.StatusUnprocessableEntity || code != "validation_error" || !strings.Contains(msg, "Content-Type") {
			t.Errorf("form-encoded body: got %d %s %q, want 422 validation_error naming Content-Type", status, code, msg)
		}
		// JSON in another charset would be read as UTF-8: refused, naming Content-Type.
		status, _, body = e.do("POST", "/v1/auth/login", `{"email":"a@example.com","password":"long enough pw"}`, map[string]string{"Content-Type": "application/json; charset=utf-16"})
		if code, msg := errorOf(t, body); status != http.StatusUnprocessableEntity || code != "validation_error" || !strings.Contains(msg, "Content-Type") {
			t.Errorf("JSON declared as UTF-16: got %d %s %q, want 422 validation_error naming Content-Type", status, code, msg)
		}
		status, _, _ = e.do("POST", "/v1/auth/login", `{"email":"a@example.com","password":"long enough pw"}`, map[string]string{"Content-Type": "application/json; charset=UTF-8"})
		if status != http.StatusUnauthorized {
			t.Errorf("JSON declared as UTF-8: got %d, want 401 (an unknown account)", status)
		}
		big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 70<<10) + `"}`
		status, _, body = e.do("POST", "/v1/auth/login", big, nil)
		if code, _ := errorOf(t, body); status != http.StatusRequestEntityTooLarge || code != "payload_too_large" {
			t.Errorf("70 KiB body: got %d %s, want 413 payload_too_large", status, code)
		}
	})
}

// TestValidationTypesAreSnakeCase: the schema rules on lists and numbers are named as the others
// are (the spec's ValidationIssue.type examples), not by the validator's own keywords.
func TestValidationTypesAreSnakeCase(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		auth := bearerHeader(e.register("types@example.com", "a perfectly fine password").AccessToken)
		for _, c := range []struct{ method, path, body, field, kind string }{
			{"POST", "/v1/api-keys", `{"name":"x","scopes":[]}`, "scopes", "too_short"},
			{"POST", "/v1/api-keys", `{"name":"x","scopes":["read","read"]}`, "scopes", "unique_items"},
			{"GET", "/v1/activity-logs?limit=0", "", "limit", "greater_than_equal"},
			{"GET", "/v1/activity-logs?limit=201", "", "limit", "less_than_equal"},
		} {
			status, _, body := e.do(c.method, c.path, c.body, auth)
			if status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s %s: %d, want 422", c.method, c.path, c.body, status)
				continue
			}
			errs, _ := body["detail"].(map[string]any)["errors"].([]any)
			found := false
			for _, raw := range errs {
				issue := raw.(map[string]any)
				loc := issue["loc"].([]any)
				found = found || (loc[len(loc)-1] == c.field && issue["type"] == c.kind)
			}
			if !found {
				t.Errorf("%s %s %s: errors %v, want one on %s of type %s", c.method, c.path, c.body, errs, c.field, c.kind)
			}
		}
	})
}
