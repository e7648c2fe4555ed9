package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// Member roles as stored; the account package gives them their permissions.
const RoleOwner = "owner"

// Membership makes a user a member of an organization with one role. Every user is the owner of the
// organization made at registration, through a membership like any other.
type Membership struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	UserID         string
	Role           string
	InvitedBy      *string
	AcceptedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Invitation asks the owner of an address to join an organization. Only the SHA-256 of its token
// is kept; the token works once, until ExpiresAt, unless revoked.
type Invitation struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Email          string
	EmailKey       string
	Role           string
	TokenHash      string
	InvitedBy      *string
	ExpiresAt      time.Time
	AcceptedAt     *time.Time
	RevokedAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Member is a membership with its user and, when known, who invited them.
type Member struct {
	Membership Membership
	User       User
	Inviter    *User
}

// Members lists an organization's members, owners first, then by when they joined.
func (s *Store) Members(ctx context.Context, orgID string) ([]Member, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).
		Order("CASE WHEN role = 'owner' THEN 0 ELSE 1 END, created_at, id").Find(&ms).Error
	if err != nil {
		return nil, wrap("list members", err)
	}
	ids := make([]string, 0, 2*len(ms))
	for _, m := range ms {
		ids = append(ids, m.UserID)
		if m.InvitedBy != nil {
			ids = append(ids, *m.InvitedBy)
		}
	}
	var users []User
	if len(ids) > 0 {
		if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&users).Error; err != nil {
			return nil, wrap("list members", err)
		}
	}
	byID := make(map[string]User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		mem := Member{Membership: m, User: byID[m.UserID]}
		if m.InvitedBy != nil {
			if inv, ok := byID[*m.InvitedBy]; ok {
				mem.Inviter = &inv
			}
		}
		out = append(out, mem)
	}
	return out, nil
}

// Member finds one membership of the organization with its user; ErrNotFound for one of another
// organization as for one that does not exist.
func (s *Store) Member(ctx context.Context, orgID, memberID string) (Member, error) {
	var m Membership
	if err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", memberID, orgID).Take(&m).Error; err != nil {
		return Member{}, wrap("member", err)
	}
	u, err := s.UserByID(ctx, m.UserID)
	if err != nil {
		return Member{}, err
	}
	mem := Member{Membership: m, User: u}
	if m.InvitedBy != nil {
		if inv, err := s.UserByID(ctx, *m.InvitedBy); err == nil {
			mem.Inviter = &inv
		}
	}
	return mem, nil
}

// LockOrganization serialises changes to an organization's members for the rest of the
// transaction (a row lock on PostgreSQL; SQLite has one writer). ErrNotFound when it is gone.
func (s *Store) LockOrganization(ctx context.Context, orgID string) error {
	q := s.db.WithContext(ctx).Model(&Organization{}).Select("id").Where("id = ?", orgID)
	if s.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var id string
	return wrap("lock organization", q.Take(&id).Error)
}

// CountOwners counts the owners of an organization.
func (s *Store) CountOwners(ctx context.Context, orgID string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Membership{}).Where("organization_id = ? AND role = ?", orgID, RoleOwner).Count(&n).Error
	return n, wrap("count owners", err)
}

