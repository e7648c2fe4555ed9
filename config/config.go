// Package config loads PinBridge Auth's configuration from the environment and validates it.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environments the service knows.
const (
	EnvDevelopment = "development"
	EnvTest        = "test"
	EnvProduction  = "production"
)

// MinJWTSecretBytes is the shortest JWT secret accepted (CheckJWTSecret).
const MinJWTSecretBytes = 32

// CheckJWTSecret is the one rule for the key that signs sessions: at least MinJWTSecretBytes bytes.
// Load, EnsureJWTSecret and server.New all apply it. The error names PINBRIDGE_JWT_SECRET and never
// echoes the secret.
func CheckJWTSecret(s Secret) error {
	if len(s) < MinJWTSecretBytes {
		return fmt.Errorf("PINBRIDGE_JWT_SECRET: must be at least %d bytes", MinJWTSecretBytes)
	}
	return nil
}

// Config is the whole configuration of the service.
type Config struct {
	Env      string
	Addr     string
	DataDir  string
	LogLevel string

	Database Database
	Auth     Auth
	Mail     Mail
	Tokens   Tokens
	HTTP     HTTP
	Limits   Limits
	Hashing  Hashing
}

// Database says where the data lives.
type Database struct {
	// URL is PINBRIDGE_DATABASE_URL as configured: sqlite://PATH or postgres://...
	URL string
	// Parsed is URL parsed once by Load; store.Open consumes it.
	Parsed DatabaseURL
	// MaxOpenConns bounds the PostgreSQL pool; 0 sizes it for the process (see store.Options).
	MaxOpenConns int
}

// Auth holds session settings.
type Auth struct {
	JWTSecret      Secret
	AccessTokenTTL time.Duration
	Issuer         string
	Audience       string
	// ReauthWindow is how long after proving the password a session may change the account's
	// email without sending the password again.
	ReauthWindow time.Duration
	// SecretScanningKeysFile holds the public keys (GitHub's format) that sign leak reports;
	// empty: every report is refused as unsigned.
	SecretScanningKeysFile string
}

// Mail holds the outgoing mail settings.
type Mail struct {
	PublicURL string
	SMTPURL   Secret
	From      string
	// OutboxDir receives .eml files when there is no SMTP server (development and test).
	OutboxDir  string
	RetryMin   time.Duration
	RetryMax   time.Duration
	PollPeriod time.Duration
}

// Tokens holds the lifetimes of emailed one-time tokens.
type Tokens struct {
	PasswordResetTTL time.Duration
	EmailVerifyTTL   time.Duration
	EmailChangeTTL   time.Duration
	// EmailRevertTTL is how long the "this wasn't me" link sent to the former address works.
	EmailRevertTTL time.Duration
}

// Limits are the abuse controls. Every rate limit is a count per window, stored in the database
// and shared by all instances.
type Limits struct {
	// Scale multiplies every rate limit (1 in production; tests raise it).
	Scale float64
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed; otherwise the socket's
	// address is the client.
	TrustedProxies []*net.IPNet
	// CORSOrigins may call the API from a browser (exact origins); empty: no CORS.
	CORSOrigins []string
	// Overrides replace individual rate limits by name (e.g. "login:ip": 120 per minute); Load
	// accepts only the names of RateRules.
	Overrides map[string]RateLimit
}

// RateLimit is a count per window.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// HTTP holds server limits.
type HTTP struct {
	BodyLimitBytes    int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// RequestTimeout is each request's deadline, carried by its context down to the database.
	RequestTimeout time.Duration
}

// Hashing bounds the password-hashing pool.
type Hashing struct {
	// Workers is how many hashes run at once (0: one per CPU).
	Workers int
	// Queue is how many requests may wait for a worker before the service answers 503.
	Queue int
}

// Secret is a string that never prints itself.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret in %#v.
func (s Secret) GoString() string { return s.String() }

// Reveal returns the secret itself; call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// Lookup reads one variable; os.LookupEnv is the production one.
type Lookup func(name string) (string, bool)

