package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Hit counts one hit of bucket (which names the limit, the subject and the window) and returns the
// count so far. One statement, atomic on both engines, shared by every instance.
func (s *Store) Hit(ctx context.Context, bucket string, expires time.Time) (int, error) {
	var count int
	err := s.db.WithContext(ctx).Raw(
		"INSERT INTO rate_limits (bucket, count, expires_at) VALUES (?, 1, ?) "+
			"ON CONFLICT (bucket) DO UPDATE SET count = rate_limits.count + 1 RETURNING count",
		bucket, expires.UTC()).Scan(&count).Error
	return count, wrap("rate limit hit", err)
}

// PurgeRateLimits deletes expired buckets.
func (s *Store) PurgeRateLimits(ctx context.Context, now time.Time) error {
	return wrap("purge rate limits", s.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&RateLimit{}).Error)
}

// LoginLockedUntil returns until when logins for the email must wait (zero time when they need not).
func (s *Store) LoginLockedUntil(ctx context.Context, email string) (time.Time, error) {
	var t LoginThrottle
	err := translate(s.db.WithContext(ctx).Where("email_key = ?", EmailKey(email)).Take(&t).Error)
	if errors.Is(err, ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("login throttle: %w", err)
	}
	return t.LockedUntil, nil
}

// RecordLoginFailure counts a failed login for the email and sets its next allowed time from the
// number of recent failures with backoff(failures). Failures older than forget start over.
func (s *Store) RecordLoginFailure(ctx context.Context, email string, now time.Time, forget time.Duration, backoff func(failures int) time.Duration) (int, error) {
	now = now.UTC()
	key := EmailKey(email)
	var failures int
	err := s.Tx(ctx, func(tx *Store) error {
		err := tx.db.Raw(
			"INSERT INTO login_throttles (email_key, failures, locked_until, last_failed_at) VALUES (?, 1, ?, ?) "+
				"ON CONFLICT (email_key) DO UPDATE SET "+
				"failures = CASE WHEN login_throttles.last_failed_at < ? THEN 1 ELSE login_throttles.failures + 1 END, "+
				"last_failed_at = ? RETURNING failures",
			key, now, now, now.Add(-forget), now).Scan(&failures).Error
		if err != nil {
			return wrap("record login failure", err)
		}
		return wrap("record login failure", tx.db.Model(&LoginThrottle{}).Where("email_key = ?", key).
			UpdateColumn("locked_until", now.Add(backoff(failures))).Error)
	})
	return failures, err
}

// ClearLoginFailures forgets the failed logins of the email (after a success or a reset).
func (s *Store) ClearLoginFailures(ctx context.Context, email string) error {
	return wrap("clear login failures", s.db.WithContext(ctx).Where("email_key = ?", EmailKey(email)).Delete(&LoginThrottle{}).Error)
}