// AddMember makes user a member of the organization. ErrConflict when they already are; the
// statement does not fail then (ON CONFLICT DO NOTHING), so a transaction around it goes on.
func (s *Store) AddMember(ctx context.Context, m Membership) (Membership, error) {
	if m.ID == "" {
		m.ID = NewID()
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	if res.Error != nil {
		return Membership{}, wrap("add member", res.Error)
	}
	if res.RowsAffected == 0 {
		return Membership{}, fmt.Errorf("add member: already a member: %w", ErrConflict)
	}
	return m, nil
}

// RevokeInvitationsSentBy revokes the pending invitations user sent (in orgID, or in every
// organization when orgID is empty) and returns how many.
func (s *Store) RevokeInvitationsSentBy(ctx context.Context, orgID, userID string, now time.Time) (int64, error) {
	return s.RevokeInvitationsSentSince(ctx, orgID, userID, time.Time{}, now)
}

// RevokeInvitationsSentSince is RevokeInvitationsSentBy for the invitations sent (or resent) at or
// after since.
func (s *Store) RevokeInvitationsSentSince(ctx context.Context, orgID, userID string, since, now time.Time) (int64, error) {
	q := s.db.WithContext(ctx).Model(&Invitation{}).Where("invited_by = ? AND accepted_at IS NULL AND revoked_at IS NULL AND updated_at >= ?", userID, since.UTC())
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	res := q.Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
	return res.RowsAffected, wrap("revoke invitations sent by", res.Error)
}

// MembershipsInvitedBy lists the memberships (of other users) that user's invitations created at
// or after since (every one for the zero time).
func (s *Store) MembershipsInvitedBy(ctx context.Context, userID string, since time.Time) ([]Membership, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Where("invited_by = ? AND user_id <> ? AND created_at >= ?", userID, userID, since.UTC()).Find(&ms).Error
	return ms, wrap("memberships invited by", err)
}

// UserMemberships lists the user's memberships, in every organization.
func (s *Store) UserMemberships(ctx context.Context, userID string) ([]Membership, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Find(&ms).Error
	return ms, wrap("user memberships", err)
}

// OtherMemberships lists the memberships of the organization other than the user's.
func (s *Store) OtherMemberships(ctx context.Context, orgID, userID string) ([]Membership, error) {
	var ms []Membership
	err := s.db.WithContext(ctx).Where("organization_id = ? AND user_id <> ?", orgID, userID).Find(&ms).Error
	return ms, wrap("other memberships", err)
}

// RevokeOrganizationInvitations revokes every pending invitation of the organization and returns
// how many.
func (s *Store) RevokeOrganizationInvitations(ctx context.Context, orgID string, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&Invitation{}).Where("organization_id = ? AND accepted_at IS NULL AND revoked_at IS NULL", orgID).
		Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
	return res.RowsAffected, wrap("revoke organization invitations", res.Error)
}

// MemberRole is the user's role in the organization; ErrNotFound when they are not a member.
func (s *Store) MemberRole(ctx context.Context, orgID, userID string) (string, error) {
	var role string
	err := s.db.WithContext(ctx).Model(&Membership{}).Select("role").Where("organization_id = ? AND user_id = ?", orgID, userID).Take(&role).Error
	return role, wrap("member role", err)
}

// SetMemberRole changes a membership's role; ErrNotFound when it is not one of the organization's.
func (s *Store) SetMemberRole(ctx context.Context, orgID, memberID, role string, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&Membership{}).Where("id = ? AND organization_id = ?", memberID, orgID).
		Updates(map[string]any{"role": role, "updated_at": now.UTC()})
	if res.Error != nil {
		return wrap("set member role", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set member role: %w", ErrNotFound)
	}
	return nil
}

// RemoveMember deletes a membership; ErrNotFound when it is not one of the organization's.
func (s *Store) RemoveMember(ctx context.Context, orgID, memberID string) error {
	res := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", memberID, orgID).Delete(&Membership{})
	if res.Error != nil {
		return wrap("remove member", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("remove member: %w", ErrNotFound)
	}
	return nil
}

// RevokeKeysCreatedBy revokes the live keys user created in the organization and returns how many.
func (s *Store) RevokeKeysCreatedBy(ctx context.Context, orgID, userID string, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("organization_id = ? AND created_by = ? AND revoked_at IS NULL", orgID, userID).
		Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
	return res.RowsAffected, wrap("revoke member keys", res.Error)
}

// CreateInvitation stores an invitation.
func (s *Store) CreateInvitation(ctx context.Context, inv Invitation) (Invitation, error) {
	if inv.ID == "" {
		inv.ID = NewID()
	}
	inv.EmailKey = EmailKey(inv.Email)
	inv.ExpiresAt, inv.CreatedAt, inv.UpdatedAt = inv.ExpiresAt.UTC(), inv.CreatedAt.UTC(), inv.UpdatedAt.UTC()
	return inv, wrap("create invitation", s.db.WithContext(ctx).Create(&inv).Error)
}

// RetireInvitations revokes the organization's pending invitations of an address, so that only a
// newer one can work.
func (s *Store) RetireInvitations(ctx context.Context, orgID, email string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&Invitation{}).
		Where("organization_id = ? AND email_key = ? AND accepted_at IS NULL AND revoked_at IS NULL", orgID, EmailKey(email)).
		Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()}).Error
	return wrap("retire invitations", err)
}

