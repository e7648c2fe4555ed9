package store

import (
	"context"
	"fmt"
	"time"
)

// RotateAPIKey stores next, a key made to replace old, and ends old at oldExpires (its overlap):
// old is marked replaced only while it is neither revoked nor already replaced, in the same
// transaction, so of two concurrent rotations one wins. ErrConflict when old cannot be rotated;
// ErrNotFound when it is not a key of the organization.
func (s *Store) RotateAPIKey(ctx context.Context, orgID, oldID string, next NewAPIKey, oldExpires time.Time) (APIKey, error) {
	var created APIKey
	err := s.Tx(ctx, func(tx *Store) error {
		if _, err := tx.APIKeyInOrganization(ctx, orgID, oldID); err != nil {
			return err
		}
		var err error
		if created, err = tx.CreateAPIKey(ctx, next); err != nil {
			return err
		}
		res := tx.db.Model(&APIKey{}).
			Where("id = ? AND organization_id = ? AND revoked_at IS NULL AND replaced_by IS NULL", oldID, orgID).
			Updates(map[string]any{"replaced_by": created.ID, "expires_at": oldExpires.UTC(), "updated_at": next.Now.UTC()})
		if res.Error != nil {
			return wrap("rotate api key", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("rotate api key: revoked or already rotated: %w", ErrConflict)
		}
		created.RotatedFrom = &oldID
		return wrap("rotate api key", tx.db.Model(&APIKey{}).Where("id = ?", created.ID).UpdateColumn("rotated_from", oldID).Error)
	})
	return created, err
}

// RevokeLeakedKey revokes a live key with reason; false when it was already revoked or expired.
func (s *Store) RevokeLeakedKey(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", id, now.UTC()).
		Updates(map[string]any{"revoked_at": now.UTC(), "revoked_reason": reason, "updated_at": now.UTC()})
	return res.RowsAffected == 1, wrap("revoke leaked key", res.Error)
}

// RecordScanningReport remembers a leak report by its digest; ErrConflict when it was seen before.
func (s *Store) RecordScanningReport(ctx context.Context, digest string, now time.Time) error {
	return wrap("record scanning report", s.db.WithContext(ctx).Create(&SecretScanningReport{Digest: digest, ReceivedAt: now.UTC()}).Error)
}

// KeysExpiringBy lists live keys, not replaced by a rotation, that expire after now and by until
// and whose managers were not reminded yet (at most limit).
func (s *Store) KeysExpiringBy(ctx context.Context, now, until time.Time, limit int) ([]APIKey, error) {
	keys := []APIKey{}
	err := s.db.WithContext(ctx).
		Where("revoked_at IS NULL AND replaced_by IS NULL AND expiry_reminded_at IS NULL AND expires_at > ? AND expires_at <= ?", now.UTC(), until.UTC()).
		Order("expires_at").Limit(limit).Find(&keys).Error
	return keys, wrap("keys expiring", err)
}

// MarkExpiryReminded records that a key's managers are being reminded; false when another
// instance did first (so only one reminds).
func (s *Store) MarkExpiryReminded(ctx context.Context, id string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&APIKey{}).Where("id = ? AND expiry_reminded_at IS NULL", id).
		UpdateColumn("expiry_reminded_at", now.UTC())
	return res.RowsAffected == 1, wrap("mark expiry reminded", res.Error)
}
