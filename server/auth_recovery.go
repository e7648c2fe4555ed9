package server

import (
	"context"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
)

const forgotPasswordMessage = "If an account exists for this email, a password reset link is on its way."

// ForgotPassword answers at once, the same way whether or not the email is registered; the reset
// link is issued off the request path.
func (s *Server) ForgotPassword(ctx context.Context, req gen.ForgotPasswordRequestObject) (gen.ForgotPasswordResponseObject, error) {
	email := string(req.Body.Email)
	// Both limits apply whether or not the account exists, so a 429 reveals nothing either. Per
	// email from one address: nobody can exhaust the owner's own requests from elsewhere (the mail
	// itself goes at most once a minute, whoever asks).
	ip := clientIP(ctx)
	if err := s.limits(ctx, limitCheck{limitForgotIP, ip}, limitCheck{limitForgotEmail, emailSubject(email) + ":" + ip}); err != nil {
		return nil, err
	}
	s.accounts.RequestPasswordReset(originOf(ctx), email)
	return gen.ForgotPassword200JSONResponse{Message: forgotPasswordMessage}, nil
}

// ResetPassword sets a new password with an emailed token and ends every session of the user.
func (s *Server) ResetPassword(ctx context.Context, req gen.ResetPasswordRequestObject) (gen.ResetPasswordResponseObject, error) {
	if err := s.limit(ctx, limitResetIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	if err := s.accounts.ResetPassword(ctx, originOf(ctx), req.Body.Token, req.Body.Password); err != nil {
		return nil, err
	}
	return gen.ResetPassword200JSONResponse{Message: "Your password has been reset. Sign in with your new password."}, nil
}

// ChangePassword replaces the password after checking the current one, ends the user's other
// sessions, and returns a fresh session for the caller.
func (s *Server) ChangePassword(ctx context.Context, req gen.ChangePasswordRequestObject) (gen.ChangePasswordResponseObject, error) {
	c := callerOf(ctx)
	if err := s.limitPasswordCheck(ctx, c.Account.User.Email); err != nil {
		return nil, err
	}
	sess, err := s.accounts.ChangePassword(ctx, c, req.Body.CurrentPassword, req.Body.NewPassword)
	if err != nil {
		return nil, err
	}
	bearer := gen.PasswordChangedTokenTypeBearer
	expires := int(sess.TTL / time.Second)
	return gen.ChangePassword200JSONResponse{
		Message:     "Password changed. Your other sessions have been signed out.",
		AccessToken: &sess.Token, TokenType: &bearer, ExpiresIn: &expires,
	}, nil
}

// RequestEmailVerification sends a verification link to the account's address (at most once a
// minute; a request inside that minute says how long to wait).
func (s *Server) RequestEmailVerification(ctx context.Context, _ gen.RequestEmailVerificationRequestObject) (gen.RequestEmailVerificationResponseObject, error) {
	p := principalFrom(ctx)
	if err := s.limitAccount(ctx, limitVerifyUser, p.account.User.ID, limitSessionIP); err != nil {
		return nil, err
	}
	sent, err := s.accounts.RequestEmailVerification(ctx, callerOf(ctx))
	switch {
	case err != nil:
		return nil, err
	case sent.AlreadyVerified:
		return gen.RequestEmailVerification200JSONResponse{Message: "Your email address is already verified."}, nil
	case sent.RetryAfter > 0:
		return gen.RequestEmailVerification200JSONResponse{
			Message: "A verification link was sent a moment ago; check your inbox or retry shortly.", RetryAfterSeconds: &sent.RetryAfter,
		}, nil
	}
	return gen.RequestEmailVerification200JSONResponse{Message: "Verification link sent to " + sent.SentTo + "."}, nil
}

// VerifyEmail consumes a verification token; it verifies only the address the link was sent to.
func (s *Server) VerifyEmail(ctx context.Context, req gen.VerifyEmailRequestObject) (gen.VerifyEmailResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	if err := s.accounts.VerifyEmail(ctx, originOf(ctx), req.Params.Token); err != nil {
		return nil, err
	}
	return gen.VerifyEmail200JSONResponse{Message: "Your email address is verified."}, nil
}

// RequestEmailChange sends a confirmation link to the new address; the answer is the same whether
// or not another account uses it.
func (s *Server) RequestEmailChange(ctx context.Context, req gen.RequestEmailChangeRequestObject) (gen.RequestEmailChangeResponseObject, error) {
	p := principalFrom(ctx)
	if err := s.limitAccount(ctx, limitEmailChangeUser, p.account.User.ID, limitSessionIP); err != nil {
		return nil, err
	}
	if err := s.limitReauthentication(ctx, req.Body.CurrentPassword); err != nil {
		return nil, err
	}
	change, err := s.accounts.RequestEmailChange(ctx, callerOf(ctx), string(req.Body.NewEmail), req.Body.CurrentPassword)
	if err != nil {
		return nil, err
	}
	if change.RetryAfter > 0 {
		return gen.RequestEmailChange200JSONResponse{
			Message:      "A confirmation link was sent a moment ago; check that inbox or retry shortly.",
			PendingEmail: change.PendingEmail, RequestedAt: change.RequestedAt, RetryAfterSeconds: &change.RetryAfter,
		}, nil
	}
	return gen.RequestEmailChange200JSONResponse{
		Message:      "Confirmation link sent to " + change.PendingEmail + ". Your email changes when you open it.",
		PendingEmail: change.PendingEmail, RequestedAt: change.RequestedAt,
	}, nil
}

// ConfirmEmailChange consumes an email-change token and makes its address the account's.
func (s *Server) ConfirmEmailChange(ctx context.Context, req gen.ConfirmEmailChangeRequestObject) (gen.ConfirmEmailChangeResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	newEmail, err := s.accounts.ConfirmEmailChange(ctx, originOf(ctx), req.Params.Token)
	if err != nil {
		return nil, err
	}
	return gen.ConfirmEmailChange200JSONResponse{
		Message: "Your email address is now " + newEmail + ".", NewEmail: newEmail, RequiresReauthentication: false,
	}, nil
}

// RevertEmailChange undoes an email change with the link sent to the former address.
func (s *Server) RevertEmailChange(ctx context.Context, req gen.RevertEmailChangeRequestObject) (gen.RevertEmailChangeResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	email, err := s.accounts.RevertEmailChange(ctx, originOf(ctx), req.Body.Token)
	if err != nil {
		return nil, err
	}
	return gen.RevertEmailChange200JSONResponse{
		Message: "Your email address is " + email + " again and every session was signed out. Choose a new password now.",
		Email:   email,
	}, nil
}
