package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/emailaddr"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/otp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Team flow errors.
var (
	ErrMemberNotFound       = errors.New("member not found")
	ErrInvitationNotFound   = errors.New("invitation not found")
	ErrInvalidInvitation    = errors.New("invalid, expired, revoked or used invitation")
	ErrInvitationForAnother = errors.New("invitation is for another address")
	ErrLastOwner            = errors.New("an organization keeps at least one owner")
	// ErrHandOverUnsettled refuses to make anyone an owner from an account whose address is not
	// settled (see mayHandOver).
	ErrHandOverUnsettled = errors.New("making someone an owner needs a verified address that is not being changed")
)

// mayHandOver refuses (ErrHandOverUnsettled) to make anyone an owner from c's account while its
// address is not settled: never verified, or with a change pending or still undoable by the "this
// wasn't me" link sent to the former address. Proving such an address later undoes what the account
// did before (undoPreHijack, undoSince), which would remove an owner it had brought in: whoever
// registered or changed the address could hand an organization over and take it back. A thief who
// moved the address cannot hand the organization to an accomplice either.
func (s *Service) mayHandOver(ctx context.Context, c Caller) error {
	return settled(ctx, s.store, c.user(), s.now())
}

// settled refuses (ErrHandOverUnsettled) a user whose address is not settled: never verified, a
// change pending, or a change the former address can still revert.
func settled(ctx context.Context, st *store.Store, u store.User, now time.Time) error {
	if u.EmailVerifiedAt == nil || u.PendingEmail != nil {
		return ErrHandOverUnsettled
	}
	undoable, err := st.HasUsableToken(ctx, u.ID, now, store.RevertPurposes...)
	if err != nil {
		return err
	}
	if undoable {
		return ErrHandOverUnsettled
	}
	return nil
}

// Members lists the caller's organization's members, owners first. Needs can_manage_members.
func (s *Service) Members(ctx context.Context, c Caller) ([]store.Member, error) {
	if err := c.require(PermManageMembers); err != nil {
		return nil, err
	}
	return s.store.Members(ctx, c.organization())
}

// ChangeRole gives a member of the caller's organization another role, effective on their next
// request. Needs can_manage_members; only an owner grants or takes away owner; the last owner
// keeps the role (ErrLastOwner). ErrMemberNotFound for a member of another organization; a
// *FieldError for an unknown role.
func (s *Service) ChangeRole(ctx context.Context, c Caller, memberID, role string, currentPassword *string) (store.Member, error) {
	if err := c.require(PermManageMembers); err != nil {
		return store.Member{}, err
	}
	r, err := ParseRole("role", role)
	if err != nil {
		return store.Member{}, err
	}
	target, err := s.store.Member(ctx, c.organization(), memberID)
	if err != nil {
		return store.Member{}, notFoundAs(err, ErrMemberNotFound)
	}
	if Role(target.Membership.Role) != r {
		if r == RoleOwner && c.Role() == RoleOwner {
			if err := s.mayHandOver(ctx, c); err != nil {
				return store.Member{}, err
			}
		}
		if err := s.reauthenticate(ctx, c, currentPassword, ActionMemberRoleChanged); err != nil {
			return store.Member{}, err
		}
	}
	org := c.organization()
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if err := holdCaller(ctx, tx, c, true); err != nil {
			return err
		}
		m, err := tx.Member(ctx, org, memberID)
		if err != nil {
			return notFoundAs(err, ErrMemberNotFound)
		}
		old := Role(m.Membership.Role)
		if err := c.mayHandle(old, r); err != nil {
			return err
		}
		if old == RoleOwner && r != RoleOwner {
			if err := lastOwnerCheck(ctx, tx, org); err != nil {
				return err
			}
		}
		if err := tx.SetMemberRole(ctx, org, memberID, string(r), s.now()); err != nil || old == r {
			return err
		}
		return s.record(ctx, tx, event{action: ActionMemberRoleChanged, scope: c.scope(), actor: c.actor(),
			resourceType: ResourceMember, resourceID: memberID, origin: c.Origin,
			meta: map[string]any{"user_id": m.Membership.UserID, "email": m.User.Email, "from": string(old), "to": string(r)}})
	})
	if err != nil {
		return store.Member{}, err
	}
	m, err := s.store.Member(ctx, org, memberID)
	return m, notFoundAs(err, ErrMemberNotFound)
}

