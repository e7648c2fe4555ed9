package server

import (
	"context"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
)

// Register creates the user, their organization and its production project, and opens a session.
func (s *Server) Register(ctx context.Context, req gen.RegisterRequestObject) (gen.RegisterResponseObject, error) {
	b := req.Body
	ip := clientIP(ctx)
	if err := s.limits(ctx, limitCheck{limitRegisterIP, ip}, limitCheck{limitRegisterEmail, emailSubject(string(b.Email)) + ":" + ip}); err != nil {
		return nil, err
	}
	r := account.Registration{
		Email: string(b.Email), FullName: b.FullName, Password: b.Password,
		WorkspaceName: b.WorkspaceName, Timezone: b.Timezone, InviteToken: b.InviteToken, Origin: originOf(ctx),
	}
	if b.MarketingAttribution != nil {
		r.MarketingAttribution = *b.MarketingAttribution
	}
	sess, err := s.accounts.Register(ctx, r)
	if err != nil {
		return nil, err
	}
	return gen.Register201JSONResponse(apiAuth(sess)), nil
}

// Login checks the password and opens a session on the production project.
func (s *Server) Login(ctx context.Context, req gen.LoginRequestObject) (gen.LoginResponseObject, error) {
	b := req.Body
	if err := s.limitPasswordCheck(ctx, string(b.Email)); err != nil {
		return nil, err
	}
	sess, err := s.accounts.Login(ctx, account.Credentials{
		Email: string(b.Email), Password: b.Password, Timezone: b.Timezone, Origin: originOf(ctx), InviteToken: b.InviteToken,
	})
	if err != nil {
		return nil, err
	}
	return gen.Login200JSONResponse(apiAuth(sess)), nil
}

// GetMe is the session's account and active project, as authentication loaded them.
func (s *Server) GetMe(ctx context.Context, _ gen.GetMeRequestObject) (gen.GetMeResponseObject, error) {
	p := principalFrom(ctx)
	return s.meBodies.answer(*p.account, p.project)
}

// limitReauthentication applies the limits of a login to a request that sends the current password
// to prove a stale session (email change, invitations, role changes); none when it sends none.
func (s *Server) limitReauthentication(ctx context.Context, currentPassword *string) error {
	if currentPassword == nil {
		return nil
	}
	return s.limitPasswordCheck(ctx, callerOf(ctx).Account.User.Email)
}

// limitPasswordCheck applies the limits of a login to any request that checks an account's
// password (login, change-password): per source address, and per account from that address, so
// that nobody exhausts the owner's limit from elsewhere.
func (s *Server) limitPasswordCheck(ctx context.Context, email string) error {
	ip := clientIP(ctx)
	return s.limits(ctx, limitCheck{limitLoginIP, ip}, limitCheck{limitLoginEmail, emailSubject(email) + ":" + ip})
}
