package account

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/otp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// RequestPasswordReset sends a reset link to email if it is registered, and records the request
// (by an unauthenticated actor) in the account's activity log. It returns at once: the lookup, the
// token and its email happen off the request path, so neither the answer nor its timing says
// whether the account exists.
func (s *Service) RequestPasswordReset(o Origin, email string) {
	s.background("forgot-password", func(ctx context.Context) error { return s.sendPasswordReset(ctx, o, email) })
}

// resetMailsPer10Min bounds the reset mails one account gets, however many addresses ask.
const resetMailsPer10Min = 3

func (s *Service) sendPasswordReset(ctx context.Context, o Origin, email string) error {
	user, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// At most resetMailsPer10Min reset mails in ten minutes, whoever asks and from wherever: the
	// answer is the same either way, and a link already sent still works.
	sent, err := s.store.CountTokensSince(ctx, user.ID, store.PurposePasswordReset, s.now().Add(-10*time.Minute))
	if err != nil {
		return err
	}
	if sent >= resetMailsPer10Min {
		return nil
	}
	requested := func(tx *store.Store) error {
		// The address may have changed since it was looked up (a revert, say): the link goes only
		// to the account's address as it is when the link is made.
		if current, err := tx.UserByIDLocked(ctx, user.ID); err != nil || current.EmailKey != user.EmailKey {
			if err == nil {
				err = errAddressMoved
			}
			return err
		}
		sc, err := homeScope(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, event{action: ActionPasswordResetRequest, scope: sc, actor: anonymous,
			resourceType: ResourceUser, resourceID: user.ID, origin: o})
	}
	err = s.issueLink(ctx, user, store.PurposePasswordReset, mail.KindPasswordReset, user.Email, "", requested)
	if errors.Is(err, errAddressMoved) || errors.Is(err, store.ErrNotFound) {
		return nil // the address is no longer this account's (or the account is gone): nothing to send
	}
	return err
}

// errAddressMoved stops a reset link to an address its account no longer has.
var errAddressMoved = errors.New("the account's address changed")

// ResetPassword sets a new password with an emailed token. The token is consumed by one
// conditional UPDATE in the same transaction as the rest, so of concurrent uses exactly one
// succeeds. The reset ends what a thief of the account could have started: every session, every
// other one-time token (email change, verification, reset) and a pending email change; the failed
// logins are forgotten and the email counts as verified. When that address had never been verified,
// the reset is the owner taking the account back from whoever registered it (pre-hijacking), so
// every API key of the account is revoked too. The reset and the end of the sessions are recorded
// in the activity log (the link's holder as the user). ErrInvalidResetToken for a token that is
// unknown, used or expired; a *FieldError for a guessable password.
func (s *Service) ResetPassword(ctx context.Context, o Origin, token, password string) error {
	hash := otp.Hash(token)
	t, err := s.store.UsableToken(ctx, store.PurposePasswordReset, hash, s.now())
	if err != nil {
		return notFoundAs(err, ErrInvalidResetToken)
	}
	user, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return notFoundAs(err, ErrInvalidResetToken)
	}
	if err := checkPasswordStrength("password", password, user.Email); err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		if _, err := tx.ConsumeToken(ctx, store.PurposePasswordReset, hash, now); err != nil {
			return err
		}
		if _, err := tx.SetPassword(ctx, user.ID, newHash, now, true); err != nil {
			return err
		}
		if err := s.endWhatSessionsStarted(ctx, tx, user.ID, now); err != nil {
			return err
		}
		meta := map[string]any{}
		if user.EmailVerifiedAt == nil {
			revoked, removed, err := undoPreHijack(ctx, tx, user, now)
			if err != nil {
				return err
			}
			if err := s.keepOwners(ctx, tx, removed, now); err != nil {
				return err
			}
			meta["email_verified"], meta["revoked_api_keys"] = true, revoked
		}
		if err := tx.ClearLoginFailuresUnder(ctx, throttleOf(user.Email, "", s.now()).account); err != nil {
			return err
		}
		sc, err := homeScope(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		e := event{action: ActionPasswordResetComplete, scope: sc, actor: userActor(user), resourceType: ResourceUser,
			resourceID: user.ID, origin: o, meta: meta}
		if err := s.recordEndOfSessions(ctx, tx, e, "password_reset"); err != nil {
			return err
		}
		return s.notice(ctx, tx, mail.KindPasswordChanged, user, user.Email, "")
	})
	if err != nil {
		return notFoundAs(err, ErrInvalidResetToken)
	}
	s.mailer.Wake()
	return nil
}

