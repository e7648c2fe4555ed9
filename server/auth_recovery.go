package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/otp"
	"github.com/pinbridge/pinbridge-auth/store"
)

const forgotPasswordMessage = "If an account exists for this email, a password reset link is on its way."

// ForgotPassword answers at once, the same way whether or not the email is registered; the lookup,
// the token and its email happen off the request path, so neither the answer nor its timing says
// whether the account exists.
func (s *Server) ForgotPassword(ctx context.Context, req gen.ForgotPasswordRequestObject) (gen.ForgotPasswordResponseObject, error) {
	email := string(req.Body.Email)
	// Both limits apply whether or not the account exists, so a 429 reveals nothing either.
	if err := s.limit(ctx, limitForgotIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	if err := s.limit(ctx, limitForgotEmail, emailSubject(email)); err != nil {
		return nil, err
	}
	s.background("forgot-password", func(ctx context.Context) error { return s.sendPasswordReset(ctx, email) })
	return gen.ForgotPassword200JSONResponse{Message: forgotPasswordMessage}, nil
}

func (s *Server) sendPasswordReset(ctx context.Context, email string) error {
	user, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.issueLink(ctx, user, store.PurposePasswordReset, mail.KindPasswordReset, user.Email, "", nil)
}

// issueLink creates a one-time token for user and queues the email carrying its link, in one
// transaction; older unused tokens of the same purpose stop working.
func (s *Server) issueLink(ctx context.Context, user store.User, purpose, kind, to, newEmail string, extra func(tx *store.Store) error) error {
	token, hash, err := otp.New()
	if err != nil {
		return err
	}
	now := s.now()
	ttl, page := s.linkSettings(purpose)
	link := s.cfg.Mail.PublicURL + page + "?token=" + url.QueryEscape(token)
	subject, text, html, err := mail.Render(kind, mail.Data{Name: user.FullName, Link: link, NewEmail: newEmail, Expires: humanDuration(ttl)})
	if err != nil {
		return err
	}
	var payload *string
	if purpose != store.PurposePasswordReset {
		// Verification and email-change tokens are bound to the address they were sent to.
		payload = &to
	}
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if err := tx.RetireTokens(ctx, user.ID, purpose, now); err != nil {
			return err
		}
		if _, err := tx.CreateToken(ctx, store.NewToken{UserID: user.ID, Purpose: purpose, Hash: hash, Payload: payload, ExpiresAt: now.Add(ttl), Now: now}); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		_, err := tx.Enqueue(ctx, store.NewMessage{Kind: kind, To: to, Subject: subject, Text: text, HTML: html}, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("issue %s link: %w", purpose, err)
	}
	s.mailer.Wake()
	return nil
}

func (s *Server) linkSettings(purpose string) (time.Duration, string) {
	switch purpose {
	case store.PurposePasswordReset:
		return s.cfg.Tokens.PasswordResetTTL, "/reset-password"
	case store.PurposeEmailVerify:
		return s.cfg.Tokens.EmailVerifyTTL, "/verify-email"
	default:
		return s.cfg.Tokens.EmailChangeTTL, "/confirm-email-change"
	}
}

// humanDuration says 1 hour, 24 hours, 30 minutes.
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// notice queues an informational email (password or email changed) inside tx.
func (s *Server) notice(ctx context.Context, tx *store.Store, kind string, user store.User, to, newEmail string) error {
	subject, text, html, err := mail.Render(kind, mail.Data{Name: user.FullName, NewEmail: newEmail})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.NewMessage{Kind: kind, To: to, Subject: subject, Text: text, HTML: html}, s.now())
	return err
}

