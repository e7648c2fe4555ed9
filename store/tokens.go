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

// RetireTokens marks every unused token of the user with one of purposes (every purpose when none
// is named) as used, so only a newer one can work.
func (s *Store) RetireTokens(ctx context.Context, userID string, now time.Time, purposes ...string) error {
	q := s.db.WithContext(ctx).Model(&OneTimeToken{}).Where("user_id = ? AND used_at IS NULL", userID)
	if len(purposes) > 0 {
		q = q.Where("purpose IN ?", purposes)
	}
	return wrap("retire tokens", q.UpdateColumn("used_at", now.UTC()).Error)
}

// RetireTokensIssuedAfter retires the user's unused tokens of these purposes issued after after.
func (s *Store) RetireTokensIssuedAfter(ctx context.Context, userID string, after, now time.Time, purposes ...string) error {
	err := s.db.WithContext(ctx).Model(&OneTimeToken{}).
		Where("user_id = ? AND used_at IS NULL AND purpose IN ? AND created_at > ?", userID, purposes, after.UTC()).
		UpdateColumn("used_at", now.UTC()).Error
	return wrap("retire tokens issued after", err)
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

// LatestToken returns the user's most recent token of this purpose, used or not (its CreatedAt is
// when it was sent); ErrNotFound when the user was never sent one.
func (s *Store) LatestToken(ctx context.Context, userID, purpose string) (OneTimeToken, error) {
	var t OneTimeToken
	err := s.db.WithContext(ctx).Where("user_id = ? AND purpose = ?", userID, purpose).
		Order("created_at DESC").Limit(1).Take(&t).Error
	return t, wrap("latest token", err)
}

// HasUsableToken reports whether the user holds an unused, unexpired token of any of purposes.
func (s *Store) HasUsableToken(ctx context.Context, userID string, now time.Time, purposes ...string) (bool, error) {
	var ts []OneTimeToken
	err := s.db.WithContext(ctx).Select("id").
		Where("user_id = ? AND purpose IN ? AND used_at IS NULL AND expires_at > ?", userID, purposes, now.UTC()).
		Limit(1).Find(&ts).Error
	return len(ts) > 0, wrap("usable token", err)
}

// CountTokensSince counts the tokens of this purpose sent to the user at or after since.
func (s *Store) CountTokensSince(ctx context.Context, userID, purpose string, since time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OneTimeToken{}).Where("user_id = ? AND purpose = ? AND created_at >= ?", userID, purpose, since.UTC()).Count(&n).Error
	return n, wrap("count tokens", err)
}