// undoPreHijack revokes what whoever registered a never-verified address may have set up before its
// owner proved it (with a reset or a reclaim link): every API key of the account's organization,
// every other member of it and every pending invitation of it; elsewhere, the members the account's
// invitations brought in (and those they brought in, with their keys and invitations) and the
// account's own memberships, which a squatter may have used to join an organization of their own.
// The account is left owner of its organization, on its production project. Sessions, links and the
// account's own pending invitations go with every reset. It returns how many keys of the
// organization it revoked, and where it removed members (keepOwners follows).
func undoPreHijack(ctx context.Context, tx *store.Store, user store.User, now time.Time) (int64, removals, error) {
	revoked, err := tx.RevokeOrganizationKeys(ctx, user.OrganizationID, now)
	if err != nil {
		return 0, nil, err
	}
	if _, err := tx.RevokeOrganizationInvitations(ctx, user.OrganizationID, now); err != nil {
		return 0, nil, err
	}
	others, err := tx.OtherMemberships(ctx, user.OrganizationID, user.ID)
	if err != nil {
		return 0, nil, err
	}
	invited, err := tx.MembershipsInvitedBy(ctx, user.ID, time.Time{})
	if err != nil {
		return 0, nil, err
	}
	removed, err := undoMemberships(ctx, tx, user, append(others, invited...), time.Time{}, now)
	return revoked, removed, err
}

// removals are where an undo removed members: for each organization, when the earliest membership
// it removed there was made. What changed in the organization from then on may be the thief's.
type removals map[string]time.Time

// note counts the removal from org of a membership made at made.
func (r removals) note(org string, made time.Time) {
	if at, ok := r[org]; !ok || made.Before(at) {
		r[org] = made
	}
}

// merge adds other's removals to r.
func (r removals) merge(other removals) {
	for org, made := range other {
		r.note(org, made)
	}
}