// lastOwnerCheck refuses to take away the organization's last owner (inside a transaction that
// locked the organization).
func lastOwnerCheck(ctx context.Context, tx *store.Store, org string) error {
	n, err := tx.CountOwners(ctx, org)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastOwner
	}
	return nil
}

// RemoveMember takes a member out of the caller's organization: their sessions there fail from
// their next request and the API keys they created there are revoked; it returns how many. Any
// member may remove themselves (leave); removing another needs can_manage_members, and an owner
// only an owner. The last owner stays (ErrLastOwner). ErrMemberNotFound as for ChangeRole.
func (s *Service) RemoveMember(ctx context.Context, c Caller, memberID string) (int64, error) {
	org := c.organization()
	var revoked int64
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		if err := tx.LockOrganization(ctx, org); err != nil {
			return err
		}
		m, err := tx.Member(ctx, org, memberID)
		if err != nil {
			return notFoundAs(err, ErrMemberNotFound)
		}
		self := m.Membership.UserID == c.user().ID
		if !self && Role(m.Membership.Role) == RoleOwner {
			if err := s.reauthenticate(ctx, c, nil, ActionMemberRemoved); err != nil {
				return err
			}
		}
		if !self {
			if err := c.require(PermManageMembers); err != nil {
				return err
			}
			if err := c.mayHandle(Role(m.Membership.Role)); err != nil {
				return err
			}
		}
		if Role(m.Membership.Role) == RoleOwner {
			if err := lastOwnerCheck(ctx, tx, org); err != nil {
				return err
			}
		}
		if err := tx.RemoveMember(ctx, org, memberID); err != nil {
			return notFoundAs(err, ErrMemberNotFound)
		}
		if revoked, err = tx.RevokeKeysCreatedBy(ctx, org, m.Membership.UserID, s.now()); err != nil {
			return err
		}
		// Invitations they sent would bring them (or their accomplices) back.
		if _, err := tx.RevokeInvitationsSentBy(ctx, org, m.Membership.UserID, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, event{action: ActionMemberRemoved, scope: c.scope(), actor: c.actor(),
			resourceType: ResourceMember, resourceID: memberID, origin: c.Origin,
			meta: map[string]any{"user_id": m.Membership.UserID, "email": m.User.Email, "role": m.Membership.Role,
				"left": self, "revoked_api_keys": revoked}})
	})
	return revoked, err
}

// invitationTTL is how long an invitation link works.
const invitationTTL = 7 * 24 * time.Hour

// InvitationView is an invitation with who sent it, when that user still exists.
type InvitationView struct {
	Invitation store.Invitation
	Inviter    *store.User
}

// Invitations lists the caller's organization's invitations, newest first. Needs can_manage_members.
func (s *Service) Invitations(ctx context.Context, c Caller) ([]InvitationView, error) {
	if err := c.require(PermManageMembers); err != nil {
		return nil, err
	}
	invs, err := s.store.Invitations(ctx, c.organization())
	if err != nil {
		return nil, err
	}
	out := make([]InvitationView, 0, len(invs))
	for _, inv := range invs {
		out = append(out, s.view(ctx, inv))
	}
	return out, nil
}

// view adds the inviter to an invitation (nil when they are gone).
func (s *Service) view(ctx context.Context, inv store.Invitation) InvitationView {
	v := InvitationView{Invitation: inv}
	if inv.InvitedBy != nil {
		if u, err := s.store.UserByID(ctx, *inv.InvitedBy); err == nil {
			v.Inviter = &u
		}
	}
	return v
}

