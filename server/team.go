package server

import (
	"context"
	"fmt"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// ListTeamMembers lists the organization's members.
func (s *Server) ListTeamMembers(ctx context.Context, _ gen.ListTeamMembersRequestObject) (gen.ListTeamMembersResponseObject, error) {
	members, err := s.accounts.Members(ctx, callerOf(ctx))
	if err != nil {
		return nil, err
	}
	out := gen.ListTeamMembers200JSONResponse{Items: make([]gen.TeamMember, 0, len(members))}
	for _, m := range members {
		out.Items = append(out.Items, apiTeamMember(m))
	}
	return out, nil
}

// UpdateTeamMember changes a member's role.
func (s *Server) UpdateTeamMember(ctx context.Context, req gen.UpdateTeamMemberRequestObject) (gen.UpdateTeamMemberResponseObject, error) {
	if err := s.limitReauthentication(ctx, req.Body.CurrentPassword); err != nil {
		return nil, err
	}
	m, err := s.accounts.ChangeRole(ctx, callerOf(ctx), req.MemberID.String(), req.Body.Role, req.Body.CurrentPassword)
	if err != nil {
		return nil, err
	}
	return gen.UpdateTeamMember200JSONResponse(apiTeamMember(m)), nil
}

// RemoveTeamMember removes a member (or the caller leaves).
func (s *Server) RemoveTeamMember(ctx context.Context, req gen.RemoveTeamMemberRequestObject) (gen.RemoveTeamMemberResponseObject, error) {
	revoked, err := s.accounts.RemoveMember(ctx, callerOf(ctx), req.MemberID.String())
	if err != nil {
		return nil, err
	}
	return gen.RemoveTeamMember200JSONResponse{
		Message:        fmt.Sprintf("Member removed; %d API key(s) they created in this organization were revoked.", revoked),
		RevokedAPIKeys: int(revoked),
	}, nil
}

// ListTeamInvitations lists the organization's invitations.
func (s *Server) ListTeamInvitations(ctx context.Context, _ gen.ListTeamInvitationsRequestObject) (gen.ListTeamInvitationsResponseObject, error) {
	invs, err := s.accounts.Invitations(ctx, callerOf(ctx))
	if err != nil {
		return nil, err
	}
	out := gen.ListTeamInvitations200JSONResponse{Items: make([]gen.TeamInvitation, 0, len(invs))}
	for _, inv := range invs {
		out.Items = append(out.Items, apiInvitation(inv))
	}
	return out, nil
}

// CreateTeamInvitation emails an invitation.
func (s *Server) CreateTeamInvitation(ctx context.Context, req gen.CreateTeamInvitationRequestObject) (gen.CreateTeamInvitationResponseObject, error) {
	c := callerOf(ctx)
	if err := s.limitInvitations(ctx, c.Account.Organization.ID, c.Account.User.ID); err != nil {
		return nil, err
	}
	if err := s.limitReauthentication(ctx, req.Body.CurrentPassword); err != nil {
		return nil, err
	}
	inv, err := s.accounts.Invite(ctx, c, string(req.Body.Email), req.Body.Role, req.Body.CurrentPassword)
	if err != nil {
		return nil, err
	}
	return gen.CreateTeamInvitation201JSONResponse(apiInvitation(inv)), nil
}

// ResendTeamInvitation sends an invitation again with a new link.
func (s *Server) ResendTeamInvitation(ctx context.Context, req gen.ResendTeamInvitationRequestObject) (gen.ResendTeamInvitationResponseObject, error) {
	c := callerOf(ctx)
	if err := s.limitInvitations(ctx, c.Account.Organization.ID, c.Account.User.ID); err != nil {
		return nil, err
	}
	var password *string
	if req.Body != nil {
		password = req.Body.CurrentPassword
	}
	if err := s.limitReauthentication(ctx, password); err != nil {
		return nil, err
	}
	inv, err := s.accounts.ResendInvitation(ctx, c, req.InvitationID.String(), password)
	if err != nil {
		return nil, err
	}
	return gen.ResendTeamInvitation200JSONResponse(apiInvitation(inv)), nil
}

// RevokeTeamInvitation revokes an invitation.
func (s *Server) RevokeTeamInvitation(ctx context.Context, req gen.RevokeTeamInvitationRequestObject) (gen.RevokeTeamInvitationResponseObject, error) {
	if err := s.accounts.RevokeInvitation(ctx, callerOf(ctx), req.InvitationID.String()); err != nil {
		return nil, err
	}
	return gen.RevokeTeamInvitation200JSONResponse{Message: "Invitation revoked; its link no longer works."}, nil
}

// PreviewTeamInvitation describes an invitation link without using it.
func (s *Server) PreviewTeamInvitation(ctx context.Context, req gen.PreviewTeamInvitationRequestObject) (gen.PreviewTeamInvitationResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	p, err := s.accounts.PreviewInvitation(ctx, req.Params.Token)
	if err != nil {
		return nil, err
	}
	return gen.PreviewTeamInvitation200JSONResponse(apiInvitationPreview(p)), nil
}

// AcceptTeamInvitation joins the organization and answers a session there.
func (s *Server) AcceptTeamInvitation(ctx context.Context, req gen.AcceptTeamInvitationRequestObject) (gen.AcceptTeamInvitationResponseObject, error) {
	if err := s.limit(ctx, limitLinkIP, clientIP(ctx)); err != nil {
		return nil, err
	}
	sess, err := s.accounts.AcceptInvitation(ctx, callerOf(ctx), req.Body.Token)
	if err != nil {
		return nil, err
	}
	return gen.AcceptTeamInvitation200JSONResponse(apiAuth(sess)), nil
}

// limitInvitations counts an invitation sent (or sent again) against the organization and the
// inviter.
func (s *Server) limitInvitations(ctx context.Context, orgID, userID string) error {
	return s.limits(ctx, limitCheck{limitInviteOrg, orgID}, limitCheck{limitInviteUser, userID})
}
