package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != EnvDevelopment || c.Addr != ":8080" || c.Database.URL != "sqlite://data/pinbridge.db" ||
		c.Auth.AccessTokenTTL != time.Hour || c.Mail.PublicURL != "http://localhost:8080" || c.HTTP.BodyLimitBytes != 64<<10 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestEveryProblemNamedAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"PINBRIDGE_ENV":              "staging",
		"PINBRIDGE_DATABASE_URL":     "mysql://x",
		"PINBRIDGE_ACCESS_TOKEN_TTL": "forever",
		"PINBRIDGE_LOG_LEVEL":        "loud",
		"PINBRIDGE_PUBLIC_URL":       "ftp://x",
		"PINBRIDGE_SMTP_URL":         "http://user:hunter2@host",
	}))
	if err == nil {
		t.Fatal("Load accepted a bad configuration")
	}
	for _, name := range []string{"PINBRIDGE_ENV", "PINBRIDGE_DATABASE_URL", "PINBRIDGE_ACCESS_TOKEN_TTL", "PINBRIDGE_LOG_LEVEL", "PINBRIDGE_PUBLIC_URL", "PINBRIDGE_SMTP_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("error reveals the SMTP password")
	}
}

func TestProductionNeedsSecretAndMail(t *testing.T) {
	_, err := Load(env(map[string]string{"PINBRIDGE_ENV": "production", "PINBRIDGE_JWT_SECRET": "short"}))
	if err == nil || !strings.Contains(err.Error(), "PINBRIDGE_JWT_SECRET") || !strings.Contains(err.Error(), "PINBRIDGE_SMTP_URL") {
		t.Fatalf("production with a short secret and no SMTP: %v, want both named", err)
	}
	if strings.Contains(err.Error(), "short") && strings.Contains(err.Error(), `"short"`) {
		t.Error("error echoes the secret")
	}
	_, err = Load(env(map[string]string{"PINBRIDGE_ENV": "production", "PINBRIDGE_JWT_SECRET": strings.Repeat("s", 32), "PINBRIDGE_SMTP_URL": "smtp://u:p@mail:587"}))
	if err != nil {
		t.Errorf("valid production configuration refused: %v", err)
	}
}

