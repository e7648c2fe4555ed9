package account

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/pinbridge/pinbridge-auth/internal/otp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// The operator's flows (pinbridge admin): they act on the server's own database with no session,
// and find what they act on by email, organization id or key id. ErrUserNotFound,
// ErrOrganizationNotFound and ErrKeyNotFound when there is nothing by that name.

// ErrUserNotFound and ErrOrganizationNotFound: the operator named nothing that exists.
var (
	ErrUserNotFound         = errors.New("no user with that email")
	ErrOrganizationNotFound = errors.New("no organization with that id")
)

// UserReport is what an operator sees of a user: never a hash or a token.
type UserReport struct {
	User     store.User
	Account  store.Account // every organization of the user (Organizations), the preferred current
	LockedBy string        // "" or why sign-ins wait: the account's ceiling or one address's backoff
}

// AdminUser describes the user with email.
func (s *Service) AdminUser(ctx context.Context, email string) (UserReport, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return UserReport{}, notFoundAs(err, ErrUserNotFound)
	}
	a, err := s.store.Account(ctx, u.ID, "")
	if err != nil {
		return UserReport{}, err
	}
	r := UserReport{User: u, Account: a}
	t := throttleOf(u.Email, "", s.now())
	until, err := s.store.LoginLockedUntil(ctx, t.window, t.previous)
	if err != nil {
		return UserReport{}, err
	}
	if until.After(s.now()) {
		r.LockedBy = fmt.Sprintf("sign-ins paused until %s (failed logins across addresses)", until.Format("2006-01-02 15:04:05Z"))
	}
	return r, nil
}

// AdminResetLink creates a one-time reset link for the user with email and returns it, to be handed
// over once (it is not mailed). Older reset links stop working.
func (s *Service) AdminResetLink(ctx context.Context, email string) (string, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return "", notFoundAs(err, ErrUserNotFound)
	}
	token, hash, err := otp.New()
	if err != nil {
		return "", err
	}
	now := s.now()
	ttl, page := s.linkSettings(store.PurposePasswordReset)
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if err := tx.RetireTokens(ctx, u.ID, now, store.PurposePasswordReset); err != nil {
			return err
		}
		if _, err := tx.CreateToken(ctx, store.NewToken{UserID: u.ID, Purpose: store.PurposePasswordReset, Hash: hash, ExpiresAt: now.Add(ttl), Now: now}); err != nil {
			return err
		}
		return s.recordAdmin(ctx, tx, ActionAdminResetLink, u)
	})
	if err != nil {
		return "", err
	}
	return s.link(page, token), nil
}

// AdminVerify marks the user's email verified (the operator checked it out of band).
func (s *Service) AdminVerify(ctx context.Context, email string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return notFoundAs(err, ErrUserNotFound)
	}
	return s.store.Tx(ctx, func(tx *store.Store) error {
		if err := tx.MarkEmailVerified(ctx, u.ID, s.now()); err != nil {
			return err
		}
		return s.recordAdmin(ctx, tx, ActionAdminVerified, u)
	})
}

// AdminUnlock forgets the user's failed logins, from every address.
func (s *Service) AdminUnlock(ctx context.Context, email string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return notFoundAs(err, ErrUserNotFound)
	}
	return s.store.Tx(ctx, func(tx *store.Store) error {
		if err := tx.ClearLoginFailuresUnder(ctx, throttleOf(u.Email, "", s.now()).account); err != nil {
			return err
		}
		return s.recordAdmin(ctx, tx, ActionAdminUnlocked, u)
	})
}

// AdminEndSessions ends every session of the user and what they started (outstanding links, a
// pending email change), as a password reset does, without changing the password.
func (s *Service) AdminEndSessions(ctx context.Context, email string) error {
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return notFoundAs(err, ErrUserNotFound)
	}
	return s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		if _, err := tx.EndSessions(ctx, u.ID, now); err != nil {
			return err
		}
		if err := s.endWhatSessionsStarted(ctx, tx, u.ID, now); err != nil {
			return err
		}
		return s.recordAdmin(ctx, tx, ActionAdminSessionsEnded, u)
	})
}

// OrganizationReport is what an operator sees of an organization.
type OrganizationReport struct {
	Organization store.Organization
	Projects     []store.Project
	Members      []store.Member
	Keys         []store.APIKey
}

// AdminOrganization describes the organization with id orgID.
func (s *Service) AdminOrganization(ctx context.Context, orgID string) (OrganizationReport, error) {
	if _, err := uuid.Parse(orgID); err != nil {
		return OrganizationReport{}, ErrOrganizationNotFound
	}
	org, err := s.store.Organization(ctx, orgID)
	if err != nil {
		return OrganizationReport{}, notFoundAs(err, ErrOrganizationNotFound)
	}
	r := OrganizationReport{Organization: org}
	if r.Projects, err = s.store.Projects(ctx, orgID); err != nil {
		return OrganizationReport{}, err
	}
	if r.Members, err = s.store.Members(ctx, orgID); err != nil {
		return OrganizationReport{}, err
	}
	if r.Keys, err = s.store.OrganizationKeys(ctx, orgID); err != nil {
		return OrganizationReport{}, err
	}
	return r, nil
}

