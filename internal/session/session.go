// Package session issues and verifies the session JWTs: HS256 only, with iss, aud, sub (user), org,
// pid (active project), sv (the user's session version), iat, nbf, exp and jti, all required.
package session

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// MaxTokenBytes bounds what Parse will look at.
const MaxTokenBytes = 4096

// ErrInvalid is the one error Parse returns; the reason stays internal.
var ErrInvalid = errors.New("invalid access token")

// Claims are the session token's claims.
type Claims struct {
	jwt.RegisteredClaims
	OrganizationID string `json:"org"`
	ProjectID      string `json:"pid"`
	// SessionVersion is the user's session version when the token was issued: ending a user's
	// sessions increments the version, and a token carrying another one is refused. A pointer so
	// that a missing claim is told apart from version 0; Parse guarantees it is set.
	SessionVersion *int64 `json:"sv"`
	// AuthTime is when the user last proved their password (OpenID Connect's auth_time): a login,
	// a registration, a password change. A session moved to another project keeps it, so
	// sensitive changes can ask for the password again after a while.
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
}

// Authenticated is when the user last proved their password: auth_time, else the token's iat.
func (c Claims) Authenticated() time.Time {
	if c.AuthTime != nil {
		return c.AuthTime.Time
	}
	return c.IssuedAt.Time
}

// Manager issues and parses tokens with one secret.
type Manager struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	verified verifiedTokens
}

// NewManager builds a Manager; now is the clock (time.Now in production).
func NewManager(secret []byte, issuer, audience string, ttl time.Duration, now func() time.Time) *Manager {
	return &Manager{
		secret: secret, issuer: issuer, audience: audience, ttl: ttl, now: now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(now),
		),
	}
}

// TTL is the lifetime of issued tokens.
func (m *Manager) TTL() time.Duration { return m.ttl }

// Issue signs a token for user in organization org with active project pid, carrying the user's
// session version. exp, iat and nbf are whole seconds: RFC 7519 allows fractions, but several JWT
// libraries refuse them. The error is a signing failure.
func (m *Manager) Issue(userID, orgID, projectID string, sessionVersion int64) (string, error) {
	return m.IssueAuthenticated(userID, orgID, projectID, sessionVersion, time.Time{})
}

// IssueAuthenticated is Issue for a user who proved their password at authTime (zero: now).
func (m *Manager) IssueAuthenticated(userID, orgID, projectID string, sessionVersion int64, authTime time.Time) (string, error) {
	now := m.now().UTC().Truncate(time.Second)
	if authTime.IsZero() || authTime.After(now) {
		authTime = now
	}
	authTime = authTime.UTC().Truncate(time.Second)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{m.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(m.expiry(now, authTime)),
			ID:        uuid.NewString(),
		},
		OrganizationID: orgID,
		ProjectID:      projectID,
		SessionVersion: &sessionVersion,
		AuthTime:       jwt.NewNumericDate(authTime),
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(m.secret)
	if err != nil {
		return "", fmt.Errorf("sign session token: %w", err)
	}
	return signed, nil
}

// expiry is when a session issued at now to a user who proved their password at authTime ends:
// one TTL after that proof. A session moved to another project or organization keeps its end, so
// switching again and again never extends a stolen session; only the password opens a new one.
func (m *Manager) expiry(now, authTime time.Time) time.Time {
	if end := authTime.Add(m.ttl); end.Before(now.Add(m.ttl)) {
		return end
	}
	return now.Add(m.ttl)
}

// Lifetime is how long a session IssueAuthenticated issues now for authTime (zero: now) lives.
func (m *Manager) Lifetime(authTime time.Time) time.Duration {
	now := m.now().UTC().Truncate(time.Second)
	if authTime.IsZero() || authTime.After(now) {
		authTime = now
	}
	return max(0, m.expiry(now, authTime.UTC().Truncate(time.Second)).Sub(now))
}

// Parse verifies signature, algorithm, issuer, audience, expiry, not-before and the presence of
// every claim (a token without sv, as releases before it issued, is refused), and refuses a header
// with crit (no JWS extension is understood here). It returns ErrInvalid for any failure.
func (m *Manager) Parse(token string) (Claims, error) {
	if len(token) > MaxTokenBytes {
		return Claims{}, ErrInvalid
	}
	if c, ok := m.verified.get(token); ok {
		if m.inTime(c) {
			return c, nil
		}
		return Claims{}, ErrInvalid
	}
	var c Claims
	tok, err := m.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return m.secret, nil })
	if err != nil {
		return Claims{}, ErrInvalid
	}
	// RFC 7515 4.1.11: a recipient must refuse a token whose crit lists an extension it does not
	// understand. This service understands none, so any crit (even empty or null) is refused.
	if _, critical := tok.Header["crit"]; critical {
		return Claims{}, ErrInvalid
	}
	if c.Subject == "" || c.OrganizationID == "" || c.ProjectID == "" || c.IssuedAt == nil || c.NotBefore == nil ||
		c.ID == "" || c.SessionVersion == nil || *c.SessionVersion < 0 {
		return Claims{}, ErrInvalid
	}
	if _, err := uuid.Parse(c.Subject); err != nil {
		return Claims{}, ErrInvalid
	}
	m.verified.put(token, c)
	return c, nil
}

// inTime applies the parser's time rules to claims verified before: expired at exp, valid from nbf
// and from iat.
func (m *Manager) inTime(c Claims) bool {
	now := m.now()
	return now.Before(c.ExpiresAt.Time) && !now.Before(c.NotBefore.Time) && !now.Before(c.IssuedAt.Time)
}

// maxVerified bounds the tokens verifiedTokens remembers (a few hundred bytes each).
const maxVerified = 2048

// verifiedTokens remembers the claims of tokens whose signature and claims Parse verified: a client
// sends the same token with every request, and decoding its claims was most of the cost of checking
// it. Only what the token itself says is kept, keyed by the whole token, so a remembered entry
// changes no answer: its time claims are checked again on every use, and everything that can end a
// session (its user's session version, their membership) is still read from the database on every
// request. When full, an arbitrary entry makes room.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[string]Claims
}

func (v *verifiedTokens) get(token string) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[token]
	return c, ok
}

func (v *verifiedTokens) put(token string, c Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = make(map[string]Claims)
	}
	if len(v.m) >= maxVerified {
		for k := range v.m {
			delete(v.m, k)
			break
		}
	}
	v.m[token] = c
}
