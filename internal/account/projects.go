package account

import (
	"context"
	"strings"

	"github.com/pinbridge/pinbridge-auth/store"
)

// CreateSandbox creates the organization's sandbox (named name, "Sandbox" when nil) or keeps the
// one it has, and returns the caller's account with its projects as they are now.
func (s *Service) CreateSandbox(ctx context.Context, c Caller, name *string) (store.Account, error) {
	n := "Sandbox"
	if name != nil {
		n = strings.TrimSpace(*name)
	}
	if _, err := s.store.EnsureSandbox(ctx, c.organization(), n, c.Account.Production().Timezone, s.now()); err != nil {
		return store.Account{}, err
	}
	projects, err := s.store.Projects(ctx, c.organization())
	if err != nil {
		return store.Account{}, err
	}
	a := c.Account
	a.Projects = projects
	return a, nil
}

// ResetSandbox restores the sandbox's initial state (its simulated Pinterest accounts), keeping
// the project and its id. ErrSandboxNotFound when the organization has none.
func (s *Service) ResetSandbox(ctx context.Context, c Caller) error {
	_, err := s.store.ResetSandbox(ctx, c.organization(), s.now())
	return notFoundAs(err, ErrSandboxNotFound)
}

// SwitchProject opens a session whose active project is projectID. ErrProjectNotFound for a
// project of another organization, as for one that does not exist.
func (s *Service) SwitchProject(ctx context.Context, c Caller, projectID string) (Session, error) {
	target, ok := c.Account.Project(projectID)
	if !ok {
		return Session{}, ErrProjectNotFound
	}
	return s.open(c.Account, target)
}

// UpdateProfile applies a partial profile update in one transaction (names trimmed) and returns
// the account as it is now.
func (s *Service) UpdateProfile(ctx context.Context, c Caller, p store.ProfilePatch) (store.Account, error) {
	if p.WorkspaceName != nil {
		p.WorkspaceName = new(strings.TrimSpace(*p.WorkspaceName))
	}
	if p.FullName != nil {
		p.FullName = new(strings.TrimSpace(*p.FullName))
	}
	if err := s.store.UpdateProfile(ctx, c.user().ID, c.organization(), p, s.now()); err != nil {
		return store.Account{}, err
	}
	return s.store.Account(ctx, c.user().ID)
}
