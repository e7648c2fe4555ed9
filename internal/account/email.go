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
	if err := s.issueLink(ctx, user, store.PurposeEmailVerify, mail.KindEmailVerify, user.Email, "", nil); err != nil {
		return VerificationRequest{}, err
	}
	return VerificationRequest{SentTo: user.Email}, nil
}

// VerifyEmail consumes a verification token; it verifies only the address the link was sent to.
// ErrInvalidVerification for a token that is unknown, used, expired or sent to a former address.
func (s *Service) VerifyEmail(ctx context.Context, token string) error {
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
		return tx.MarkEmailVerified(ctx, user.ID, now)
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
// it, the answer is the same and that address gets a notice instead: the caller learns nothing.
// A *FieldError when newEmail is already the caller's.
func (s *Service) RequestEmailChange(ctx context.Context, c Caller, newEmail string) (EmailChangeRequest, error) {
	user := c.user()
	newEmail, err := emailaddr.Canonical(newEmail)
	if err != nil {
		return EmailChangeRequest{}, invalid("new_email", err.Error())
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
	setPending := func(tx *store.Store) error { return tx.SetPendingEmail(ctx, user.ID, &newEmail, now) }
	_, err = s.store.UserByEmail(ctx, newEmail)
	switch {
	case err == nil:
		err = s.store.Tx(ctx, func(tx *store.Store) error {
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
// and tells the old address. Sessions stay valid. It returns the new address.
// ErrInvalidVerification for a bad token; ErrAccountExists when another account took the address
// meanwhile.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (string, error) {
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
		if err := tx.ChangeEmail(ctx, user.ID, newEmail, now); err != nil {
			return err
		}
		// Reset and verification links went to the old address: they stop working with it.
		if err := tx.RetireTokens(ctx, user.ID, now, store.PurposePasswordReset, store.PurposeEmailVerify); err != nil {
			return err
		}
		return s.notice(ctx, tx, mail.KindEmailChanged, user, user.Email, newEmail)
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
