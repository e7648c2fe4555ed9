package store

import (
	"context"
	"fmt"
	"time"
)

// NewToken is a one-time token to store.
type NewToken struct {
	UserID    string
	Purpose   string
	Hash      string
	Payload   *string
	ExpiresAt time.Time
	Now       time.Time
}

// CreateToken stores a one-time token.
func (s *Store) CreateToken(ctx context.Context, t NewToken) (OneTimeToken, error) {
	row := OneTimeToken{
		ID: NewID(), UserID: t.UserID, Purpose: t.Purpose, TokenHash: t.Hash, Payload: t.Payload,
		ExpiresAt: t.ExpiresAt.UTC(), CreatedAt: t.Now.UTC(),
	}
	return row, wrap("create token", s.db.WithContext(ctx).Create(&row).Error)
}

// RetireTokens marks every unused token of the user with this purpose as used, so only a newer
// one can work.
func (s *Store) RetireTokens(ctx context.Context, userID, purpose string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&OneTimeToken{}).
		Where("user_id = ? AND purpose = ? AND used_at IS NULL", userID, purpose).
		UpdateColumn("used_at", now.UTC()).Error
	return wrap("retire tokens", err)
}

// ConsumeToken uses a token: one conditional UPDATE that succeeds only for an unused, unexpired
// token of this purpose, so of two concurrent uses exactly one wins. ErrNotFound otherwise.
func (s *Store) ConsumeToken(ctx context.Context, purpose, hash string, now time.Time) (OneTimeToken, error) {
	now = now.UTC()
	var t OneTimeToken
	err := s.Tx(ctx, func(tx *Store) error {
		res := tx.db.Model(&OneTimeToken{}).
			Where("token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", hash, purpose, now).
			UpdateColumn("used_at", now)
		if res.Error != nil {
			return wrap("consume token", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("consume token: %w", ErrNotFound)
		}
		return wrap("consume token", tx.db.Where("token_hash = ?", hash).Take(&t).Error)
	})
	return t, err
}

// UsableToken reads an unused, unexpired token without consuming it; ErrNotFound otherwise.
func (s *Store) UsableToken(ctx context.Context, purpose, hash string, now time.Time) (OneTimeToken, error) {
	var t OneTimeToken
	err := s.db.WithContext(ctx).
		Where("token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?", hash, purpose, now.UTC()).
		Take(&t).Error
	return t, wrap("usable token", err)
}

// LatestToken returns when the user was last sent a token of this purpose (zero time if never).
func (s *Store) LatestToken(ctx context.Context, userID, purpose string) (OneTimeToken, error) {
	var t OneTimeToken
	err := s.db.WithContext(ctx).Where("user_id = ? AND purpose = ?", userID, purpose).
		Order("created_at DESC").Limit(1).Take(&t).Error
	return t, wrap("latest token", err)
}

// SetPassword replaces the password hash and ends every session issued before now; with
// verifyEmail it also marks the email verified (a reset link proves the address).
func (s *Store) SetPassword(ctx context.Context, userID, hash string, now time.Time, verifyEmail bool) error {
	now = now.UTC()
	updates := map[string]any{"password_hash": hash, "sessions_valid_after": now, "updated_at": now}
	q := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID)
	res := q.Updates(updates)
	if res.Error != nil {
		return wrap("set password", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set password: %w", ErrNotFound)
	}
	if verifyEmail {
		return wrap("set password", s.db.WithContext(ctx).Model(&User{}).
			Where("id = ? AND email_verified_at IS NULL", userID).UpdateColumn("email_verified_at", now).Error)
	}
	return nil
}

// MarkEmailVerified records that the user proved their address (the first time only).
func (s *Store) MarkEmailVerified(ctx context.Context, userID string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND email_verified_at IS NULL", userID).
		Updates(map[string]any{"email_verified_at": now.UTC(), "updated_at": now.UTC()}).Error
	return wrap("mark email verified", err)
}

// SetPendingEmail records (or clears, with nil) the address an email change waits to confirm.
func (s *Store) SetPendingEmail(ctx context.Context, userID string, email *string, now time.Time) error {
	var at *time.Time
	if email != nil {
		n := now.UTC()
		at = &n
	}
	err := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).
		Updates(map[string]any{"pending_email": email, "pending_email_at": at, "updated_at": now.UTC()}).Error
	return wrap("set pending email", err)
}

// ChangeEmail makes email the user's address, verified, and clears the pending change.
// ErrConflict when another account has it.
func (s *Store) ChangeEmail(ctx context.Context, userID, email string, now time.Time) error {
	now = now.UTC()
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Updates(map[string]any{
		"email": email, "email_key": EmailKey(email), "email_verified_at": now,
		"pending_email": nil, "pending_email_at": nil, "updated_at": now,
	})
	if res.Error != nil {
		return wrap("change email", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("change email: %w", ErrNotFound)
	}
	return nil
}
