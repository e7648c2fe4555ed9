package account

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/emailaddr"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/otp"
	"github.com/pinbridge/pinbridge-auth/store"
)

// resendWindow is how long after sending a link another request waits instead of sending again.
const resendWindow = time.Minute

// retryAfter is how many whole seconds remain of the resend window of a link sent at sentAt.
func retryAfter(sentAt, now time.Time) (int, bool) {
	left := sentAt.Add(resendWindow).Sub(now)
	if left <= 0 {
		return 0, false
	}
	return int((left + time.Second - 1) / time.Second), true
}

// VerificationRequest is what RequestEmailVerification did.
type VerificationRequest struct {
	AlreadyVerified bool
	// RetryAfter > 0: a link went out moments ago and nothing was sent; retry after that many seconds.
	RetryAfter int
	SentTo     string // the address the link went to
}

// RequestEmailVerification sends a verification link to the caller's address, at most once a
// minute.
func (s *Service) RequestEmailVerification(ctx context.Context, c Caller) (VerificationRequest, error) {
	user := c.user()
	if user.EmailVerifiedAt != nil {
		return VerificationRequest{AlreadyVerified: true}, nil
	}
	last, err := s.store.LatestToken(ctx, user.ID, store.PurposeEmailVerify)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return VerificationRequest{}, err
	}
	if err == nil {
		if wait, ok := retryAfter(last.CreatedAt, s.now()); ok {
			return VerificationRequest{RetryAfter: wait}, nil
		}
	}
	hold := func(tx *store.Store) error { return holdSession(ctx, tx, c) }
	if err := s.issueLink(ctx, user, store.PurposeEmailVerify, mail.KindEmailVerify, user.Email, "", hold); err != nil {
		return VerificationRequest{}, err
	}
	return VerificationRequest{SentTo: user.Email}, nil
}

// VerifyEmail consumes a verification token; it verifies only the address the link was sent to,
// and records it. ErrInvalidVerification for a token that is unknown, used, expired or sent to a
// former address.
func (s *Service) VerifyEmail(ctx context.Context, o Origin, token string) error {
	hash := otp.Hash(token)
	err := s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		t, err := tx.ConsumeToken(ctx, store.PurposeEmailVerify, hash, now)
		if err != nil {
			return err
		}
		user, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		if t.Payload == nil || store.EmailKey(*t.Payload) != user.EmailKey {
			return fmt.Errorf("verification link for a previous address: %w", store.ErrNotFound)
		}
		if err := tx.MarkEmailVerified(ctx, user.ID, now); err != nil {
			return err
		}
		sc, err := homeScope(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, event{action: ActionEmailVerified, scope: sc, actor: userActor(user),
			resourceType: ResourceUser, resourceID: user.ID, origin: o})
	})
	return notFoundAs(err, ErrInvalidVerification)
}

// EmailChangeRequest is what RequestEmailChange did.
type EmailChangeRequest struct {
	PendingEmail string
	RequestedAt  time.Time
	// RetryAfter > 0: a link to this address went out moments ago and nothing was sent.
	RetryAfter int
}