// Invite emails an invitation to join the caller's organization with role; a newer invitation to
// the same address retires the older. Needs can_manage_members, and an owner to invite an owner.
// A *FieldError for an unknown role or an address that is already a member's.
func (s *Service) Invite(ctx context.Context, c Caller, email, role string, currentPassword *string) (InvitationView, error) {
	if err := c.require(PermManageMembers); err != nil {
		return InvitationView{}, err
	}
	r, err := ParseRole("role", role)
	if err != nil {
		return InvitationView{}, err
	}
	if err := c.mayHandle(r); err != nil {
		return InvitationView{}, err
	}
	if r == RoleOwner {
		if err := s.mayHandOver(ctx, c); err != nil {
			return InvitationView{}, err
		}
	}
	// Every role can read something a thief would want, and a member outlives the session that
	// invited them: from a session that proved the password long ago, inviting needs it again.
	if err := s.reauthenticate(ctx, c, currentPassword, ActionInvitationCreated); err != nil {
		return InvitationView{}, err
	}
	email, err = emailaddr.Canonical(email)
	if err != nil {
		return InvitationView{}, invalid("email", err.Error())
	}
	members, err := s.store.Members(ctx, c.organization())
	if err != nil {
		return InvitationView{}, err
	}
	for _, m := range members {
		if m.User.EmailKey == store.EmailKey(email) {
			return InvitationView{}, invalid("email", "is already a member of this organization")
		}
	}
	token, hash, err := otp.New()
	if err != nil {
		return InvitationView{}, err
	}
	now := s.now()
	var inv store.Invitation
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		// One invitation change at a time per organization (the exclusive lock): of two concurrent
		// ones, the later retires the earlier.
		if err := holdCaller(ctx, tx, c, true); err != nil {
			return err
		}
		if err := tx.RetireInvitations(ctx, c.organization(), email, now); err != nil {
			return err
		}
		var err error
		inv, err = tx.CreateInvitation(ctx, store.Invitation{
			OrganizationID: c.organization(), Email: email, Role: string(r), TokenHash: hash,
			InvitedBy: &c.Account.User.ID, ExpiresAt: now.Add(invitationTTL), CreatedAt: now, UpdatedAt: now,
		})
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, invitationEvent(ActionInvitationCreated, c, inv)); err != nil {
			return err
		}
		return s.queueInvitation(ctx, tx, c.Account.Organization, email, token)
	})
	if err != nil {
		return InvitationView{}, err
	}
	s.mailer.Wake()
	return InvitationView{Invitation: inv, Inviter: &c.Account.User}, nil
}

// ResendInvitation gives a pending invitation a new link, valid invitationTTL from now, and emails
// it; the older link stops working. Needs can_manage_members. ErrInvitationNotFound for one of
// another organization; ErrInvalidInvitation for one that is accepted or revoked.
func (s *Service) ResendInvitation(ctx context.Context, c Caller, id string, currentPassword *string) (InvitationView, error) {
	if err := c.require(PermManageMembers); err != nil {
		return InvitationView{}, err
	}
	org := c.organization()
	existing, err := s.store.Invitation(ctx, org, id)
	if err != nil {
		return InvitationView{}, notFoundAs(err, ErrInvitationNotFound)
	}
	if err := c.mayHandle(Role(existing.Role)); err != nil {
		return InvitationView{}, err
	}
	if Role(existing.Role) == RoleOwner {
		if err := s.mayHandOver(ctx, c); err != nil {
			return InvitationView{}, err
		}
	}
	// A new link (even for an invitation that had expired) is an invitation sent, as in Invite.
	if err := s.reauthenticate(ctx, c, currentPassword, ActionInvitationResent); err != nil {
		return InvitationView{}, err
	}
	token, hash, err := otp.New()
	if err != nil {
		return InvitationView{}, err
	}
	now := s.now()
	var inv store.Invitation
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if err := holdCaller(ctx, tx, c, false); err != nil {
			return err
		}
		var err error
		if inv, err = tx.RenewInvitation(ctx, org, id, hash, now.Add(invitationTTL), now); err != nil {
			return notFoundAs(err, ErrInvalidInvitation)
		}
		if err := s.record(ctx, tx, invitationEvent(ActionInvitationResent, c, inv)); err != nil {
			return err
		}
		return s.queueInvitation(ctx, tx, c.Account.Organization, inv.Email, token)
	})
	if err != nil {
		return InvitationView{}, err
	}
	s.mailer.Wake()
	return s.view(ctx, inv), nil
}

