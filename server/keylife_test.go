package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
)

func (e *env) listKeys(token string) []client.APIKey {
	e.t.Helper()
	r, err := e.client.ListAPIKeysWithResponse(context.Background(), bearer(token))
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("list keys: %v %s", err, r.Body)
	}
	return *r.JSON200
}

func TestKeyRotationWithOverlap(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("rotator@example.com", "a perfectly fine password")
		old := e.createKey(a.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "publisher", Scopes: &[]client.APIKeyScope{client.Read, client.Write}})
		grace := 3600
		r, err := e.client.RotateAPIKeyWithResponse(ctx, old.ID, client.RotateAPIKeyJSONRequestBody{GracePeriodSeconds: &grace}, bearer(a.AccessToken))
		if err != nil || r.JSON201 == nil {
			t.Fatalf("rotate: %v %d %s", err, r.StatusCode(), r.Body)
		}
		next := r.JSON201
		if next.Name != "publisher" || len(*next.Scopes) != 2 || next.APIKey == old.APIKey || !strings.HasPrefix(next.APIKey, "pb_live_") {
			t.Errorf("new key = %+v, want the same name and scopes, a new live plaintext", next)
		}
		for name, plain := range map[string]string{"old": old.APIKey, "new": next.APIKey} {
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": plain}); status != http.StatusOK {
				t.Errorf("%s key during the overlap: %d, want 200", name, status)
			}
		}
		byID := map[string]client.APIKey{}
		for _, k := range e.listKeys(a.AccessToken) {
			byID[k.ID.String()] = k
		}
		o, n := byID[old.ID.String()], byID[next.ID.String()]
		if o.ReplacedBy.MustGet() != next.ID || n.RotatedFrom.MustGet() != old.ID {
			t.Errorf("list: old replaced_by %v, new rotated_from %v; want them linked", o.ReplacedBy, n.RotatedFrom)
		}
		if exp := o.ExpiresAt.MustGet(); exp.Sub(e.clock.Now()) > time.Hour || exp.Sub(e.clock.Now()) < time.Hour-time.Second {
			t.Errorf("old key expires %v, want an hour from now", exp)
		}
		e.clock.Advance(time.Hour + time.Second)
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": old.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("old key after the grace period: %d, want 401", status)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": next.APIKey}); status != http.StatusOK {
			t.Errorf("new key after the grace period: %d, want 200", status)
		}

		token := e.loginWith("rotator@example.com", "a perfectly fine password")
		code := func(id string, body string) (int, string) {
			status, _, resp := e.do("POST", "/v1/api-keys/"+id+"/rotate", body, map[string]string{"Authorization": "Bearer " + token})
			c := ""
			if status >= 400 {
				c, _ = errorOf(t, resp)
			}
			return status, c
		}
		if status, c := code(old.ID.String(), `{}`); status != http.StatusConflict || c != "key_not_rotatable" {
			t.Errorf("rotating a rotated key: %d %s, want 409 key_not_rotatable", status, c)
		}
		revoked := e.createKey(token, client.CreateAPIKeyJSONRequestBody{Name: "gone"})
		e.must(http.StatusOK, "DELETE", "/v1/api-keys/"+revoked.ID.String(), "", bearerHeader(token))
		if status, c := code(revoked.ID.String(), `{}`); status != http.StatusConflict || c != "key_not_rotatable" {
			t.Errorf("rotating a revoked key: %d %s, want 409 key_not_rotatable", status, c)
		}
		if status, _ := code(next.ID.String(), `{"grace_period_seconds":604801}`); status != http.StatusUnprocessableEntity {
			t.Errorf("grace over 7 days: %d, want 422", status)
		}
		// No grace: the old key stops at once.
		r2, _ := e.client.RotateAPIKeyWithResponse(ctx, next.ID, client.RotateAPIKeyJSONRequestBody{GracePeriodSeconds: new(0)}, bearer(token))
		if r2.JSON201 == nil {
			t.Fatalf("rotate with no grace: %d %s", r2.StatusCode(), r2.Body)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": next.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("key rotated with no grace: %d, want 401 at once", status)
		}
		if n := e.sql.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE action = 'api_key.rotated' AND actor_type = 'user'"); n != 2 {
			t.Errorf("rotations recorded: %d, want 2", n)
		}
		// A viewer may not rotate.
		viewer := e.join(token, "rotating-viewer@example.com", "viewer")
		if status, _, _ := e.do("POST", "/v1/api-keys/"+r2.JSON201.ID.String()+"/rotate", `{}`, map[string]string{"Authorization": "Bearer " + viewer.AccessToken}); status != http.StatusForbidden {
			t.Errorf("viewer rotates: %d, want 403", status)
		}
	})
}