// RequestEmailChange sends a confirmation link to the new address. If another account already uses
// it, the answer is the same and that address gets a notice instead: the caller learns nothing
// (the activity log records both alike, with the new address). A *FieldError when newEmail is
// already the caller's.
//
// A session that proved the password more than the re-authentication window ago must send it
// (currentPassword); without it, or with a wrong one (which counts as a failed login), the error is
// ErrReauthenticationRequired, so a stolen session cannot move the account to the thief's address.
func (s *Service) RequestEmailChange(ctx context.Context, c Caller, newEmail string, currentPassword *string) (EmailChangeRequest, error) {
	user := c.user()
	newEmail, err := emailaddr.Canonical(newEmail)
	if err != nil {
		return EmailChangeRequest{}, invalid("new_email", err.Error())
	}
	if err := s.reauthenticate(ctx, c, currentPassword, ActionEmailChangeRequested); err != nil {
		return EmailChangeRequest{}, err
	}
	if store.EmailKey(newEmail) == user.EmailKey {
		return EmailChangeRequest{}, invalid("new_email", "is already the email of this account")
	}
	now := s.now()
	if user.PendingEmail != nil && user.PendingEmailAt != nil && store.EmailKey(*user.PendingEmail) == store.EmailKey(newEmail) {
		if wait, ok := retryAfter(*user.PendingEmailAt, now); ok {
			return EmailChangeRequest{PendingEmail: *user.PendingEmail, RequestedAt: *user.PendingEmailAt, RetryAfter: wait}, nil
		}
	}
	setPending := func(tx *store.Store) error {
		if err := holdSession(ctx, tx, c); err != nil {
			return err
		}
		if err := tx.SetPendingEmail(ctx, user.ID, &newEmail, now); err != nil {
			return err
		}
		return s.record(ctx, tx, event{action: ActionEmailChangeRequested, scope: c.scope(), actor: c.actor(),
			resourceType: ResourceUser, resourceID: user.ID, origin: c.Origin, meta: map[string]any{"new_email": newEmail}})
	}
	_, err = s.store.UserByEmail(ctx, newEmail)
	if errors.Is(err, store.ErrNotFound) {
		// An address its former account may still take back counts as taken.
		held, herr := s.store.AddressHeld(ctx, newEmail, now)
		if herr != nil {
			return EmailChangeRequest{}, herr
		}
		if held {
			err = nil
		}
	}
	switch {
	case err == nil:
		err = s.txAs(ctx, c, func(tx *store.Store) error {
			// Newer always retires older: a link to a previous address must stop working here too.
			if err := tx.RetireTokens(ctx, user.ID, now, store.PurposeEmailChange); err != nil {
				return err
			}
			if err := setPending(tx); err != nil {
				return err
			}
			return s.notice(ctx, tx, mail.KindEmailChangeTaken, user, newEmail, newEmail)
		})
		s.mailer.Wake()
	case errors.Is(err, store.ErrNotFound):
		err = s.issueLink(ctx, user, store.PurposeEmailChange, mail.KindEmailChange, newEmail, newEmail, setPending)
	}
	if err != nil {
		return EmailChangeRequest{}, err
	}
	return EmailChangeRequest{PendingEmail: newEmail, RequestedAt: now}, nil
}

// ConfirmEmailChange consumes an email-change token and makes its address the account's, verified,
// records it, and tells the old address. Sessions stay valid. It returns the new address.
// ErrInvalidVerification for a bad token; ErrAccountExists when another account took the address
// meanwhile.
func (s *Service) ConfirmEmailChange(ctx context.Context, o Origin, token string) (string, error) {
	hash := otp.Hash(token)
	var newEmail string
	err := s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		t, err := tx.ConsumeToken(ctx, store.PurposeEmailChange, hash, now)
		if err != nil {
			return err
		}
		if t.Payload == nil {
			return fmt.Errorf("email change token without address: %w", store.ErrNotFound)
		}
		user, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return err
		}
		newEmail = *t.Payload
		if held, err := tx.AddressHeld(ctx, newEmail, now); err != nil || held {
			if err == nil {
				err = store.ErrConflict
			}
			return err
		}
		if err := tx.ChangeEmail(ctx, user.ID, newEmail, now); err != nil {
			return err
		}
		// Reset and verification links went to the old address: they stop working with it.
		if err := tx.RetireTokens(ctx, user.ID, now, store.PurposePasswordReset, store.PurposeEmailVerify); err != nil {
			return err
		}
		sc, err := homeScope(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		err = s.record(ctx, tx, event{action: ActionEmailChangeConfirmed, scope: sc, actor: actor{kind: ActorUser, id: user.ID, label: newEmail},
			resourceType: ResourceUser, resourceID: user.ID, origin: o, meta: map[string]any{"previous_email": user.Email, "new_email": newEmail}})
		if err != nil {
			return err
		}
		return s.noticeWithRevertLink(ctx, tx, user, newEmail, t.CreatedAt, now)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ErrInvalidVerification
	case errors.Is(err, store.ErrConflict):
		return "", ErrAccountExists
	case err != nil:
		return "", err
	}
	s.mailer.Wake()
	return newEmail, nil
}