// RevokeInvitation makes an invitation's link stop working; revoking twice is harmless. Needs
// can_manage_members. ErrInvitationNotFound for one of another organization.
func (s *Service) RevokeInvitation(ctx context.Context, c Caller, id string) error {
	if err := c.require(PermManageMembers); err != nil {
		return err
	}
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		inv, err := tx.Invitation(ctx, c.organization(), id)
		if err != nil {
			return err
		}
		revoked, err := tx.RevokeInvitation(ctx, c.organization(), id, s.now())
		if err != nil || !revoked {
			return err
		}
		return s.record(ctx, tx, invitationEvent(ActionInvitationRevoked, c, inv))
	})
	return notFoundAs(err, ErrInvitationNotFound)
}

// invitationEvent is the event of c's doing action to an invitation.
func invitationEvent(action string, c Caller, inv store.Invitation) event {
	return event{action: action, scope: c.scope(), actor: c.actor(), resourceType: ResourceInvitation, resourceID: inv.ID,
		origin: c.Origin, meta: map[string]any{"email": inv.Email, "role": inv.Role}}
}

// queueInvitation queues the invitation email inside tx. It carries no text the inviter typed
// except the organization's name, and that only when it reads as a name.
func (s *Service) queueInvitation(ctx context.Context, tx *store.Store, org store.Organization, to, token string) error {
	link := s.link("/accept-invitation", token)
	subject, text, html, err := mail.Render(mail.KindInvitation, mail.Data{
		Organization: safeOrganizationName(org.Name), Link: link, Expires: humanDuration(invitationTTL),
	})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.NewMessage{Kind: mail.KindInvitation, To: to, Subject: subject, Text: text, HTML: html}, s.now())
	return err
}

// InvitationStatus is where an invitation stands.
type InvitationStatus string

// The states of an invitation.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationRevoked  InvitationStatus = "revoked"
	InvitationExpired  InvitationStatus = "expired"
)

// InvitationPreview is what the holder of an invitation link may see of it.
type InvitationPreview struct {
	Invitation   store.Invitation
	Organization store.Organization
	Inviter      *store.User
	Status       InvitationStatus
}

// PreviewInvitation describes the invitation of a link without using it. ErrInvalidInvitation for
// a token that is not a current link.
func (s *Service) PreviewInvitation(ctx context.Context, token string) (InvitationPreview, error) {
	inv, err := s.store.InvitationByToken(ctx, otp.Hash(token))
	if err != nil {
		return InvitationPreview{}, notFoundAs(err, ErrInvalidInvitation)
	}
	org, err := s.store.Organization(ctx, inv.OrganizationID)
	if err != nil {
		return InvitationPreview{}, notFoundAs(err, ErrInvalidInvitation)
	}
	p := InvitationPreview{Invitation: inv, Organization: org, Status: s.status(inv)}
	if inv.InvitedBy != nil {
		if u, err := s.store.UserByID(ctx, *inv.InvitedBy); err == nil {
			p.Inviter = &u
		}
	}
	return p, nil
}

func (s *Service) status(inv store.Invitation) InvitationStatus {
	switch {
	case inv.AcceptedAt != nil:
		return InvitationAccepted
	case inv.RevokedAt != nil:
		return InvitationRevoked
	case !inv.ExpiresAt.After(s.now()):
		return InvitationExpired
	}
	return InvitationPending
}

// AcceptInvitation joins the caller to the invitation's organization with its role and opens a
// session there. The caller's address must be the invited one (ErrInvitationForAnother, and the
// invitation stays usable); accepting proves it. ErrInvalidInvitation for a token that is unknown,
// used, revoked or expired; of concurrent accepts exactly one wins.
func (s *Service) AcceptInvitation(ctx context.Context, c Caller, token string) (Session, error) {
	var orgID string
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		var err error
		orgID, err = s.accept(ctx, tx, c.user(), token, c.Origin)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return s.sessionIn(ctx, c.user().ID, orgID, c.user().SessionVersion, c.Authenticated)
}

