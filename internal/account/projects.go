package account

import (
	"context"
	"strings"

	"github.com/pinbridge/pinbridge-auth/store"
)

// CreateSandbox and ResetSandbox need can_reset_sandbox (a *PermissionError otherwise).

// CreateSandbox creates the organization's sandbox (named name, "Sandbox" when nil) or keeps the
// one it has, and returns the caller's account with its projects as they are now.
func (s *Service) CreateSandbox(ctx context.Context, c Caller, name *string) (store.Account, error) {
	if err := c.require(PermResetSandbox); err != nil {
		return store.Account{}, err
	}
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
	if err := c.require(PermResetSandbox); err != nil {
		return err
	}
	_, err := s.store.ResetSandbox(ctx, c.organization(), s.now())
	return notFoundAs(err, ErrSandboxNotFound)
}

// SwitchProject opens a session whose active project is projectID, in whichever organization of
// the caller owns it (the session moves there), and remembers it as the caller's most recently
// active project. ErrProjectNotFound for a project of an organization the caller is not a member
// of, as for one that does not exist.
func (s *Service) SwitchProject(ctx context.Context, c Caller, projectID string) (Session, error) {
	account, target, ok := c.Account.WithProject(projectID)
	if !ok {
		return Session{}, ErrProjectNotFound
	}
	if err := s.store.SetActiveProject(ctx, account.User.ID, target.ID, s.now()); err != nil {
		return Session{}, err
	}
	return s.open(account, target, c.Authenticated)
}

// UpdateProfile applies a partial profile update in one transaction (names trimmed) and returns
// the account as it is now. The organization's billing fields need can_manage_billing and its
// workspace name can_manage_members (a *PermissionError otherwise); full_name is the caller's own.
func (s *Service) UpdateProfile(ctx context.Context, c Caller, p store.ProfilePatch) (store.Account, error) {
	if p.Billing != (store.BillingPatch{}) {
		if err := c.require(PermManageBilling); err != nil {
			return store.Account{}, err
		}
	}
	if p.WorkspaceName != nil {
		if err := c.require(PermManageMembers); err != nil {
			return store.Account{}, err
		}
	}
	if p.WorkspaceName != nil {
		p.WorkspaceName = new(strings.TrimSpace(*p.WorkspaceName))
	}
	if p.FullName != nil {
		p.FullName = new(strings.TrimSpace(*p.FullName))
	}
	if err := s.store.UpdateProfile(ctx, c.user().ID, c.organization(), p, s.now()); err != nil {
		return store.Account{}, err
	}
	return s.store.Account(ctx, c.user().ID, c.organization())
}
