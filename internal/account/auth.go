package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	pw "github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Registration is what a new user sends.
type Registration struct {
	Email    string
	FullName string
	Password string
	// WorkspaceName names the organization and its production project; nil derives it from FullName.
	WorkspaceName *string
	Timezone      *string // IANA name; nil is UTC
	// MarketingAttribution is kept as sent (JSON-encoded); empty is not stored.
	MarketingAttribution map[string]*string
}

// Register creates the user, their organization and its production project in one transaction and
// opens a session on that project. ErrAccountExists when the email is registered in any letter
// case; a *FieldError for a bad time zone or a guessable password (checked before any hashing).
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	email := strings.TrimSpace(r.Email)
	fullName := strings.TrimSpace(r.FullName)
	tz, err := timezoneOrUTC(r.Timezone)
	if err != nil {
		return Session{}, err
	}
	if err := checkPasswordStrength("password", r.Password, email); err != nil {
		return Session{}, err
	}
	workspace := fullName + "'s Workspace"
	if r.WorkspaceName != nil {
		workspace = strings.TrimSpace(*r.WorkspaceName)
	}
	var attribution *string
	if len(r.MarketingAttribution) > 0 {
		raw, err := json.Marshal(r.MarketingAttribution)
		if err != nil {
			return Session{}, fmt.Errorf("encode marketing attribution: %w", err)
		}
		attribution = new(string(raw))
	}
	hash, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return Session{}, fmt.Errorf("hash password: %w", err)
	}
	account, err := s.store.CreateAccount(ctx, store.NewAccount{
		Email: email, FullName: fullName, Timezone: tz, PasswordHash: hash,
		OrganizationName: workspace, ProjectName: workspace, MarketingAttribution: attribution, Now: s.now(),
	})
	if errors.Is(err, store.ErrConflict) {
		return Session{}, ErrAccountExists
	}
	if err != nil {
		return Session{}, err
	}
	return s.open(account, account.Production())
}

// Credentials are what a login sends.
type Credentials struct {
	Email    string
	Password string
	Timezone *string // when set, recorded as the user's time zone
}

// Login backoff: after loginFreeFailures failed logins for one email within loginForget, each
// further failure doubles the wait before the next attempt, up to loginMaxBackoff. Never a permanent
// lockout; a successful login or a password reset clears it.
const (
	loginFreeFailures = 5
	loginForget       = time.Hour
	loginMaxBackoff   = 15 * time.Minute
)

func loginBackoff(failures int) time.Duration {
	if failures <= loginFreeFailures {
		return 0
	}
	d := time.Second << min(failures-loginFreeFailures-1, 20)
	return min(d, loginMaxBackoff)
}

// Login checks the password and opens a session on the production project. An unknown email and a
// wrong password get the same error, ErrInvalidCredentials, after the same work: one password
// verification. A *BackoffError while the email waits after repeated failures (registered or not,
// so it reveals nothing); a *FieldError for a bad time zone.
func (s *Service) Login(ctx context.Context, c Credentials) (Session, error) {
	var tz string
	if c.Timezone != nil {
		var err error
		if tz, err = timezoneOrUTC(c.Timezone); err != nil {
			return Session{}, err
		}
	}
	if until, err := s.store.LoginLockedUntil(ctx, c.Email); err != nil {
		return Session{}, err
	} else if wait := until.Sub(s.now()); wait > 0 {
		return Session{}, &BackoffError{Wait: wait}
	}
	user, err := s.store.UserByEmail(ctx, c.Email)
	if errors.Is(err, store.ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, c.Password); err != nil {
			return Session{}, fmt.Errorf("verify password: %w", err)
		}
		return Session{}, s.loginFailed(ctx, c.Email)
	}
	if err != nil {
		return Session{}, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, c.Password, user.PasswordHash)
	if err != nil {
		return Session{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return Session{}, s.loginFailed(ctx, c.Email)
	}
	if err := s.store.ClearLoginFailures(ctx, c.Email); err != nil {
		return Session{}, err
	}
	if rehash {
		s.upgradeHash(ctx, user.ID, c.Password)
	}
	if tz != "" && tz != user.Timezone {
		if err := s.store.SetTimezone(ctx, user.ID, tz, s.now()); err != nil {
			return Session{}, err
		}
	}
	account, err := s.store.Account(ctx, user.ID)
	if err != nil {
		return Session{}, err
	}
	return s.open(account, account.Production())
}

// loginFailed records a failed login for the backoff and returns the error every failure gets.
func (s *Service) loginFailed(ctx context.Context, email string) error {
	if _, err := s.store.RecordLoginFailure(ctx, email, s.now(), loginForget, loginBackoff); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// upgradeHash re-hashes a password whose stored hash uses outdated parameters. A failure only
// delays the upgrade to the next login, so it is logged, not returned.
func (s *Service) upgradeHash(ctx context.Context, userID, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, userID, hash, s.now())
	}
	if err != nil {
		s.log.Warn("upgrade password hash", slog.String("user_id", userID), slog.String("error", err.Error()))
	}
}

// timezoneOrUTC validates an optional IANA zone name; nil means UTC.
func timezoneOrUTC(tz *string) (string, error) {
	if tz == nil {
		return "UTC", nil
	}
	name := strings.TrimSpace(*tz)
	if name == "" || name == "Local" || strings.ContainsAny(name, `\`) || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return "", invalid("timezone", "must be an IANA time zone name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", invalid("timezone", "must be an IANA time zone name such as Europe/Paris")
	}
	return name, nil
}

// checkPasswordStrength refuses common and breached passwords (an embedded list of about 200,000)
// and passwords built from the account's email.
func checkPasswordStrength(field, password, email string) error {
	if pw.Common(password) {
		return weakPassword(field, "is one of the most common or breached passwords; choose something less guessable, such as a few unrelated words")
	}
	lower := strings.ToLower(strings.TrimSpace(password))
	email = strings.ToLower(email)
	local, _, _ := strings.Cut(email, "@")
	if lower == email || (len(local) >= 3 && strings.Contains(lower, local) && len(lower)-len(local) < 4) {
		return weakPassword(field, "must not be built from your email address")
	}
	return nil
}
