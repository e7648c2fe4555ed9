package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
	pw "github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Register creates the user, their organization and its production project, and opens a session.
func (s *Server) Register(ctx context.Context, req gen.RegisterRequestObject) (gen.RegisterResponseObject, error) {
	b := req.Body
	if err := s.limit(ctx, limitRegisterIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	email := strings.TrimSpace(string(b.Email))
	if err := s.limit(ctx, limitRegisterEmail, emailSubject(email)); err != nil {
		return nil, err
	}
	fullName := strings.TrimSpace(b.FullName)
	tz, err := timezoneOrUTC(b.Timezone)
	if err != nil {
		return nil, err
	}
	if err := checkPasswordStrength("password", b.Password, email); err != nil {
		return nil, err
	}
	workspace := fullName + "'s Workspace"
	if b.WorkspaceName != nil {
		workspace = strings.TrimSpace(*b.WorkspaceName)
	}
	var attribution *string
	if b.MarketingAttribution != nil && len(*b.MarketingAttribution) > 0 {
		raw, err := json.Marshal(b.MarketingAttribution)
		if err != nil {
			return nil, fmt.Errorf("encode marketing attribution: %w", err)
		}
		attribution = ptr(string(raw))
	}
	hash, err := s.hasher.Hash(ctx, b.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	account, err := s.store.CreateAccount(ctx, store.NewAccount{
		Email:                email,
		FullName:             fullName,
		Timezone:             tz,
		PasswordHash:         hash,
		OrganizationName:     workspace,
		ProjectName:          workspace,
		MarketingAttribution: attribution,
		Now:                  s.now(),
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, errAccountExists
	}
	if err != nil {
		return nil, err
	}
	body, err := s.openSession(account, account.Production())
	if err != nil {
		return nil, err
	}
	return gen.Register201JSONResponse(body), nil
}

// Login checks the password and opens a session on the production project. An unknown email and a
// wrong password get the same answer after the same work: one password verification.
func (s *Server) Login(ctx context.Context, req gen.LoginRequestObject) (gen.LoginResponseObject, error) {
	b := req.Body
	var tz string
	if b.Timezone != nil {
		var err error
		if tz, err = timezoneOrUTC(b.Timezone); err != nil {
			return nil, err
		}
	}
	email := string(b.Email)
	if err := s.limit(ctx, limitLoginIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	if err := s.limit(ctx, limitLoginEmail, emailSubject(email)); err != nil {
		return nil, err
	}
	// Backoff after repeated failures applies to every email, registered or not, so it reveals
	// nothing; it is never permanent, and a success or a reset clears it.
	if until, err := s.store.LoginLockedUntil(ctx, email); err != nil {
		return nil, err
	} else if wait := until.Sub(s.now()); wait > 0 {
		return nil, errRateLimited(wait)
	}
	user, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, b.Password); err != nil {
			return nil, fmt.Errorf("verify password: %w", err)
		}
		return nil, s.loginFailed(ctx, email)
	}
	if err != nil {
		return nil, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, b.Password, user.PasswordHash)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return nil, s.loginFailed(ctx, email)
	}
	if err := s.store.ClearLoginFailures(ctx, email); err != nil {
		return nil, err
	}
	if rehash {
		s.upgradeHash(ctx, user.ID, b.Password)
	}
	if tz != "" && tz != user.Timezone {
		if err := s.store.SetTimezone(ctx, user.ID, tz, s.now()); err != nil {
			return nil, err
		}
	}
	account, err := s.store.Account(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	body, err := s.openSession(account, account.Production())
	if err != nil {
		return nil, err
	}
	return gen.Login200JSONResponse(body), nil
}

// loginFailed records a failed login for the backoff and returns the answer every failure gets.
func (s *Server) loginFailed(ctx context.Context, email string) error {
	if _, err := s.store.RecordLoginFailure(ctx, email, s.now(), loginForget, loginBackoff); err != nil {
		return err
	}
	return errInvalidCredentials
}

// upgradeHash re-hashes a password whose stored hash uses outdated parameters. A failure only
// delays the upgrade to the next login, so it is logged, not returned.
func (s *Server) upgradeHash(ctx context.Context, userID, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, userID, hash, s.now())
	}
	if err != nil {
		s.log.Warn("upgrade password hash", slog.String("user_id", userID), slog.String("error", err.Error()))
	}
}

// GetMe is the session's account and active project, as authentication loaded them.
func (s *Server) GetMe(ctx context.Context, _ gen.GetMeRequestObject) (gen.GetMeResponseObject, error) {
	p := principalFrom(ctx)
	return gen.GetMe200JSONResponse(apiMe(*p.account, p.project)), nil
}

// openSession issues a session token for account on project.
func (s *Server) openSession(account store.Account, project store.Project) (gen.AuthResponse, error) {
	token, err := s.sessions.Issue(account.User.ID, account.Organization.ID, project.ID)
	if err != nil {
		return gen.AuthResponse{}, err
	}
	return apiAuth(account, project, token, int(s.sessions.TTL()/time.Second)), nil
}

// timezoneOrUTC validates an optional IANA zone name; nil means UTC.
func timezoneOrUTC(tz *string) (string, error) {
	if tz == nil {
		return "UTC", nil
	}
	name := strings.TrimSpace(*tz)
	if name == "" || name == "Local" || strings.ContainsAny(name, `\`) || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return "", fieldError("timezone", "value_error", "must be an IANA time zone name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", fieldError("timezone", "value_error", "must be an IANA time zone name such as Europe/Paris")
	}
	return name, nil
}

// checkPasswordStrength refuses common and breached passwords (an embedded list of about 200,000)
// and passwords built from the account's email.
func checkPasswordStrength(field, password, email string) error {
	if pw.Common(password) {
		return errWeakPassword(field, "is one of the most common or breached passwords; choose something less guessable, such as a few unrelated words")
	}
	pw := strings.ToLower(strings.TrimSpace(password))
	email = strings.ToLower(email)
	local, _, _ := strings.Cut(email, "@")
	if pw == email || (len(local) >= 3 && strings.Contains(pw, local) && len(pw)-len(local) < 4) {
		return errWeakPassword(field, "must not be built from your email address")
	}
	return nil
}