// reauthenticate passes a caller whose session proved the password within the window, or who sent
// the right current password; ErrReauthenticationRequired otherwise. A wrong password counts as a
// failed login of the account from the caller's address (a *BackoffError while it must wait).
//
// action names what the password was asked for, for the failed attempt's activity-log entry.
func (s *Service) reauthenticate(ctx context.Context, c Caller, currentPassword *string, action string) error {
	if s.now().Sub(c.Authenticated) <= s.settings.ReauthWindow {
		return nil
	}
	if currentPassword == nil {
		return ErrReauthenticationRequired
	}
	t := throttleOf(c.user().Email, c.Source, s.now())
	got, err := s.attempt(ctx, t, func() (bool, error) { return s.verify(ctx, *currentPassword, c.user().PasswordHash) })
	if err != nil {
		return err
	}
	if !got.ok {
		user := c.user()
		failed := event{action: action, status: StatusFailed, scope: c.scope(), actor: c.actor(),
			resourceType: ResourceUser, resourceID: user.ID, origin: c.Origin}
		return s.loginFailed(ctx, got, &user, &failed, ErrReauthenticationRequired)
	}
	return nil
}

// noticeWithRevertLink tells the former address of an email change, with a "this wasn't me" link
// that undoes it (RevertEmailChange), inside tx.
//
// The link's token is dated from requested, when the change was asked for: the revert undoes what
// the requesting session may have done from then on (see RevertEmailChange). When the former
// address had never been verified, the link is a reclaim (store.PurposeEmailReclaim) and the
// notice does not show the new address: whoever typed it may not be the address's owner.
func (s *Service) noticeWithRevertLink(ctx context.Context, tx *store.Store, user store.User, newEmail string, requested, now time.Time) error {
	token, hash, err := otp.New()
	if err != nil {
		return err
	}
	ttl, page := s.linkSettings(store.PurposeEmailRevert)
	former, purpose, shown := user.Email, store.PurposeEmailRevert, newEmail
	if user.EmailVerifiedAt == nil {
		purpose, shown = store.PurposeEmailReclaim, ""
	}
	if _, err := tx.CreateToken(ctx, store.NewToken{UserID: user.ID, Purpose: purpose, Hash: hash, Payload: &former, ExpiresAt: now.Add(ttl), Now: requested}); err != nil {
		return err
	}
	link := s.link(page, token)
	subject, text, html, err := mail.Render(mail.KindEmailChanged, mail.Data{Name: greetingName(user, former), NewEmail: shown, Link: link, Expires: humanDuration(ttl)})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.NewMessage{Kind: mail.KindEmailChanged, To: former, Subject: subject, Text: text, HTML: html}, now)
	return err
}

// RevertEmailChange undoes an email change with the link sent to the former address: that address
// is the account's again (verified: the link proves it), every session ends, every outstanding
// link is retired and a pending change cancelled, the revert links of later changes stop working,
// what the requesting session may have done is undone (the API keys the user created, the
// invitations they sent and the members those brought in, since the re-authentication window before
// the request: the oldest a session that needed no password could be), and the password stops
// working (the restored address gets a reset link with the notice). A reclaim link (the former
// address had never been verified) also undoes what a squatter set up (undoPreHijack). All of it
// is recorded. It returns the restored address.
// ErrInvalidVerification for a bad token; ErrAccountExists when another account took the former
// address meanwhile.
func (s *Service) RevertEmailChange(ctx context.Context, o Origin, token string) (string, error) {
	hash := otp.Hash(token)
	unusable, err := s.unusablePasswordHash(ctx)
	if err != nil {
		return "", err
	}
	var former string
	var user store.User
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		now := s.now()
		t, err := consumeRevert(ctx, tx, hash, now)
		if err != nil {
			return err
		}
		if t.Payload == nil {
			return fmt.Errorf("revert token without address: %w", store.ErrNotFound)
		}
		if user, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		former = *t.Payload
		if err := tx.ChangeEmail(ctx, user.ID, former, now); err != nil {
			return err
		}
		// Changes made after this one (and their own revert links) came from whoever held the
		// account then: the earliest link wins, whichever is used first.
		if err := tx.RetireTokensIssuedAfter(ctx, user.ID, t.CreatedAt, now, store.RevertPurposes...); err != nil {
			return err
		}
		if _, err := tx.EndSessions(ctx, user.ID, now); err != nil {
			return err
		}
		if err := s.endWhatSessionsStarted(ctx, tx, user.ID, now); err != nil {
			return err
		}
		revoked, removed, err := undoSince(ctx, tx, user, t.CreatedAt.Add(-s.settings.ReauthWindow), now)
		if err != nil {
			return err
		}
		if t.Purpose == store.PurposeEmailReclaim {
			// The former address had never been verified: its owner proves it now, as with a reset.
			n, more, err := undoPreHijack(ctx, tx, user, now)
			if err != nil {
				return err
			}
			revoked += n
			removed.merge(more)
		}
		if err := s.keepOwners(ctx, tx, removed, now); err != nil {
			return err
		}
		sc, err := homeScope(ctx, tx, user.ID)
		if err != nil {
			return err
		}
		e := event{action: ActionEmailChangeReverted, scope: sc, actor: actor{kind: ActorUser, id: user.ID, label: former},
			resourceType: ResourceUser, resourceID: user.ID, origin: o,
			meta: map[string]any{"restored_email": former, "replaced_email": user.Email, "revoked_api_keys": revoked}}
		if err := s.recordEndOfSessions(ctx, tx, e, "email_change_reverted"); err != nil {
			return err
		}
		// Whoever changed the address may know the password: it stops working, and the restored
		// address gets a link to choose a new one.
		if err := tx.SetPasswordHash(ctx, user.ID, unusable, now); err != nil {
			return err
		}
		user.Email, user.EmailKey = former, store.EmailKey(former)
		return s.restoredNotice(ctx, tx, user, now)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", ErrInvalidVerification
	case errors.Is(err, store.ErrConflict):
		return "", ErrAccountExists
	case err != nil:
		return "", err
	}
	s.mailer.Wake()
	return former, nil
}