// AdminKey finds a key by id in any organization.
func (s *Service) AdminKey(ctx context.Context, keyID string) (store.APIKey, error) {
	if _, err := uuid.Parse(keyID); err != nil {
		return store.APIKey{}, ErrKeyNotFound
	}
	k, err := s.store.APIKeyByID(ctx, keyID)
	return k, notFoundAs(err, ErrKeyNotFound)
}

// AdminRevokeKey revokes a key by id, in whichever organization it is; revoking twice is harmless.
func (s *Service) AdminRevokeKey(ctx context.Context, keyID string) (store.APIKey, error) {
	k, err := s.AdminKey(ctx, keyID)
	if err != nil {
		return store.APIKey{}, err
	}
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		var err error
		if k, _, err = tx.RevokeAPIKey(ctx, k.OrganizationID, k.ID, s.now()); err != nil {
			return err
		}
		sc, err := orgScope(ctx, tx, k.OrganizationID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, event{action: ActionAdminKeyRevoked, scope: sc, actor: adminActor,
			resourceType: ResourceAPIKey, resourceID: k.ID, meta: map[string]any{"prefix": k.Prefix, "name": k.Name}})
	})
	return k, notFoundAs(err, ErrKeyNotFound)
}

// recordAdmin records an operator's action on user, in their home organization's log.
func (s *Service) recordAdmin(ctx context.Context, tx *store.Store, action string, u store.User) error {
	sc, err := homeScope(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	return s.record(ctx, tx, event{action: action, scope: sc, actor: adminActor, resourceType: ResourceUser,
		resourceID: u.ID, meta: map[string]any{"email": u.Email}})
}

// ErrHasOwners refuses AdminMakeOwner for an organization that has an owner, unless asked to add
// one beside them: its owners manage its members.
var ErrHasOwners = errors.New("the organization has an owner, who manages its members")

// AdminMakeOwner makes the member of orgID with email an owner of it: for an organization left
// with nobody to manage it (an undo whose organization had no admin to succeed its owner, see
// keepOwners), or, with besideOwners, one whose owners can no longer act (they left the company).
// As for an owner's own hand-over, the member's address must be settled (verified, no change
// pending or revertable: ErrHandOverUnsettled). It returns the member and whether the role changed
// (an owner already: nothing changes, nothing is recorded). Their sessions go on with the new role
// from their next request, as after ChangeRole; the change is recorded as team.member.role_changed
// by the operator. ErrOrganizationNotFound, ErrUserNotFound; ErrMemberNotFound when the user is
// not a member of orgID; ErrHasOwners when it has an owner and besideOwners is false.
func (s *Service) AdminMakeOwner(ctx context.Context, orgID, email string, besideOwners bool) (store.Member, bool, error) {
	if _, err := uuid.Parse(orgID); err != nil {
		return store.Member{}, false, ErrOrganizationNotFound
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return store.Member{}, false, notFoundAs(err, ErrUserNotFound)
	}
	var member store.Member
	var changed bool
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		changed = false // a retried transaction starts over
		// Exclusively, as a member's own role change does: no change of the organization's members
		// runs beside this one.
		if err := tx.LockOrganization(ctx, orgID); err != nil {
			return notFoundAs(err, ErrOrganizationNotFound)
		}
		members, err := tx.Members(ctx, orgID) // owners first
		if err != nil {
			return err
		}
		i := slices.IndexFunc(members, func(m store.Member) bool { return m.Membership.UserID == u.ID })
		if i < 0 {
			return ErrMemberNotFound
		}
		member = members[i]
		old := Role(member.Membership.Role)
		if old == RoleOwner {
			return nil
		}
		if Role(members[0].Membership.Role) == RoleOwner && !besideOwners {
			return ErrHasOwners
		}
		now := s.now()
		if err := settled(ctx, tx, member.User, now); err != nil {
			return err
		}
		if err := tx.SetMemberRole(ctx, orgID, member.Membership.ID, string(RoleOwner), now); err != nil {
			return err
		}
		changed = true
		member.Membership.Role, member.Membership.UpdatedAt = string(RoleOwner), now
		sc, err := orgScope(ctx, tx, orgID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, event{action: ActionMemberRoleChanged, scope: sc, actor: adminActor,
			resourceType: ResourceMember, resourceID: member.Membership.ID, at: now,
			meta: map[string]any{"user_id": member.User.ID, "email": member.User.Email, "from": string(old), "to": string(RoleOwner), "reason": "operator"}})
	})
	if err != nil {
		return store.Member{}, false, err
	}
	return member, changed, nil
}