// ResetPassword sets a new password with an emailed token. The token is consumed by one
// conditional UPDATE in the same transaction as the new password, so of concurrent uses exactly
// one succeeds. Every session of the user ends; the email counts as verified.
func (s *Server) ResetPassword(ctx context.Context, req gen.ResetPasswordRequestObject) (gen.ResetPasswordResponseObject, error) {
	if err := s.limit(ctx, limitResetIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	hash := otp.Hash(req.Body.Token)
	t, err := s.store.UsableToken(ctx, store.PurposePasswordReset, hash, s.now())
	if err != nil {
		return nil, notFoundAs(err, errInvalidResetToken)
	}
	user, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, notFoundAs(err, errInvalidResetToken)
	}
	if err := checkPasswordStrength("password", req.Body.Password, user.Email); err != nil {
		return nil, err
	}
	newHash, err := s.hasher.Hash(ctx, req.Body.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		if _, err := tx.ConsumeToken(ctx, store.PurposePasswordReset, hash, now); err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, user.ID, newHash, now, true); err != nil {
			return err
		}
		if err := tx.RetireTokens(ctx, user.ID, store.PurposePasswordReset, now); err != nil {
			return err
		}
		if err := tx.ClearLoginFailures(ctx, user.Email); err != nil {
			return err
		}
		return s.notice(ctx, tx, mail.KindPasswordChanged, user, user.Email, "")
	})
	if err != nil {
		return nil, notFoundAs(err, errInvalidResetToken)
	}
	s.mailer.Wake()
	return gen.ResetPassword200JSONResponse{Message: "Your password has been reset. Sign in with your new password."}, nil
}

// ChangePassword replaces the password after checking the current one, ends the user's other
// sessions, and returns a fresh session for the caller.
func (s *Server) ChangePassword(ctx context.Context, req gen.ChangePasswordRequestObject) (gen.ChangePasswordResponseObject, error) {
	p := principalFrom(ctx)
	user := p.account.User
	ok, _, err := s.hasher.Verify(ctx, req.Body.CurrentPassword, user.PasswordHash)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return nil, errIncorrectPassword
	}
	if req.Body.NewPassword == req.Body.CurrentPassword {
		return nil, fieldError("new_password", "value_error", "must differ from the current password")
	}
	if err := checkPasswordStrength("new_password", req.Body.NewPassword, user.Email); err != nil {
		return nil, err
	}
	newHash, err := s.hasher.Hash(ctx, req.Body.NewPassword)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if err := tx.SetPassword(ctx, user.ID, newHash, s.now(), false); err != nil {
			return err
		}
		return s.notice(ctx, tx, mail.KindPasswordChanged, user, user.Email, "")
	})
	if err != nil {
		return nil, err
	}
	s.mailer.Wake()
	token, err := s.sessions.Issue(user.ID, p.organizationID, p.projectID)
	if err != nil {
		return nil, err
	}
	bearer := gen.PasswordChangedTokenTypeBearer
	expires := int(s.sessions.TTL() / time.Second)
	return gen.ChangePassword200JSONResponse{
		Message:     "Password changed. Your other sessions have been signed out.",
		AccessToken: &token, TokenType: &bearer, ExpiresIn: &expires,
	}, nil
}

// resendWindow is how long after sending a link another request waits instead of sending again.
const resendWindow = time.Minute

func retryAfter(sentAt, now time.Time) (int, bool) {
	left := sentAt.Add(resendWindow).Sub(now)
	if left <= 0 {
		return 0, false
	}
	return int((left + time.Second - 1) / time.Second), true
}

// RequestEmailVerification sends a verification link to the account's address (at most once a
// minute; a request inside that minute says how long to wait).
func (s *Server) RequestEmailVerification(ctx context.Context, _ gen.RequestEmailVerificationRequestObject) (gen.RequestEmailVerificationResponseObject, error) {
	user := principalFrom(ctx).account.User
	if err := s.limitAccount(ctx, limitVerifyUser, user.ID, limitSessionIP); err != nil {
		return nil, err
	}
	if user.EmailVerifiedAt != nil {
		return gen.RequestEmailVerification200JSONResponse{Message: "Your email address is already verified."}, nil
	}
	last, err := s.store.LatestToken(ctx, user.ID, store.PurposeEmailVerify)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil {
		if wait, ok := retryAfter(last.CreatedAt, s.now()); ok {
			return gen.RequestEmailVerification200JSONResponse{
				Message: "A verification link was sent a moment ago; check your inbox or retry shortly.", RetryAfterSeconds: &wait,
			}, nil
		}
	}
	if err := s.issueLink(ctx, user, store.PurposeEmailVerify, mail.KindEmailVerify, user.Email, "", nil); err != nil {
		return nil, err
	}
	return gen.RequestEmailVerification200JSONResponse{Message: "Verification link sent to " + user.Email + "."}, nil
}

