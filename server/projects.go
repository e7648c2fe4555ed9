package server

import (
	"context"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// ListProjects shows the organization's projects and the session's active one.
func (s *Server) ListProjects(ctx context.Context, _ gen.ListProjectsRequestObject) (gen.ListProjectsResponseObject, error) {
	p := principalFrom(ctx)
	return gen.ListProjects200JSONResponse(apiProjects(*p.account, p.project)), nil
}

// CreateSandboxProject creates the organization's sandbox, or returns the one it has.
func (s *Server) CreateSandboxProject(ctx context.Context, req gen.CreateSandboxProjectRequestObject) (gen.CreateSandboxProjectResponseObject, error) {
	p := principalFrom(ctx)
	var name *string
	if req.Body != nil {
		name = req.Body.Name
	}
	account, err := s.accounts.CreateSandbox(ctx, callerOf(ctx), name)
	if err != nil {
		return nil, err
	}
	return gen.CreateSandboxProject200JSONResponse(apiProjects(account, p.project)), nil
}

// ResetSandboxProject restores the sandbox's initial state; 404 when there is no sandbox.
func (s *Server) ResetSandboxProject(ctx context.Context, _ gen.ResetSandboxProjectRequestObject) (gen.ResetSandboxProjectResponseObject, error) {
	p := principalFrom(ctx)
	if err := s.limit(ctx, limitSandboxResetOrg, p.organizationID); err != nil {
		return nil, err
	}
	if err := s.accounts.ResetSandbox(ctx, callerOf(ctx)); err != nil {
		return nil, err
	}
	return gen.ResetSandboxProject200JSONResponse(apiProjects(*p.account, p.project)), nil
}

// SwitchProject issues a session whose active project is the one asked for; 404 for a project of
// another organization, as for one that does not exist.
func (s *Server) SwitchProject(ctx context.Context, req gen.SwitchProjectRequestObject) (gen.SwitchProjectResponseObject, error) {
	sess, err := s.accounts.SwitchProject(ctx, callerOf(ctx), req.Body.ProjectID.String())
	if err != nil {
		return nil, err
	}
	pc := apiProjects(sess.Account, sess.Project)
	current, available := orgSessions(sess.Account, sess.Project, apiOrgSession)
	return gen.SwitchProject200JSONResponse{
		Organization: pc.Organization, ActiveProject: pc.ActiveProject, Projects: pc.Projects,
		OrganizationRole: current.OrganizationRole, Permissions: current.Permissions,
		AvailableOrganizations: available,
		AccessToken:            sess.Token, TokenType: gen.ProjectSwitchedTokenTypeBearer,
		ExpiresIn: int(sess.TTL / time.Second),
	}, nil
}
