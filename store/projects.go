package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Projects lists an organization's projects, production first.
func (s *Store) Projects(ctx context.Context, orgID string) ([]Project, error) {
	ps := []Project{}
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).
		Order("CASE WHEN environment = 'production' THEN 0 ELSE 1 END, created_at").Find(&ps).Error
	return ps, wrap("list projects", err)
}

func (s *Store) sandboxOf(ctx context.Context, orgID string) (Project, error) {
	var p Project
	err := s.db.WithContext(ctx).Where("organization_id = ? AND environment = ?", orgID, EnvironmentSandbox).Take(&p).Error
	return p, wrap("sandbox project", err)
}

// EnsureSandbox returns the organization's sandbox project, creating it (with its simulated
// Pinterest accounts) when there is none, and reports whether this call created it. Concurrent
// calls create exactly one: the unique index on (organization_id, environment) refuses the others,
// which then read the winner's.
func (s *Store) EnsureSandbox(ctx context.Context, orgID, name, timezone string, now time.Time) (Project, bool, error) {
	if p, err := s.sandboxOf(ctx, orgID); err == nil || !errors.Is(err, ErrNotFound) {
		return p, false, err
	}
	now = now.UTC()
	p := Project{
		ID: NewID(), OrganizationID: orgID, Name: name, Environment: EnvironmentSandbox,
		Plan: PlanFree, Timezone: timezone, CreatedAt: now, UpdatedAt: now,
	}
	err := s.Tx(ctx, func(tx *Store) error {
		if err := tx.db.Create(&p).Error; err != nil {
			return wrap("create sandbox", err)
		}
		accounts := SimulatedAccounts(p.ID, now)
		return wrap("seed sandbox", tx.db.Create(&accounts).Error)
	})
	if errors.Is(err, ErrConflict) {
		p, err := s.sandboxOf(ctx, orgID)
		return p, false, err
	}
	return p, err == nil, err
}

// ResetSandbox clears the sandbox's data and restores its simulated accounts, keeping the project
// and its id (and its API keys). ErrNotFound when the organization has no sandbox.
func (s *Store) ResetSandbox(ctx context.Context, orgID string, now time.Time) (Project, error) {
	var p Project
	err := s.Tx(ctx, func(tx *Store) error {
		var err error
		if p, err = tx.sandboxOf(ctx, orgID); err != nil {
			return err
		}
		if err := tx.db.Where("project_id = ?", p.ID).Delete(&PinterestAccount{}).Error; err != nil {
			return wrap("clear sandbox", err)
		}
		accounts := SimulatedAccounts(p.ID, now.UTC())
		return wrap("seed sandbox", tx.db.Create(&accounts).Error)
	})
	return p, err
}

// SimulatedAccounts are the connected Pinterest accounts a sandbox starts with. Their ids derive
// from the project id, so a reset restores the same ids and keys limited to them keep working.
func SimulatedAccounts(projectID string, now time.Time) []PinterestAccount {
	ns := uuid.MustParse(projectID)
	str := func(s string) *string { return &s }
	checked := now.Add(-5 * time.Minute)
	expires := now.Add(30 * 24 * time.Hour)
	soon := now.Add(36 * time.Hour)
	return []PinterestAccount{
		{
			ID: uuid.NewSHA1(ns, []byte("sandbox-account-1")).String(), ProjectID: projectID,
			PinterestUserID: "1125899906842624", DisplayName: str("Sandbox Kitchen Co."), Username: str("sandbox_kitchen_co"),
			Scopes:         "boards:read,boards:write,pins:read,pins:write,user_accounts:read",
			TokenExpiresAt: &expires, HealthStatus: str("healthy"), HealthMessage: str("Connected; all scopes granted"),
			HealthCheckedAt: &checked, MissingScopes: "", CreatedAt: now, UpdatedAt: now,
		},
		{
			ID: uuid.NewSHA1(ns, []byte("sandbox-account-2")).String(), ProjectID: projectID,
			PinterestUserID: "1125899906842625", DisplayName: str("Sandbox Travel Journal"), Username: str("sandbox_travel_journal"),
			Scopes:         "boards:read,pins:read,user_accounts:read",
			TokenExpiresAt: &soon, HealthStatus: str("degraded"),
			HealthMessage:   str("Publishing needs boards:write and pins:write; reconnect to grant them"),
			HealthCheckedAt: &checked, ReconnectRequired: true, MissingScopes: "boards:write,pins:write", CreatedAt: now, UpdatedAt: now,
		},
	}
}

// PinterestAccounts lists a project's accounts, oldest first.
func (s *Store) PinterestAccounts(ctx context.Context, projectID string) ([]PinterestAccount, error) {
	out := []PinterestAccount{}
	err := s.db.WithContext(ctx).Where("project_id = ?", projectID).Order("created_at, id").Find(&out).Error
	return out, wrap("list pinterest accounts", err)
}

// CountPinterestAccounts counts how many of ids are accounts of the project.
func (s *Store) CountPinterestAccounts(ctx context.Context, projectID string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&PinterestAccount{}).Where("project_id = ? AND id IN ?", projectID, ids).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count pinterest accounts: %w", translate(err))
	}
	return int(n), nil
}