// consumeRevert uses a "this wasn't me" link of either kind (store.RevertPurposes).
func consumeRevert(ctx context.Context, tx *store.Store, hash string, now time.Time) (store.OneTimeToken, error) {
	t, err := tx.ConsumeToken(ctx, store.PurposeEmailRevert, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return tx.ConsumeToken(ctx, store.PurposeEmailReclaim, hash, now)
	}
	return t, err
}

// undoSince revokes what the user may have done from a stolen session opened at or after since:
// the API keys they created, the invitations they sent, the members those brought in (and those
// they brought in, with their keys and invitations) and the organizations the account joined; the
// user is left owning their own organization (restoreOwnership). It returns how many of the user's
// own keys it revoked, and where it removed members (keepOwners follows).
func undoSince(ctx context.Context, tx *store.Store, user store.User, since, now time.Time) (int64, removals, error) {
	revoked, err := tx.RevokeKeysCreatedSince(ctx, user.ID, since, now)
	if err != nil {
		return 0, nil, err
	}
	if _, err := tx.RevokeInvitationsSentSince(ctx, "", user.ID, since, now); err != nil {
		return 0, nil, err
	}
	remove, err := tx.MembershipsInvitedBy(ctx, user.ID, since)
	if err != nil {
		return 0, nil, err
	}
	removed, err := undoMemberships(ctx, tx, user, remove, since, now)
	return revoked, removed, err
}

// unusablePasswordHash is the hash of a random password nobody knows: set as a user's hash, it makes
// their password stop working until a reset.
func (s *Service) unusablePasswordHash(ctx context.Context) (string, error) {
	random, _, err := otp.New()
	if err != nil {
		return "", err
	}
	h, err := s.hasher.Hash(ctx, random)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// restoredNotice tells the restored address, with a reset link (the password no longer works), in tx.
func (s *Service) restoredNotice(ctx context.Context, tx *store.Store, user store.User, now time.Time) error {
	token, hash, err := otp.New()
	if err != nil {
		return err
	}
	ttl, page := s.linkSettings(store.PurposePasswordReset)
	if _, err := tx.CreateToken(ctx, store.NewToken{UserID: user.ID, Purpose: store.PurposePasswordReset, Hash: hash, ExpiresAt: now.Add(ttl), Now: now}); err != nil {
		return err
	}
	link := s.link(page, token)
	subject, text, html, err := mail.Render(mail.KindEmailRestored, mail.Data{Name: greetingName(user, user.Email), Link: link, Expires: humanDuration(ttl)})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.NewMessage{Kind: mail.KindEmailRestored, To: user.Email, Subject: subject, Text: text, HTML: html}, now)
	return err
}

// link is the public page's address that carries a one-time token: the link a mail or an operator
// hands over.
func (s *Service) link(page, token string) string {
	return s.settings.PublicURL + page + "?token=" + url.QueryEscape(token)
}
