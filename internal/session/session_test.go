package session

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

var secret = []byte("0123456789abcdef0123456789abcdef-secret")

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestIssueParse(t *testing.T) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 123456000, time.UTC)
	m := NewManager(secret, "iss", "aud", time.Hour, fixed(now))
	user, org, pid := uuid.NewString(), uuid.NewString(), uuid.NewString()
	tok, err := m.Issue(user, org, pid)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Parse(tok)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Subject != user || c.OrganizationID != org || c.ProjectID != pid || c.ID == "" {
		t.Errorf("claims = %+v, want sub %s org %s pid %s and a jti", c, user, org, pid)
	}
	if d := c.IssuedAt.Time.Sub(now); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("iat = %v, want %v to the microsecond", c.IssuedAt.Time, now)
	}
	if !c.ExpiresAt.Time.Truncate(time.Second).Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("exp = %v, want %v", c.ExpiresAt.Time, now.Add(time.Hour))
	}
}

func TestParseRefuses(t *testing.T) {
	now := time.Now()
	m := NewManager(secret, "iss", "aud", time.Hour, fixed(now))
	user := uuid.NewString()
	valid, _ := m.Issue(user, uuid.NewString(), uuid.NewString())
	expired, _ := NewManager(secret, "iss", "aud", time.Hour, fixed(now.Add(-2*time.Hour))).Issue(user, "o", "p")
	otherIss, _ := NewManager(secret, "other", "aud", time.Hour, fixed(now)).Issue(user, "o", "p")
	otherAud, _ := NewManager(secret, "iss", "other", time.Hour, fixed(now)).Issue(user, "o", "p")
	otherKey, _ := NewManager([]byte("another-secret-another-secret-1234"), "iss", "aud", time.Hour, fixed(now)).Issue(user, "o", "p")
	parts := strings.Split(valid, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs384, _ := jwt.NewWithClaims(jwt.SigningMethodHS384, jwt.MapClaims{"iss": "iss", "aud": "aud", "sub": user, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "x", "org": "o", "pid": "p"}).SignedString(secret)
	notUUID, _ := m.Issue("not-a-uuid", "o", "p")
	crit := signedWithHeader(t, parts[1], `{"alg":"HS256","typ":"JWT","crit":["exp"]}`)
	critEmpty := signedWithHeader(t, parts[1], `{"alg":"HS256","typ":"JWT","crit":[]}`)
	critNull := signedWithHeader(t, parts[1], `{"alg":"HS256","typ":"JWT","crit":null}`)
	for name, tok := range map[string]string{
		"crit": crit, "crit empty": critEmpty, "crit null": critNull,
		"expired": expired, "issuer": otherIss, "audience": otherAud, "key": otherKey, "alg none": none,
		"HS384": hs384, "subject not a uuid": notUUID, "truncated": valid[:len(valid)-3], "empty": "",
		"oversized": valid + strings.Repeat("A", MaxTokenBytes),
	} {
		if _, err := m.Parse(tok); err != ErrInvalid {
			t.Errorf("%s: Parse error = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := m.Parse(valid); err != nil {
		t.Errorf("valid token refused: %v", err)
	}
}

// signedWithHeader signs payload (base64url, as in a token) under header (JSON) with the secret.
func signedWithHeader(t testing.TB, payload, header string) string {
	t.Helper()
	unsigned := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + payload
	sig, err := jwt.SigningMethodHS256.Sign(unsigned, secret)
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// FuzzParse: no input makes Parse panic, and nothing but a token signed with the secret is
// accepted.
func FuzzParse(f *testing.F) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 0, time.UTC)
	m := NewManager(secret, "iss", "aud", time.Hour, fixed(now))
	valid, _ := m.Issue("4ec5bd77-724f-40a9-be5f-21862cebad72", "org", "pid")
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1e309}`)) + "." + parts[2])
	// Signed with the secret, so only the crit rule stands between them and acceptance.
	f.Add(signedWithHeader(f, parts[1], `{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":false}`))
	f.Add(signedWithHeader(f, parts[1], `{"alg":"HS256","crit":null,"typ":"JWT"}`))
	f.Add("")
	f.Add("....")
	f.Add("eyJ.eyJ.x")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := m.Parse(token)
		if err == nil {
			// Whatever is accepted must carry a genuine HS256 signature of its header and payload.
			parts := strings.Split(token, ".")
			if len(parts) != 3 {
				t.Fatalf("Parse accepted %q, which is not three parts", token)
			}
			sig, serr := jwt.SigningMethodHS256.Sign(parts[0]+"."+parts[1], secret)
			if serr != nil || base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
				t.Fatalf("Parse accepted %q as %+v without a valid signature", token, c)
			}
			header, _ := base64.RawURLEncoding.DecodeString(parts[0])
			var h map[string]any
			if json.Unmarshal(header, &h) != nil {
				t.Fatalf("Parse accepted %q, whose header is not a JSON object", token)
			}
			if _, critical := h["crit"]; critical {
				t.Fatalf("Parse accepted %q, whose header has crit", token)
			}
		}
		if err != nil && err != ErrInvalid {
			t.Fatalf("Parse returned %v, want ErrInvalid", err)
		}
	})
}
