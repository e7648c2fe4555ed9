package session

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

var secret = []byte("0123456789abcdef0123456789abcdef-secret")

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestIssueParse(t *testing.T) {
	now := time.Date(2026, 2, 23, 12, 0, 0, 123456789, time.UTC)
	m := NewManager(secret, "iss", "aud", time.Hour, fixed(now))
	user, org, pid := uuid.NewString(), uuid.NewString(), uuid.NewString()
	tok, err := m.Issue(user, org, pid, 7)
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
	if c.SessionVersion == nil || *c.SessionVersion != 7 {
		t.Errorf("sv = %v, want 7", c.SessionVersion)
	}
	second := now.Truncate(time.Second)
	if !c.IssuedAt.Time.Equal(second) || c.NotBefore == nil || !c.NotBefore.Time.Equal(second) {
		t.Errorf("iat = %v, nbf = %v; want both %v", c.IssuedAt, c.NotBefore, second)
	}
	if !c.ExpiresAt.Time.Equal(second.Add(time.Hour)) {
		t.Errorf("exp = %v, want %v", c.ExpiresAt.Time, second.Add(time.Hour))
	}
}

// TestIssuedTimesAreWholeSeconds: exp, iat and nbf travel as JSON integers, which every JWT library
// accepts (some refuse the fractions RFC 7519 allows), whatever the clock's sub-second part.
func TestIssuedTimesAreWholeSeconds(t *testing.T) {
	for _, nanos := range []int{0, 1, 123456000, 999999999} {
		t.Run(fmt.Sprint(nanos), func(t *testing.T) {
			now := time.Date(2026, 2, 23, 12, 0, 0, nanos, time.UTC)
			tok, err := NewManager(secret, "iss", "aud", 90*time.Minute, fixed(now)).Issue(uuid.NewString(), "o", "p", 0)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var payload map[string]any
			if err := dec.Decode(&payload); err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 90*60, "sv": 0}
			for claim, w := range want {
				n, ok := payload[claim].(json.Number)
				if !ok {
					t.Errorf("%s = %v (%T), want the JSON number %d", claim, payload[claim], payload[claim], w)
					continue
				}
				if got, err := strconv.ParseInt(n.String(), 10, 64); err != nil || got != w {
					t.Errorf("%s = %s, want the integer %d", claim, n, w)
				}
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	now := time.Now()
	m := NewManager(secret, "iss", "aud", time.Hour, fixed(now))
	user := uuid.NewString()
	valid, _ := m.Issue(user, uuid.NewString(), uuid.NewString(), 0)
	expired, _ := NewManager(secret, "iss", "aud", time.Hour, fixed(now.Add(-2*time.Hour))).Issue(user, "o", "p", 0)
	otherIss, _ := NewManager(secret, "other", "aud", time.Hour, fixed(now)).Issue(user, "o", "p", 0)
	otherAud, _ := NewManager(secret, "iss", "other", time.Hour, fixed(now)).Issue(user, "o", "p", 0)
	otherKey, _ := NewManager([]byte("another-secret-another-secret-1234"), "iss", "aud", time.Hour, fixed(now)).Issue(user, "o", "p", 0)
	parts := strings.Split(valid, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs384, _ := jwt.NewWithClaims(jwt.SigningMethodHS384, jwt.MapClaims{"iss": "iss", "aud": "aud", "sub": user, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "x", "org": "o", "pid": "p"}).SignedString(secret)
	notUUID, _ := m.Issue("not-a-uuid", "o", "p", 0)
	base := jwt.MapClaims{"iss": "iss", "aud": "aud", "sub": user, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": "x", "org": "o", "pid": "p", "sv": 0}
	hs256 := func(change func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range base {
			c[k] = v
		}
		change(c)
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := m.Parse(hs256(func(jwt.MapClaims) {})); err != nil {
		t.Fatalf("the hand-signed control token was refused: %v", err)
	}
	crit := signedWithHeader(t, parts[1], `{"alg":"HS256","typ":"JWT","crit":["exp"]}`)
	critEmpty := signedWithHeader(t, parts[1], `{"alg":"HS256","typ":"JWT","crit":[]}`)
	critNull := signedWithHeader(t, parts[1], `{"alg":"HS256","typ":"JWT","crit":null}`)
	for name, tok := range map[string]string{
		"crit": crit, "crit empty": critEmpty, "crit null": critNull,
		"expired": expired, "issuer": otherIss, "audience": otherAud, "key": otherKey, "alg none": none,
		"HS384": hs384, "subject not a uuid": notUUID, "truncated": valid[:len(valid)-3], "empty": "",
		"oversized":   valid + strings.Repeat("A", MaxTokenBytes),
		"no sv":       hs256(func(c jwt.MapClaims) { delete(c, "sv") }),
		"null sv":     hs256(func(c jwt.MapClaims) { c["sv"] = nil }),
		"string sv":   hs256(func(c jwt.MapClaims) { c["sv"] = "0" }),
		"float sv":    hs256(func(c jwt.MapClaims) { c["sv"] = 0.5 }),
		"negative sv": hs256(func(c jwt.MapClaims) { c["sv"] = -1 }),
		"no nbf":      hs256(func(c jwt.MapClaims) { delete(c, "nbf") }),
		"nbf ahead":   hs256(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }),
		"no iat":      hs256(func(c jwt.MapClaims) { delete(c, "iat") }),
		"no jti":      hs256(func(c jwt.MapClaims) { delete(c, "jti") }),
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
	valid, _ := m.Issue("4ec5bd77-724f-40a9-be5f-21862cebad72", "org", "pid", 3)
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1e309}`)) + "." + parts[2])
	// Signed with the secret, so only the crit rule stands between them and acceptance.
	f.Add(signedWithHeader(f, parts[1], `{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":false}`))
	f.Add(signedWithHeader(f, parts[1], `{"alg":"HS256","crit":null,"typ":"JWT"}`))
	// Signed with the secret but with a session version Parse must refuse: missing, negative, a float.
	for _, sv := range []any{nil, -1, 1.5} {
		c := jwt.MapClaims{"iss": "iss", "aud": "aud", "sub": "4ec5bd77-724f-40a9-be5f-21862cebad72", "exp": now.Add(time.Hour).Unix(),
			"iat": now.Unix(), "nbf": now.Unix(), "jti": "x", "org": "org", "pid": "pid"}
		if sv != nil {
			c["sv"] = sv
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
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
			if c.SessionVersion == nil || *c.SessionVersion < 0 || c.NotBefore == nil {
				t.Fatalf("Parse accepted %q as %+v without a session version and nbf", token, c)
			}
		}
		if err != nil && err != ErrInvalid {
			t.Fatalf("Parse returned %v, want ErrInvalid", err)
		}
	})
}

// TestRememberedTokensKeepTheRules: a token verified once is answered from memory, but its time
// claims are applied again on every use, and a token that differs in any byte is verified anew.
func TestRememberedTokensKeepTheRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	m := NewManager(secret, "iss", "aud", time.Hour, func() time.Time { return clock })
	user := uuid.NewString()
	tok, err := m.Issue(user, "o", "p", 3)
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.Parse(tok)
	if err != nil || again.Subject != user || *again.SessionVersion != 3 || again.ID != first.ID {
		t.Fatalf("the same token again: %+v %v", again, err)
	}
	if _, ok := m.verified.get(tok); !ok {
		t.Fatal("a verified token is not remembered")
	}
	// Another signature on the same claims is not the remembered token.
	forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	if _, err := m.Parse(forged); err == nil {
		t.Error("a token with another signature was accepted")
	}
	clock = now.Add(time.Hour)
	if _, err := m.Parse(tok); err == nil {
		t.Error("a remembered token was accepted at its expiry")
	}
	clock = now.Add(-time.Second)
	if _, err := m.Parse(tok); err == nil {
		t.Error("a remembered token was accepted before its nbf")
	}
}