// VerifyEmail consumes a verification token; it verifies only the address the link was sent to.
func (s *Server) VerifyEmail(ctx context.Context, req gen.VerifyEmailRequestObject) (gen.VerifyEmailResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	hash := otp.Hash(req.Params.Token)
	err := s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		t, err := tx.ConsumeToken(ctx, store.PurposeEmailVerify, hash, now)
		if err != nil {
			return err
		}
		user, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		if t.Payload == nil || store.EmailKey(*t.Payload) != user.EmailKey {
			return fmt.Errorf("verification link for a previous address: %w", store.ErrNotFound)
		}
		return tx.MarkEmailVerified(ctx, user.ID, now)
	})
	if err != nil {
		return nil, notFoundAs(err, errInvalidVerification)
	}
	return gen.VerifyEmail200JSONResponse{Message: "Your email address is verified."}, nil
}

// RequestEmailChange sends a confirmation link to the new address. If another account already uses
// it, the answer is the same and that address gets a notice instead: the caller learns nothing.
func (s *Server) RequestEmailChange(ctx context.Context, req gen.RequestEmailChangeRequestObject) (gen.RequestEmailChangeResponseObject, error) {
	user := principalFrom(ctx).account.User
	if err := s.limitAccount(ctx, limitEmailChangeUser, user.ID, limitSessionIP); err != nil {
		return nil, err
	}
	newEmail := strings.TrimSpace(string(req.Body.NewEmail))
	if store.EmailKey(newEmail) == user.EmailKey {
		return nil, fieldError("new_email", "value_error", "is already the email of this account")
	}
	now := s.now()
	if user.PendingEmail != nil && user.PendingEmailAt != nil && store.EmailKey(*user.PendingEmail) == store.EmailKey(newEmail) {
		if wait, ok := retryAfter(*user.PendingEmailAt, now); ok {
			return gen.RequestEmailChange200JSONResponse{
				Message:      "A confirmation link was sent a moment ago; check that inbox or retry shortly.",
				PendingEmail: *user.PendingEmail, RequestedAt: *user.PendingEmailAt, RetryAfterSeconds: &wait,
			}, nil
		}
	}
	setPending := func(tx *store.Store) error { return tx.SetPendingEmail(ctx, user.ID, &newEmail, now) }
	_, err := s.store.UserByEmail(ctx, newEmail)
	switch {
	case err == nil:
		err = s.store.Tx(ctx, func(tx *store.Store) error {
			if err := setPending(tx); err != nil {
				return err
			}
			return s.notice(ctx, tx, mail.KindEmailChangeTaken, user, newEmail, newEmail)
		})
		s.mailer.Wake()
	case errors.Is(err, store.ErrNotFound):
		err = s.issueLink(ctx, user, store.PurposeEmailChange, mail.KindEmailChange, newEmail, newEmail, setPending)
	}
	if err != nil {
		return nil, err
	}
	return gen.RequestEmailChange200JSONResponse{
		Message:      "Confirmation link sent to " + newEmail + ". Your email changes when you open it.",
		PendingEmail: newEmail, RequestedAt: now,
	}, nil
}

// ConfirmEmailChange consumes an email-change token and makes its address the account's, verified.
// The old address is told. Sessions stay valid.
func (s *Server) ConfirmEmailChange(ctx context.Context, req gen.ConfirmEmailChangeRequestObject) (gen.ConfirmEmailChangeResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	hash := otp.Hash(req.Params.Token)
	var newEmail string
	err := s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		t, err := tx.ConsumeToken(ctx, store.PurposeEmailChange, hash, now)
		if err != nil {
			return err
		}
		if t.Payload == nil {
			return fmt.Errorf("email change token without address: %w", store.ErrNotFound)
		}
		user, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		newEmail = *t.Payload
		if err := tx.ChangeEmail(ctx, user.ID, newEmail, now); err != nil {
			return err
		}
		return s.notice(ctx, tx, mail.KindEmailChanged, user, user.Email, newEmail)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidVerification
	case errors.Is(err, store.ErrConflict):
		return nil, errAccountExists
	case err != nil:
		return nil, err
	}
	s.mailer.Wake()
	return gen.ConfirmEmailChange200JSONResponse{
		Message: "Your email address is now " + newEmail + ".", NewEmail: newEmail, RequiresReauthentication: false,
	}, nil
}