// Load reads the configuration through lookup, applies defaults and validates it. The error names
// every bad variable at once. In development and test without PINBRIDGE_JWT_SECRET, a secret is
// generated once and kept in the data directory.
func Load(lookup Lookup) (Config, error) {
	var errs []error
	get := func(name, def string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	duration := func(name, def string) time.Duration {
		raw := get(name, def)
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration such as 1h or 30s", name, raw))
		}
		return d
	}
	integer := func(name string, def, min int) int {
		raw := get(name, strconv.Itoa(def))
		n, err := strconv.Atoi(raw)
		if err != nil || n < min {
			errs = append(errs, fmt.Errorf("%s: %q is not an integer >= %d", name, raw, min))
		}
		return n
	}

	c := Config{
		Env:      get("PINBRIDGE_ENV", EnvDevelopment),
		Addr:     get("PINBRIDGE_ADDR", ":8080"),
		DataDir:  get("PINBRIDGE_DATA_DIR", "./data"),
		LogLevel: strings.ToLower(get("PINBRIDGE_LOG_LEVEL", "info")),
	}
	c.Database = Database{
		URL:          get("PINBRIDGE_DATABASE_URL", "sqlite://"+filepath.ToSlash(filepath.Join(c.DataDir, "pinbridge.db"))),
		MaxOpenConns: integer("PINBRIDGE_DB_MAX_OPEN_CONNS", 0, 0),
	}
	if u, err := ParseDatabaseURL(c.Database.URL); err != nil {
		errs = append(errs, fmt.Errorf("PINBRIDGE_DATABASE_URL: %w", err))
	} else {
		c.Database.Parsed = u
	}
	c.Auth = Auth{
		JWTSecret:              Secret(get("PINBRIDGE_JWT_SECRET", "")),
		AccessTokenTTL:         duration("PINBRIDGE_ACCESS_TOKEN_TTL", "1h"),
		Issuer:                 get("PINBRIDGE_JWT_ISSUER", "pinbridge-auth"),
		Audience:               get("PINBRIDGE_JWT_AUDIENCE", "pinbridge-api"),
		ReauthWindow:           duration("PINBRIDGE_REAUTH_WINDOW", "10m"),
		SecretScanningKeysFile: get("PINBRIDGE_SECRET_SCANNING_KEYS_FILE", ""),
	}
	c.Mail = Mail{
		PublicURL:  strings.TrimRight(get("PINBRIDGE_PUBLIC_URL", "http://localhost:8080"), "/"),
		SMTPURL:    Secret(get("PINBRIDGE_SMTP_URL", "")),
		From:       get("PINBRIDGE_MAIL_FROM", "PinBridge <no-reply@localhost>"),
		OutboxDir:  filepath.Join(c.DataDir, "outbox"),
		RetryMin:   duration("PINBRIDGE_MAIL_RETRY_MIN", "5s"),
		RetryMax:   duration("PINBRIDGE_MAIL_RETRY_MAX", "10m"),
		PollPeriod: duration("PINBRIDGE_MAIL_POLL", "2s"),
	}
	c.Tokens = Tokens{
		PasswordResetTTL: duration("PINBRIDGE_RESET_TOKEN_TTL", "1h"),
		EmailVerifyTTL:   duration("PINBRIDGE_VERIFY_TOKEN_TTL", "24h"),
		EmailChangeTTL:   duration("PINBRIDGE_EMAIL_CHANGE_TOKEN_TTL", "1h"),
		EmailRevertTTL:   duration("PINBRIDGE_EMAIL_REVERT_TOKEN_TTL", "168h"),
	}
	c.HTTP = HTTP{
		BodyLimitBytes:    int64(integer("PINBRIDGE_BODY_LIMIT_BYTES", 64<<10, 1024)),
		ReadHeaderTimeout: duration("PINBRIDGE_READ_HEADER_TIMEOUT", "5s"),
		ReadTimeout:       duration("PINBRIDGE_READ_TIMEOUT", "15s"),
		WriteTimeout:      duration("PINBRIDGE_WRITE_TIMEOUT", "30s"),
		IdleTimeout:       duration("PINBRIDGE_IDLE_TIMEOUT", "120s"),
		ShutdownTimeout:   duration("PINBRIDGE_SHUTDOWN_TIMEOUT", "20s"),
		RequestTimeout:    duration("PINBRIDGE_REQUEST_TIMEOUT", "5s"),
	}
	c.Limits = Limits{Scale: 1}
	if raw := get("PINBRIDGE_RATE_LIMIT_SCALE", "1"); raw != "1" {
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || f <= 0 {
			errs = append(errs, fmt.Errorf("PINBRIDGE_RATE_LIMIT_SCALE: %q is not a positive number", raw))
		}
		c.Limits.Scale = f
	}
	for _, cidr := range splitList(get("PINBRIDGE_TRUSTED_PROXIES", "")) {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("PINBRIDGE_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", cidr))
			continue
		}
		c.Limits.TrustedProxies = append(c.Limits.TrustedProxies, n)
	}
	for _, origin := range splitList(get("PINBRIDGE_CORS_ORIGINS", "")) {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("PINBRIDGE_CORS_ORIGINS: %q is not an origin such as https://app.example.com", origin))
			continue
		}
		c.Limits.CORSOrigins = append(c.Limits.CORSOrigins, origin)
	}
	c.Limits.Overrides = map[string]RateLimit{}
	for _, item := range splitList(get("PINBRIDGE_RATE_LIMITS", "")) {
		name, spec, ok := strings.Cut(item, "=")
		count, window, ok2 := strings.Cut(spec, "/")
		n, err := strconv.Atoi(strings.TrimSpace(count))
		d, derr := time.ParseDuration(strings.TrimSpace(window))
		if !ok || !ok2 || err != nil || n < 1 || derr != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("PINBRIDGE_RATE_LIMITS: %q is not NAME=COUNT/WINDOW such as login:ip=120/1m", item))
			continue
		}
		c.Limits.Overrides[strings.TrimSpace(name)] = RateLimit{Limit: n, Window: d}
	}
	if err := c.Limits.CheckOverrides(); err != nil {
		errs = append(errs, err)
	}
	c.Hashing = Hashing{
		Workers: integer("PINBRIDGE_HASH_WORKERS", 0, 0),
		Queue:   integer("PINBRIDGE_HASH_QUEUE", 64, 0),
	}

	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func (c Config) validate() []error {
	var errs []error
	switch c.Env {
	case EnvDevelopment, EnvTest, EnvProduction:
	default:
		errs = append(errs, fmt.Errorf("PINBRIDGE_ENV: %q is not one of development, test, production", c.Env))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("PINBRIDGE_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel))
	}
	// Outside production an unset secret is fine here: EnsureJWTSecret generates one.
	if c.Env == EnvProduction || c.Auth.JWTSecret != "" {
		if err := CheckJWTSecret(c.Auth.JWTSecret); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Env == EnvProduction && c.Mail.SMTPURL == "" {
		errs = append(errs, errors.New("PINBRIDGE_SMTP_URL: production needs a mail transport"))
	}
	if u, err := url.Parse(c.Mail.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("PINBRIDGE_PUBLIC_URL: %q is not an http(s) URL", c.Mail.PublicURL))
	}
	if c.HTTP.RequestTimeout > 0 && c.HTTP.WriteTimeout > 0 && c.HTTP.RequestTimeout > c.HTTP.WriteTimeout-time.Second {
		// Past its deadline a request still needs a moment to stop its query and write the 503.
		errs = append(errs, fmt.Errorf("PINBRIDGE_REQUEST_TIMEOUT: %s must be at least 1s shorter than PINBRIDGE_WRITE_TIMEOUT (%s), or a request that runs out of time cannot be answered",
			c.HTTP.RequestTimeout, c.HTTP.WriteTimeout))
	}
	if c.Mail.SMTPURL != "" {
		u, err := url.Parse(c.Mail.SMTPURL.Reveal())
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			// The value may hold a password: never echo it.
			errs = append(errs, errors.New("PINBRIDGE_SMTP_URL: must look like smtp://user:pass@host:port or smtps://user:pass@host:port"))
		}
	}
	return errs
}

// EnsureJWTSecret fills in a development secret when none was configured: it is generated once
// and kept in DataDir/jwt-secret (mode 0600), so sessions survive restarts; a kept one that fails
// CheckJWTSecret is replaced. A configured secret, and production's, is only checked (Load has
// refused production without one). On success the secret passes CheckJWTSecret.
func (c *Config) EnsureJWTSecret() error {
	if c.Auth.JWTSecret != "" || c.Env == EnvProduction {
		return CheckJWTSecret(c.Auth.JWTSecret)
	}
	path := filepath.Join(c.DataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil {
		if kept := Secret(strings.TrimSpace(string(b))); CheckJWTSecret(kept) == nil {
			c.Auth.JWTSecret = kept
			return nil
		}
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	buf := make([]byte, 48)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generate jwt secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	c.Auth.JWTSecret = Secret(secret)
	return nil
}
