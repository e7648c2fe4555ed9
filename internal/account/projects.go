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
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		p, created, err := tx.EnsureSandbox(ctx, c.organization(), n, c.Account.Production().Timezone, s.now())
		if err != nil || !created {
			return err
		}
		return s.record(ctx, tx, projectEvent(ActionSandboxCreated, c, c.scope(), p, nil))
	})
	if err != nil {
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
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		p, err := tx.ResetSandbox(ctx, c.organization(), s.now())
		if err != nil {
			return err
		}
		return s.record(ctx, tx, projectEvent(ActionSandboxReset, c, c.scope(), p, nil))
	})
	return notFoundAs(err, ErrSandboxNotFound)
}

// projectEvent is the event of c's doing action to project p, in the organization of sc.
func projectEvent(action string, c Caller, sc scope, p store.Project, extra map[string]any) event {
	meta := map[string]any{"name": p.Name, "environment": p.Environment}
	for k, v := range extra {
		meta[k] = v
	}
	return event{action: action, scope: sc, actor: c.actor(), resourceType: ResourceProject, resourceID: p.ID, origin: c.Origin, meta: meta}
}

// SwitchProject opens a session whose active project is projectID, in whichever organization of
// the caller owns it (the session moves there, and so does the event recording the switch), and
// remembers it as the caller's most recently active project. ErrProjectNotFound for a project of an organization the caller is not a member
// of, as for one that does not exist.
func (s *Service) SwitchProject(ctx context.Context, c Caller, projectID string) (Session, error) {
	account, target, ok := c.Account.WithProject(projectID)
	if !ok {
		return Session{}, ErrProjectNotFound
	}
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		if err := tx.SetActiveProject(ctx, account.User.ID, target.ID, s.now()); err != nil {
			return err
		}
		from := map[string]any{"from_project_id": c.Project.ID, "from_organization_id": c.organization()}
		return s.record(ctx, tx, projectEvent(ActionProjectSwitched, c, scopeOf(account), target, from))
	})
	if err != nil {
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
	if p == (store.ProfilePatch{}) {
		return s.store.Account(ctx, c.user().ID, c.organization()) // nothing to change
	}
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		return tx.UpdateProfile(ctx, c.user().ID, c.organization(), p, s.now())
	})
	if err != nil {
		return store.Account{}, err
	}
	return s.store.Account(ctx, c.user().ID, c.organization())
}