func TestSecretRedacted(t *testing.T) {
	c, err := Load(env(map[string]string{"PINBRIDGE_JWT_SECRET": strings.Repeat("k", 40), "PINBRIDGE_SMTP_URL": "smtp://u:hunter2@mail:587"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, c)
		if strings.Contains(out, "kkkk") || strings.Contains(out, "hunter2") {
			t.Errorf("%s of the config reveals a secret: %s", format, out)
		}
	}
}

func TestDevelopmentSecretGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(env(map[string]string{"PINBRIDGE_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureJWTSecret(); err != nil {
		t.Fatal(err)
	}
	first := c.Auth.JWTSecret.Reveal()
	if len(first) < MinJWTSecretBytes {
		t.Fatalf("generated secret has %d bytes, want >= %d", len(first), MinJWTSecretBytes)
	}
	info, err := os.Stat(filepath.Join(dir, "jwt-secret"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v mode %v, want 0600", err, info)
	}
	again, _ := Load(env(map[string]string{"PINBRIDGE_DATA_DIR": dir}))
	if err := again.EnsureJWTSecret(); err != nil || again.Auth.JWTSecret.Reveal() != first {
		t.Errorf("second start got another secret (%v); sessions would not survive a restart", err)
	}
}

func TestRateLimitOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{"PINBRIDGE_RATE_LIMITS": "login:ip=120/1m, forgot:email=5/1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Limits.Overrides["login:ip"]; got.Limit != 120 || got.Window != time.Minute {
		t.Errorf("login:ip = %+v", got)
	}
	if _, err := Load(env(map[string]string{"PINBRIDGE_RATE_LIMITS": "login:ip=lots"})); err == nil || !strings.Contains(err.Error(), "PINBRIDGE_RATE_LIMITS") {
		t.Errorf("bad override accepted: %v", err)
	}
}

func TestRateLimitOverrideOfUnknownLimitRefused(t *testing.T) {
	for _, raw := range []string{"login:ipp=120/1m", "login:ip=120/1m,nosuch=1/1h"} {
		_, err := Load(env(map[string]string{"PINBRIDGE_RATE_LIMITS": raw}))
		if err == nil {
			t.Errorf("PINBRIDGE_RATE_LIMITS=%q accepted, want the unknown name refused", raw)
			continue
		}
		name, _, _ := strings.Cut(raw[strings.LastIndex(raw, ",")+1:], "=")
		if !strings.Contains(err.Error(), "PINBRIDGE_RATE_LIMITS") || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("PINBRIDGE_RATE_LIMITS=%q: got %v, want an error naming the variable and %q", raw, err, name)
		}
	}
}

func TestRateLimitOverrideApplies(t *testing.T) {
	c, err := Load(env(map[string]string{"PINBRIDGE_RATE_LIMITS": "forgot:email=1/1h", "PINBRIDGE_RATE_LIMIT_SCALE": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Limits.Effective(LimitForgotEmail), (RateRule{"forgot:email", 2, time.Hour}); got != want {
		t.Errorf("forgot:email overridden to 1/1h, scale 2: got %+v, want %+v", got, want)
	}
	if got, want := c.Limits.Effective(LimitLoginIP), (RateRule{"login:ip", 120, time.Minute}); got != want {
		t.Errorf("login:ip not overridden, scale 2: got %+v, want %+v", got, want)
	}
}

// TestEveryRateRuleOverridable: each limit of the table is accepted by PINBRIDGE_RATE_LIMITS and is
// whole (a name, a positive limit and window).
func TestEveryRateRuleOverridable(t *testing.T) {
	rules := RateRules()
	if len(rules) == 0 {
		t.Fatal("no rate limits")
	}
	var items []string
	for _, r := range rules {
		if r.Name == "" || r.Limit < 1 || r.Window <= 0 {
			t.Errorf("rate limit %+v is not whole", r)
		}
		items = append(items, r.Name+"=7/1m")
	}
	c, err := Load(env(map[string]string{"PINBRIDGE_RATE_LIMITS": strings.Join(items, ",")}))
	if err != nil {
		t.Fatalf("overriding every known limit: %v", err)
	}
	for _, r := range rules {
		if got := c.Limits.Effective(r); got.Limit != 7 || got.Window != time.Minute {
			t.Errorf("%s: got %+v, want 7 per 1m", r.Name, got)
		}
	}
}

func TestDatabaseURLParsedOnce(t *testing.T) {
	cases := []struct {
		raw, wantErr string
		engine       Engine
		path, dsn    string
	}{
		{raw: "", engine: EngineSQLite, path: "data/pinbridge.db"}, // the default
		{raw: "sqlite:///tmp/x.db", engine: EngineSQLite, path: "/tmp/x.db"},
		{raw: "postgres://u:p@db:5432/pinbridge?sslmode=disable", engine: EnginePostgres, dsn: "postgres://u:p@db:5432/pinbridge?sslmode=disable"},
		{raw: "postgresql://db/pinbridge", engine: EnginePostgres, dsn: "postgresql://db/pinbridge"},
		{raw: "sqlite://", wantErr: "sqlite:// needs a file path"},
		{raw: "postgres://u:hunter2@db:5432/%zz", wantErr: "not a valid postgres:// URL"},
		{raw: "mysql://x", wantErr: "must start with sqlite:// or postgres://"},
	}
	for _, c := range cases {
		vars := map[string]string{}
		if c.raw != "" {
			vars["PINBRIDGE_DATABASE_URL"] = c.raw
		}
		cfg, err := Load(env(vars))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), "PINBRIDGE_DATABASE_URL: "+c.wantErr) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%q: got %v, want PINBRIDGE_DATABASE_URL: %s (without the password)", c.raw, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.raw, err)
			continue
		}
		u := cfg.Database.Parsed
		if u.Engine() != c.engine || u.SQLitePath() != c.path || u.PostgresDSN() != c.dsn {
			t.Errorf("%q: got engine %q path %q dsn %q, want %q %q %q", c.raw, u.Engine(), u.SQLitePath(), u.PostgresDSN(), c.engine, c.path, c.dsn)
		}
		if strings.Contains(fmt.Sprintf("%+v", u), "u:p@") {
			t.Errorf("%q: printing the parsed URL reveals the password: %+v", c.raw, u)
		}
	}
}

func TestJWTSecretRule(t *testing.T) {
	for _, c := range []struct {
		secret string
		ok     bool
	}{{"", false}, {strings.Repeat("s", MinJWTSecretBytes-1), false}, {strings.Repeat("s", MinJWTSecretBytes), true}} {
		err := CheckJWTSecret(Secret(c.secret))
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), "PINBRIDGE_JWT_SECRET")) {
			t.Errorf("CheckJWTSecret of %d bytes: got %v, want ok=%v (an error naming PINBRIDGE_JWT_SECRET)", len(c.secret), err, c.ok)
		}
		_, err = Load(env(map[string]string{"PINBRIDGE_JWT_SECRET": c.secret}))
		if c.secret != "" && (err == nil) != c.ok {
			t.Errorf("Load in development with a %d-byte secret: got %v, want ok=%v", len(c.secret), err, c.ok)
		}
	}
}

func TestKeptDevelopmentSecretTooShortIsReplaced(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"PINBRIDGE_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureJWTSecret(); err != nil || CheckJWTSecret(c.Auth.JWTSecret) != nil {
		t.Errorf("EnsureJWTSecret over a 5-byte kept secret: %v, secret of %d bytes; want a new one of >= %d", err, len(c.Auth.JWTSecret), MinJWTSecretBytes)
	}
}