// Invitations lists an organization's invitations, newest first.
func (s *Store) Invitations(ctx context.Context, orgID string) ([]Invitation, error) {
	out := []Invitation{}
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).Order("created_at DESC, id DESC").Find(&out).Error
	return out, wrap("list invitations", err)
}

// Invitation finds an invitation of the organization; ErrNotFound for one of another organization.
func (s *Store) Invitation(ctx context.Context, orgID, id string) (Invitation, error) {
	var inv Invitation
	err := s.db.WithContext(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&inv).Error
	return inv, wrap("invitation", err)
}

// InvitationByToken finds an invitation by its token's hash, whatever its state; ErrNotFound.
func (s *Store) InvitationByToken(ctx context.Context, hash string) (Invitation, error) {
	var inv Invitation
	err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&inv).Error
	return inv, wrap("invitation by token", err)
}

// RenewInvitation gives a pending invitation a new token and expiry (the old link stops working).
// ErrNotFound unless it is a pending invitation of the organization.
func (s *Store) RenewInvitation(ctx context.Context, orgID, id, hash string, expires, now time.Time) (Invitation, error) {
	res := s.db.WithContext(ctx).Model(&Invitation{}).
		Where("id = ? AND organization_id = ? AND accepted_at IS NULL AND revoked_at IS NULL", id, orgID).
		Updates(map[string]any{"token_hash": hash, "expires_at": expires.UTC(), "updated_at": now.UTC()})
	if res.Error != nil {
		return Invitation{}, wrap("renew invitation", res.Error)
	}
	if res.RowsAffected == 0 {
		return Invitation{}, fmt.Errorf("renew invitation: %w", ErrNotFound)
	}
	return s.Invitation(ctx, orgID, id)
}

// RevokeInvitation revokes an invitation of the organization (keeping the first revocation time)
// and reports whether this call revoked it; ErrNotFound when it is not one of its invitations.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, id string, now time.Time) (bool, error) {
	if _, err := s.Invitation(ctx, orgID, id); err != nil {
		return false, err
	}
	res := s.db.WithContext(ctx).Model(&Invitation{}).
		Where("id = ? AND accepted_at IS NULL AND revoked_at IS NULL", id).
		Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
	return res.RowsAffected == 1, wrap("revoke invitation", res.Error)
}

// ConsumeInvitation marks a usable invitation accepted: one conditional UPDATE, so of concurrent
// accepts exactly one wins. ErrNotFound for a token that is unknown, used, revoked or expired.
func (s *Store) ConsumeInvitation(ctx context.Context, hash string, now time.Time) (Invitation, error) {
	now = now.UTC()
	res := s.db.WithContext(ctx).Model(&Invitation{}).
		Where("token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?", hash, now).
		Updates(map[string]any{"accepted_at": now, "updated_at": now})
	if res.Error != nil {
		return Invitation{}, wrap("consume invitation", res.Error)
	}
	if res.RowsAffected != 1 {
		return Invitation{}, fmt.Errorf("consume invitation: %w", ErrNotFound)
	}
	return s.InvitationByToken(ctx, hash)
}

// SetActiveProject records the project a user last worked in (login answers for its organization).
func (s *Store) SetActiveProject(ctx context.Context, userID, projectID string, now time.Time) error {
	return s.updateUser(ctx, "set active project", userID, map[string]any{"active_project_id": projectID, "updated_at": now.UTC()})
}