// undoMemberships removes the memberships of remove and the user's own memberships made at or
// after since in organizations other than their own (removeMemberships), then leaves the user
// owning their own organization (restoreOwnership); it returns where it removed members, for
// keepOwners once the whole undo is done. It first locks every organization it may change
// (those of the memberships it removes, the user's own) in the order of their ids: each change of a
// membership takes its organization's row and then its member's access version (migration 0050),
// and taking the rows in one order up front keeps an undo and a change elsewhere (a sandbox made, a
// workspace renamed) from waiting for each other in a circle.
func undoMemberships(ctx context.Context, tx *store.Store, user store.User, remove []store.Membership, since, now time.Time) (removals, error) {
	own, err := tx.UserMemberships(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	ids := []string{user.OrganizationID}
	for _, m := range own {
		ids = append(ids, m.OrganizationID)
		if m.OrganizationID != user.OrganizationID && !m.CreatedAt.Before(since) {
			remove = append(remove, m)
		}
	}
	for _, m := range remove {
		ids = append(ids, m.OrganizationID)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if id == "" {
			continue
		}
		if err := tx.LockOrganization(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	removed, err := removeMemberships(ctx, tx, remove, now)
	if err != nil {
		return nil, err
	}
	return removed, restoreOwnership(ctx, tx, user, now)
}

// successionActor is the service making a member an owner because an undo left nobody owning their
// organization.
var successionActor = actor{kind: ActorSystem, label: "ownership succession"}

// keepOwners gives each organization an undo removed members from, and left with members but no
// owner, its longest-standing admin as owner, and records that in its log; it runs once the whole
// undo is done (a reclaim undoes twice), in the transaction that locked those organizations.
//
// An undo leaves an organization so when it removes an owner the thief brought in who had removed
// or demoted the owners before them (the user among them, or restoreOwnership would have made the
// user its owner again); nobody could then manage its owners, its billing or its admins. Who owned
// it before is not known (a removal keeps no membership, and the log may have expired), so the heir
// is the longest-standing admin whose membership was neither made nor changed since the earliest
// membership the undo removed there: from then on a role may be the thief's doing (a demotion of
// the owners, a promotion of an accomplice). With no such admin, nobody is promoted and the
// organization stays without an owner, as an organization with nobody left does.
//
// The entry has no origin: the service acts, and the request that triggered the undo (the user's
// address, the revert link's click) is not the business of another organization's members.
func (s *Service) keepOwners(ctx context.Context, tx *store.Store, removed removals, now time.Time) error {
	for _, org := range slices.Sorted(maps.Keys(removed)) {
		if err := s.keepAnOwner(ctx, tx, org, removed[org], now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) keepAnOwner(ctx context.Context, tx *store.Store, org string, since, now time.Time) error {
	n, err := tx.CountOwners(ctx, org)
	if err != nil || n > 0 {
		return err
	}
	members, err := tx.Members(ctx, org) // no owner: by when they joined
	if err != nil {
		return err
	}
	i := slices.IndexFunc(members, func(m store.Member) bool {
		return Role(m.Membership.Role) == RoleAdmin && m.Membership.CreatedAt.Before(since) && m.Membership.UpdatedAt.Before(since)
	})
	if i < 0 {
		return nil
	}
	heir := members[i].Membership
	if err := tx.SetMemberRole(ctx, org, heir.ID, string(RoleOwner), now); err != nil {
		return err
	}
	sc, err := orgScope(ctx, tx, org)
	if err != nil {
		return err
	}
	return s.record(ctx, tx, event{action: ActionMemberRoleChanged, scope: sc, actor: successionActor,
		resourceType: ResourceMember, resourceID: heir.ID, at: now,
		meta: map[string]any{"user_id": heir.UserID, "email": members[i].User.Email, "from": heir.Role,
			"to": string(RoleOwner), "reason": "no_owner_left"}})
}

// removeMemberships takes each membership's user out of its organization with what they started
// there: the keys they created, the invitations they sent and the members those brought in, and so
// on down. A membership already gone is no error. It returns where it removed members.
func removeMemberships(ctx context.Context, tx *store.Store, ms []store.Membership, now time.Time) (removals, error) {
	removed := removals{}
	seen := map[string]bool{}
	for len(ms) > 0 {
		m := ms[0]
		ms = ms[1:]
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		// Exclusively, as RemoveMember does: a key or invitation the member's request is creating
		// there commits before (and is revoked below) or is refused after (holdCaller).
		if err := tx.LockOrganization(ctx, m.OrganizationID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		switch err := tx.RemoveMember(ctx, m.OrganizationID, m.ID); {
		case err == nil:
			removed.note(m.OrganizationID, m.CreatedAt)
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		if _, err := tx.RevokeKeysCreatedBy(ctx, m.OrganizationID, m.UserID, now); err != nil {
			return nil, err
		}
		if _, err := tx.RevokeInvitationsSentBy(ctx, m.OrganizationID, m.UserID, now); err != nil {
			return nil, err
		}
		brought, err := tx.MembershipsInvitedBy(ctx, m.UserID, time.Time{})
		if err != nil {
			return nil, err
		}
		for _, b := range brought {
			if b.OrganizationID == m.OrganizationID {
				ms = append(ms, b)
			}
		}
	}
	return removed, nil
}

// restoreOwnership gives the user back what an undo must leave them: their own organization, as an
// owner, when nobody owns it any more (whoever took it over removed or demoted them and has just
// been removed), and every other organization of theirs left without an owner; and a session that
// opens on their own organization's production project.
func restoreOwnership(ctx context.Context, tx *store.Store, user store.User, now time.Time) error {
	own, err := tx.UserMemberships(ctx, user.ID)
	if err != nil {
		return err
	}
	home := false
	for _, m := range own {
		home = home || m.OrganizationID == user.OrganizationID
		n, err := tx.CountOwners(ctx, m.OrganizationID)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := tx.SetMemberRole(ctx, m.OrganizationID, m.ID, string(RoleOwner), now); err != nil {
				return err
			}
		}
	}
	if !home && user.OrganizationID != "" {
		n, err := tx.CountOwners(ctx, user.OrganizationID)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.AddMember(ctx, store.Membership{OrganizationID: user.OrganizationID, UserID: user.ID,
				Role: string(RoleOwner), AcceptedAt: &now, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			home = true
		}
	}
	if !home {
		return nil // someone else owns it now, legitimately: the next login gives them a new one
	}
	projects, err := tx.Projects(ctx, user.OrganizationID)
	if err != nil {
		return err
	}
	if p, ok := store.Production(projects); ok {
		return tx.SetActiveProject(ctx, user.ID, p.ID, now)
	}
	return nil
}

// recordEndOfSessions records e, then the end of every session of the same user that e caused
// (reason says why), in tx.
func (s *Service) recordEndOfSessions(ctx context.Context, tx *store.Store, e event, reason string) error {
	if err := s.record(ctx, tx, e); err != nil {
		return err
	}
	e.action, e.meta = ActionSessionsRevoked, map[string]any{"reason": reason}
	return s.record(ctx, tx, e)
}

// endWhatSessionsStarted retires every outstanding one-time token of the user, revokes the pending
// invitations they sent and cancels a pending email change, inside the transaction that ends their
// sessions: what a stolen session asked for must not outlive it.
func (s *Service) endWhatSessionsStarted(ctx context.Context, tx *store.Store, userID string, now time.Time) error {
	// Every link but the "this wasn't me" one, which belongs to the former address's owner: a thief
	// who took the account over must not be able to destroy it with a reset.
	if err := tx.RetireTokens(ctx, userID, now, store.PurposePasswordReset, store.PurposeEmailVerify, store.PurposeEmailChange); err != nil {
		return err
	}
	if _, err := tx.RevokeInvitationsSentBy(ctx, "", userID, now); err != nil {
		return err
	}
	return tx.SetPendingEmail(ctx, userID, nil, now)
}

// ChangePassword replaces the caller's password after checking the current one, ends every
// session issued before and what they started (see ResetPassword), and opens a fresh session on the
// caller's project. A wrong current password counts as a failed login of the account from the
// caller's address. ErrIncorrectPassword when current is wrong; a *BackoffError while the account
// must wait after repeated failures; a *FieldError when the new password equals the current one or
// is guessable.
func (s *Service) ChangePassword(ctx context.Context, c Caller, current, next string) (Session, error) {
	user := c.user()
	t := throttleOf(user.Email, c.Source, s.now())
	got, err := s.attempt(ctx, t, func() (bool, error) { return s.verify(ctx, current, user.PasswordHash) })
	if err != nil {
		return Session{}, err
	}
	if !got.ok {
		failed := event{action: ActionPasswordChanged, status: StatusFailed, scope: c.scope(), actor: c.actor(),
			resourceType: ResourceUser, resourceID: user.ID, origin: c.Origin}
		return Session{}, s.loginFailed(ctx, got, &user, &failed, ErrIncorrectPassword)
	}
	if next == current {
		return Session{}, invalid("new_password", "must differ from the current password")
	}
	if err := checkPasswordStrength("new_password", next, user.Email); err != nil {
		return Session{}, err
	}
	newHash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return Session{}, fmt.Errorf("hash password: %w", err)
	}
	var version int64
	err = s.txAs(ctx, c, func(tx *store.Store) error {
		now := s.now()
		v, err := tx.SetPassword(ctx, user.ID, newHash, now, false)
		if err != nil {
			return err
		}
		if err := s.endWhatSessionsStarted(ctx, tx, user.ID, now); err != nil {
			return err
		}
		version = v
		e := event{action: ActionPasswordChanged, scope: c.scope(), actor: c.actor(), resourceType: ResourceUser, resourceID: user.ID, origin: c.Origin}
		if err := s.recordEndOfSessions(ctx, tx, e, "password_change"); err != nil {
			return err
		}
		return s.notice(ctx, tx, mail.KindPasswordChanged, user, user.Email, "")
	})
	if err != nil {
		return Session{}, err
	}
	s.mailer.Wake()
	// The fresh session carries the version the change just set; every older token is refused.
	account := c.Account
	account.User.SessionVersion = version
	return s.open(account, c.Project, time.Time{})
}

// issueLink creates a one-time token for user and queues the email carrying its link, in one
// transaction with extra (when not nil, run first: it may refuse); older unused tokens of the same
// purpose stop working.
func (s *Service) issueLink(ctx context.Context, user store.User, purpose, kind, to, newEmail string, extra func(tx *store.Store) error) error {
	token, hash, err := otp.New()
	if err != nil {
		return err
	}
	now := s.now()
	ttl, page := s.linkSettings(purpose)
	link := s.link(page, token)
	subject, text, html, err := mail.Render(kind, mail.Data{Name: greetingName(user, to), Link: link, NewEmail: newEmail, Expires: humanDuration(ttl)})
	if err != nil {
		return err
	}
	var payload *string
	if purpose != store.PurposePasswordReset {
		// Verification and email-change tokens are bound to the address they were sent to.
		payload = &to
	}
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		if err := tx.RetireTokens(ctx, user.ID, now, purpose); err != nil {
			return err
		}
		if _, err := tx.CreateToken(ctx, store.NewToken{UserID: user.ID, Purpose: purpose, Hash: hash, Payload: payload, ExpiresAt: now.Add(ttl), Now: now}); err != nil {
			return err
		}
		_, err := tx.Enqueue(ctx, store.NewMessage{Kind: kind, To: to, Subject: subject, Text: text, HTML: html}, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("issue %s link: %w", purpose, err)
	}
	s.mailer.Wake()
	return nil
}

func (s *Service) linkSettings(purpose string) (time.Duration, string) {
	switch purpose {
	case store.PurposePasswordReset:
		return s.settings.PasswordResetTTL, "/reset-password"
	case store.PurposeEmailVerify:
		return s.settings.EmailVerifyTTL, "/verify-email"
	case store.PurposeEmailRevert:
		return s.settings.EmailRevertTTL, "/revert-email-change"
	default:
		return s.settings.EmailChangeTTL, "/confirm-email-change"
	}
}

// notice queues an informational email (password or email changed) inside tx; the caller wakes
// the mailer after the commit.
func (s *Service) notice(ctx context.Context, tx *store.Store, kind string, user store.User, to, newEmail string) error {
	subject, text, html, err := mail.Render(kind, mail.Data{Name: greetingName(user, to), NewEmail: newEmail})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.NewMessage{Kind: kind, To: to, Subject: subject, Text: text, HTML: html}, s.now())
	return err
}

// maxGreetingName bounds the name a greeting shows, in characters.
const maxGreetingName = 40

// greetingName is the name a message to the address to may greet: none unless to is the user's
// own verified address (anyone can register someone else's address with a "name" that reads like
// an instruction), and even then only a short name that cannot read as a link or an address.
func greetingName(user store.User, to string) string {
	if user.EmailVerifiedAt == nil || store.EmailKey(to) != user.EmailKey {
		return ""
	}
	return safeName(user.FullName)
}

// linkLike matches text a mail client could turn into a link: a scheme, an address, a host name.
var linkLike = regexp.MustCompile(`(?i)[:/@\\]|www|\.[\p{L}\p{N}-]{2,}`)

// safeName is name when it is short and reads as a name, else "". A name is letters (with their
// marks), spaces and the punctuation of names ('-.&,), at most maxGreetingName characters, and
// nothing like a link once compatibility forms are folded (a fullwidth ．or an ideographic 。
// becomes a dot). Digits are refused too: a phone number is an instruction, not a name.
func safeName(name string) string {
	name = strings.TrimSpace(name)
	folded := norm.NFKC.String(strings.NewReplacer("。", ".", "｡", ".", "․", ".", "﹒", ".").Replace(name))
	if name == "" || utf8.RuneCountInString(name) > maxGreetingName || linkLike.MatchString(folded) {
		return ""
	}
	for _, r := range folded {
		if !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || r == ' ' || strings.ContainsRune("'-.&,’", r)) {
			return ""
		}
	}
	return name
}

// humanDuration says 1 hour, 24 hours, 30 minutes.
func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// notFoundAs answers a missing row (store.ErrNotFound) with the flow's own error and passes any
// other error through.
func notFoundAs(err, answer error) error {
	if errors.Is(err, store.ErrNotFound) {
		return answer
	}
	return err
}