// accept uses an invitation for user inside tx, records it in the organization joined, and returns
// that organization.
func (s *Service) accept(ctx context.Context, tx *store.Store, user store.User, token string, o Origin) (string, error) {
	hash := otp.Hash(token)
	inv, err := tx.InvitationByToken(ctx, hash)
	if err != nil {
		return "", notFoundAs(err, ErrInvalidInvitation)
	}
	if s.status(inv) != InvitationPending {
		return "", ErrInvalidInvitation
	}
	if inv.EmailKey != user.EmailKey {
		return "", ErrInvitationForAnother
	}
	now := s.now()
	if err := inviterStillMay(ctx, tx, inv, now); err != nil {
		return "", err
	}
	if _, err := tx.ConsumeInvitation(ctx, hash, now); err != nil {
		return "", notFoundAs(err, ErrInvalidInvitation)
	}
	_, err = tx.AddMember(ctx, store.Membership{
		OrganizationID: inv.OrganizationID, UserID: user.ID, Role: inv.Role, InvitedBy: inv.InvitedBy,
		AcceptedAt: &now, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil && !errors.Is(err, store.ErrConflict) { // already a member: the role stays
		return "", err
	}
	if err := tx.MarkEmailVerified(ctx, user.ID, now); err != nil {
		return "", err
	}
	org, err := tx.Projects(ctx, inv.OrganizationID)
	if err != nil {
		return "", err
	}
	joined := scope{org: inv.OrganizationID}
	if p, ok := store.Production(org); ok {
		joined.plan = p.Plan
		if err := tx.SetActiveProject(ctx, user.ID, p.ID, now); err != nil {
			return "", err
		}
	}
	err = s.record(ctx, tx, event{action: ActionInvitationAccepted, scope: joined, actor: userActor(user),
		resourceType: ResourceInvitation, resourceID: inv.ID, origin: o, meta: map[string]any{"email": inv.Email, "role": inv.Role}})
	if err != nil {
		return "", err
	}
	return inv.OrganizationID, nil
}

// inviterStillMay refuses (ErrInvalidInvitation) an invitation whose sender is no longer a member
// of its organization who may invite to its role: removing a member (or undoing what a squatter set
// up) must not leave their invitations working. An invitation to owner also needs its sender's
// address settled now (see mayHandOver): one sent before the sender's address change, accepted
// while the change can still be reverted, would be undone with it.
func inviterStillMay(ctx context.Context, tx *store.Store, inv store.Invitation, now time.Time) error {
	if inv.InvitedBy == nil {
		return nil
	}
	role, err := tx.MemberRole(ctx, inv.OrganizationID, *inv.InvitedBy)
	if err != nil {
		return notFoundAs(err, ErrInvalidInvitation)
	}
	if !Role(role).Has(PermManageMembers) || !Role(role).mayHandle(Role(inv.Role)) {
		return ErrInvalidInvitation
	}
	if Role(inv.Role) == RoleOwner {
		inviter, err := tx.UserByID(ctx, *inv.InvitedBy)
		if err != nil {
			return notFoundAs(err, ErrInvalidInvitation)
		}
		if err := settled(ctx, tx, inviter, now); err != nil {
			if errors.Is(err, ErrHandOverUnsettled) {
				return ErrInvalidInvitation
			}
			return err
		}
	}
	return nil
}

// sessionIn opens a session for the user in orgID (""; that of their most recently active
// project), on its production project, at the session version the caller's authority was checked
// at: ErrSessionEnded when the user's sessions ended since; store.ErrNotFound (wrapped) when the user
// belongs to no such organization.
func (s *Service) sessionIn(ctx context.Context, userID, orgID string, version int64, authTime time.Time) (Session, error) {
	account, err := s.store.Account(ctx, userID, orgID)
	if err != nil {
		return Session{}, fmt.Errorf("open session: %w", err)
	}
	if account.User.SessionVersion != version {
		return Session{}, ErrSessionEnded
	}
	return s.open(account, account.Production(), authTime)
}

// safeOrganizationName is an organization's name as mail may show it: short and not like a link,
// else a neutral phrase.
func safeOrganizationName(name string) string {
	if n := safeName(name); n != "" {
		return n
	}
	return "a PinBridge organization"
}