// Organization finds an organization; ErrNotFound when there is none.
func (s *Store) Organization(ctx context.Context, id string) (Organization, error) {
	var o Organization
	return o, wrap("organization", s.db.WithContext(ctx).Where("id = ?", id).Take(&o).Error)
}

// RevokeKeysCreatedSince revokes the live keys user created (in any organization) at or after
// since, and returns how many.
func (s *Store) RevokeKeysCreatedSince(ctx context.Context, userID string, since, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("created_by = ? AND created_at >= ? AND revoked_at IS NULL", userID, since.UTC()).
		Updates(map[string]any{"revoked_at": now.UTC(), "updated_at": now.UTC()})
	return res.RowsAffected, wrap("revoke keys created since", res.Error)
}

// OrganizationKeys lists every key of an organization (all its projects), newest first.
func (s *Store) OrganizationKeys(ctx context.Context, orgID string) ([]APIKey, error) {
	keys := []APIKey{}
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).Order("created_at DESC, id DESC").Find(&keys).Error
	return keys, wrap("list organization keys", err)
}

// APIKeyByID finds a key by its id in any organization; ErrNotFound when there is none.
func (s *Store) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	var k APIKey
	return k, wrap("api key by id", s.db.WithContext(ctx).Where("id = ?", id).Take(&k).Error)
}

// SecretScanningReport is a leak report already processed, by the SHA-256 of its body.
type SecretScanningReport struct {
	Digest     string `gorm:"primaryKey"`
	ReceivedAt time.Time
}

// CreateHomeOrganization gives a user who belongs to no organization any more (they left or were
// removed from every one) a new one of their own, named name, with its production project, and
// makes it their home organization.
func (s *Store) CreateHomeOrganization(ctx context.Context, user User, name string, now time.Time) error {
	now = now.UTC()
	org := Organization{ID: NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	project := Project{ID: NewID(), OrganizationID: org.ID, Name: name, Environment: EnvironmentProduction,
		Plan: PlanFree, Timezone: user.Timezone, CreatedAt: now, UpdatedAt: now}
	member := Membership{ID: NewID(), OrganizationID: org.ID, UserID: user.ID, Role: RoleOwner, AcceptedAt: &now, CreatedAt: now, UpdatedAt: now}
	return s.Tx(ctx, func(tx *Store) error {
		for _, row := range []any{&org, &project} {
			if err := tx.db.Create(row).Error; err != nil {
				return wrap("create home organization", err)
			}
		}
		// The user's row before the membership, whose trigger takes the user's access version:
		// the order a login of theirs takes the two in.
		err := tx.updateUser(ctx, "create home organization", user.ID, map[string]any{"organization_id": org.ID, "active_project_id": project.ID, "updated_at": now})
		if err != nil {
			return err
		}
		return wrap("create home organization", tx.db.Create(&member).Error)
	})
}

// LockOrganizationShared keeps the organization's members as they are for the rest of the
// transaction (a shared row lock on PostgreSQL, which LockOrganization waits for; SQLite has one
// writer). ErrNotFound when it is gone.
func (s *Store) LockOrganizationShared(ctx context.Context, orgID string) error {
	q := s.db.WithContext(ctx).Model(&Organization{}).Select("id").Where("id = ?", orgID)
	if s.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthShare})
	}
	var id string
	return wrap("lock organization", q.Take(&id).Error)
}

// AddressHeld reports whether email is the former address of an account that may still take it
// back (an unused "this wasn't me" link): nobody else may register it or move to it meanwhile.
func (s *Store) AddressHeld(ctx context.Context, email string, now time.Time) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OneTimeToken{}).
		Where("purpose IN ? AND used_at IS NULL AND expires_at > ? AND LOWER(payload) = ?", RevertPurposes, now.UTC(), EmailKey(email)).
		Count(&n).Error
	return n > 0, wrap("address held", err)
}
