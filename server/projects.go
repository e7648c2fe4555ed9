package server

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/store"
)

// ListProjects shows the organization's projects and the session's active one.
func (s *Server) ListProjects(ctx context.Context, _ gen.ListProjectsRequestObject) (gen.ListProjectsResponseObject, error) {
	p := principalFrom(ctx)
	return gen.ListProjects200JSONResponse(apiProjects(*p.account, p.project)), nil
}

// CreateSandboxProject creates the organization's sandbox, or returns the one it has.
func (s *Server) CreateSandboxProject(ctx context.Context, req gen.CreateSandboxProjectRequestObject) (gen.CreateSandboxProjectResponseObject, error) {
	p := principalFrom(ctx)
	name := "Sandbox"
	if req.Body != nil && req.Body.Name != nil {
		name = strings.TrimSpace(*req.Body.Name)
	}
	if _, err := s.store.EnsureSandbox(ctx, p.organizationID, name, p.account.Production().Timezone, s.now()); err != nil {
		return nil, err
	}
	account, err := s.refreshProjects(ctx, p)
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
	if _, err := s.store.ResetSandbox(ctx, p.organizationID, s.now()); errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("Sandbox project")
	} else if err != nil {
		return nil, err
	}
	return gen.ResetSandboxProject200JSONResponse(apiProjects(*p.account, p.project)), nil
}

// SwitchProject issues a session whose active project is the one asked for; 404 for a project of
// another organization, as for one that does not exist.
func (s *Server) SwitchProject(ctx context.Context, req gen.SwitchProjectRequestObject) (gen.SwitchProjectResponseObject, error) {
	p := principalFrom(ctx)
	target, ok := p.account.Project(req.Body.ProjectID.String())
	if !ok {
		return nil, errNotFound("Project")
	}
	token, err := s.sessions.Issue(p.account.User.ID, p.organizationID, target.ID)
	if err != nil {
		return nil, err
	}
	pc := apiProjects(*p.account, target)
	current := apiOrgSession(*p.account, target)
	return gen.SwitchProject200JSONResponse{
		Organization:           pc.Organization,
		ActiveProject:          pc.ActiveProject,
		Projects:               pc.Projects,
		OrganizationRole:       current.OrganizationRole,
		Permissions:            current.Permissions,
		AvailableOrganizations: apiAvailableOrganizations(*p.account, target),
		AccessToken:            token,
		TokenType:              gen.ProjectSwitchedTokenTypeBearer,
		ExpiresIn:              int(s.sessions.TTL() / time.Second),
	}, nil
}

// refreshProjects reloads the organization's projects after a change.
func (s *Server) refreshProjects(ctx context.Context, p *principal) (store.Account, error) {
	projects, err := s.store.Projects(ctx, p.organizationID)
	if err != nil {
		return store.Account{}, err
	}
	a := *p.account
	a.Projects = projects
	return a, nil
}
