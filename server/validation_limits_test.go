package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestValidationAnswerIsSmall: a 422 lists at most 21 issues (beyond that, the first 20 and one
// that counts the rest), so a body of thousands of unknown fields (58 KB, under the body limit)
// gets an answer of a few KB, not hundreds.
func TestValidationAnswerIsSmall(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		cases := []struct {
			unknown   int // unknown fields in the login body
			listed    int // issues naming a field
			more      int // issues counted in the final one; 0: no final issue
			maxBody   int // bytes
			bodyBytes int // at least, so the big case is the one of the report
		}{
			{unknown: 1, listed: 1, maxBody: 1 << 10},
			{unknown: 20, listed: 20, maxBody: 4 << 10},
			{unknown: 21, listed: 21, maxBody: 4 << 10},
			{unknown: 22, listed: 20, more: 2, maxBody: 4 << 10},
			{unknown: 6000, listed: 20, more: 5980, maxBody: 4 << 10, bodyBytes: 58 << 10},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%d unknown fields", c.unknown), func(t *testing.T) {
				var b strings.Builder
				b.WriteString(`{"email":"a@example.com","password":"long enough pw"`)
				for i := range c.unknown {
					fmt.Fprintf(&b, `,"u%04d":0`, i)
				}
				b.WriteString("}")
				if b.Len() < c.bodyBytes {
					t.Fatalf("request body is %d bytes, want at least %d", b.Len(), c.bodyBytes)
				}
				req, err := http.NewRequest(http.MethodPost, e.url+"/v1/auth/login", strings.NewReader(b.String()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := e.http.Do(req) // the transport checks the answer against openapi.yaml
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusUnprocessableEntity || len(raw) > c.maxBody {
					t.Fatalf("got %d with a %d-byte body, want 422 with at most %d bytes", resp.StatusCode, len(raw), c.maxBody)
				}
				t.Logf("%d-byte request, %d-byte answer", b.Len(), len(raw))
				var body map[string]any
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("answer is not JSON: %v", err)
				}
				code, msg := errorOf(t, body)
				issues, _ := body["detail"].(map[string]any)["errors"].([]any)
				want := c.listed
				if c.more > 0 {
					want++
				}
				if code != "validation_error" || len(issues) != want {
					t.Fatalf("got code %s with %d issues, want validation_error with %d", code, len(issues), want)
				}
				for i, raw := range issues[:c.listed] {
					is := raw.(map[string]any)
					loc := fmt.Sprint(is["loc"])
					if is["type"] != "extra_forbidden" || !strings.HasPrefix(loc, "[body u") {
						t.Errorf("issue %d = %v, want extra_forbidden at [body uNNNN]", i, is)
					}
				}
				if !strings.Contains(msg, "body.u") {
					t.Errorf("message %q names no field", msg)
				}
				if c.more == 0 {
					return
				}
				last := issues[len(issues)-1].(map[string]any)
				count := fmt.Sprint(c.more)
				if last["type"] != "too_many_errors" || fmt.Sprint(last["loc"]) != "[body]" || !strings.Contains(fmt.Sprint(last["msg"]), count) {
					t.Errorf("last issue = %v, want too_many_errors at [body] counting %s more", last, count)
				}
				if !strings.HasSuffix(msg, "and "+count+" more") {
					t.Errorf("message %q, want it to end with %q", msg, "and "+count+" more")
				}
			})
		}
	})
}