// scanningKeys writes a fresh P-256 key pair's public key in GitHub's format and returns the
// private key and the file.
func scanningKeys(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	raw, _ := json.Marshal(map[string]any{"public_keys": []map[string]any{{"key_identifier": "test-key-1", "key": pemKey, "is_current": true}}})
	path := filepath.Join(t.TempDir(), "secret-scanning-keys.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return priv, path
}

func sign(t *testing.T, priv *ecdsa.PrivateKey, body string) string {
	t.Helper()
	digest := sha256.Sum256([]byte(body))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestLeakedKeysRevokeThemselves(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			priv, keyFile := scanningKeys(t)
			st, dbURL := eng.Open(t)
			cfg := testConfig(t)
			cfg.Auth.SecretScanningKeysFile = keyFile
			e := newEnv(t, st, cfg, fastHash)
			owner := e.register("leaky@example.com", "a perfectly fine password")
			e.join(owner.AccessToken, "leaky-editor@example.com", "editor")
			e.join(owner.AccessToken, "leaky-viewer@example.com", "viewer")
			leaked := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "ci"})
			safe := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "prod"})
			body := `[{"token":"` + leaked.APIKey + `","type":"pinbridge_api_key","url":"https://github.com/octo/repo/blob/main/.env","source":"content"},` +
				`{"token":"pb_live_notARealKeyAtAll","type":"pinbridge_api_key","url":"https://example.com","source":"content"}]`
			post := func(body string, headers map[string]string) (int, http.Header, []byte) {
				req, _ := http.NewRequest("POST", e.url+"/v1/secret-scanning/github", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				resp, err := e.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var raw json.RawMessage
				_ = json.NewDecoder(resp.Body).Decode(&raw)
				return resp.StatusCode, resp.Header, raw
			}
			// Unsigned, wrongly signed, signed by an unknown key: 401, nothing changes.
			for name, h := range map[string]map[string]string{
				"unsigned":    nil,
				"bad":         {"Github-Public-Key-Identifier": "test-key-1", "Github-Public-Key-Signature": sign(t, priv, body+" ")},
				"unknown key": {"Github-Public-Key-Identifier": "other", "Github-Public-Key-Signature": sign(t, priv, body)},
				"not base64":  {"Github-Public-Key-Identifier": "test-key-1", "Github-Public-Key-Signature": "!!!"},
			} {
				if status, _, _ := post(body, h); status != http.StatusUnauthorized {
					t.Errorf("%s report: %d, want 401", name, status)
				}
			}
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": leaked.APIKey}); status != http.StatusOK {
				t.Fatalf("the key after refused reports: %d, want it still working", status)
			}

			signed := map[string]string{"Github-Public-Key-Identifier": "test-key-1", "Github-Public-Key-Signature": sign(t, priv, body)}
			status, _, raw := post(body, signed)
			var verdicts []map[string]string
			_ = json.Unmarshal(raw, &verdicts)
			if status != http.StatusOK || len(verdicts) != 2 || verdicts[0]["label"] != "true_positive" || verdicts[0]["token_raw"] != leaked.APIKey ||
				verdicts[1]["label"] != "false_positive" || verdicts[0]["token_type"] != "pinbridge_api_key" {
				t.Fatalf("signed report: %d %s", status, raw)
			}
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": leaked.APIKey}); status != http.StatusUnauthorized {
				t.Errorf("the reported key: %d, want 401", status)
			}
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": safe.APIKey}); status != http.StatusOK {
				t.Errorf("an unreported key: %d, want 200", status)
			}
			listed := false
			for _, k := range e.listKeys(owner.AccessToken) {
				if k.ID == leaked.ID {
					listed = true
					if !strings.Contains(k.RevokedReason.MustGet(), "github.com/octo/repo") {
						t.Errorf("revoked_reason = %v, want where it was found", k.RevokedReason)
					}
				}
			}
			if !listed {
				t.Error("the reported key is missing from the key list")
			}
			for _, to := range []string{"leaky@example.com", "leaky-editor@example.com"} {
				if m := e.smtp.WaitFor(t, to, mailWait); !strings.Contains(m.Text, *leaked.Prefix) || strings.Contains(m.Text, leaked.APIKey) {
					t.Errorf("notice to %s: %q, want the key's prefix and never its plaintext", to, m.Text)
				}
			}
			if n := testdb.OpenSQL(t, dbURL).Int(t, "SELECT COUNT(*) FROM activity_logs WHERE action = 'api_key.leak_revoked' AND actor_type = 'system'"); n != 1 {
				t.Errorf("leak revocations recorded: %d, want 1", n)
			}
			// Replayed: 400, nothing changes.
			if status, _, _ := post(body, signed); status != http.StatusBadRequest {
				t.Errorf("replayed report: %d, want 400", status)
			}
			e.stack.Sender.Deliver(context.Background()) // every notice of the report, the viewer's if any
			for _, m := range e.smtp.All() {
				if m.To[0] == "leaky-viewer@example.com" && strings.Contains(m.Subject, "revoked") {
					t.Error("a viewer, who may not manage keys, was told about the leak")
				}
			}
		})
	}
}

func TestExpiryRemindersOncePerKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("expiring@example.com", "a perfectly fine password")
		in3days := e.clock.Now().Add(72 * time.Hour)
		in30days := e.clock.Now().Add(30 * 24 * time.Hour)
		soon := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "soon", ExpiresAt: &in3days})
		e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "later", ExpiresAt: &in30days})
		n, err := e.stack.Accounts.RemindExpiringKeys(ctx)
		if err != nil || n != 1 {
			t.Fatalf("reminders: %d %v, want 1", n, err)
		}
		if m := e.mailWithSubject("expiring@example.com", "expires soon"); !strings.Contains(m.Text, *soon.Prefix) {
			t.Errorf("reminder = %q %q", m.Subject, m.Text)
		}
		if n, _ := e.stack.Accounts.RemindExpiringKeys(ctx); n != 0 {
			t.Errorf("a second run reminded about %d keys, want 0", n)
		}
	})
}

// mailWithSubject waits for the next mail to addr whose subject holds part, past others (notices).
func (e *env) mailWithSubject(addr, part string) testsmtp.Message {
	e.t.Helper()
	for {
		m := e.smtp.WaitFor(e.t, addr, mailWait)
		if strings.Contains(m.Subject, part) {
			return m
		}
	}
}
