package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RateHit is one hit of a rate-limit bucket, which expires (is purged) at Expires.
type RateHit struct {
	Bucket  string
	Expires time.Time
}

// HitAll counts one hit of each of hits' buckets (a bucket names the limit, the subject and the
// window) and returns their counts so far, in hits' order (a bucket named twice is counted once).
// One statement, atomic on both engines, shared by every instance. The rows are taken in the order of their
// names, so that requests hitting overlapping buckets at once wait on each other rather than
// deadlock.
func (s *Store) HitAll(ctx context.Context, hits ...RateHit) ([]int, error) {
	sorted := slices.SortedFunc(slices.Values(hits), func(a, b RateHit) int { return strings.Compare(a.Bucket, b.Bucket) })
	sorted = slices.CompactFunc(sorted, func(a, b RateHit) bool { return a.Bucket == b.Bucket })
	var q strings.Builder
	q.WriteString("INSERT INTO rate_limits (bucket, count, expires_at) VALUES ")
	args := make([]any, 0, 2*len(sorted))
	for i, h := range sorted {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, 1, ?)")
		args = append(args, h.Bucket, h.Expires.UTC())
	}
	q.WriteString(" ON CONFLICT (bucket) DO UPDATE SET count = rate_limits.count + 1 RETURNING bucket, count")
	var rows []struct {
		Bucket string
		Count  int
	}
	if err := s.db.WithContext(ctx).Raw(q.String(), args...).Scan(&rows).Error; err != nil {
		return nil, wrap("rate limit hit", err)
	}
	byBucket := make(map[string]int, len(rows))
	for _, r := range rows {
		byBucket[r.Bucket] = r.Count
	}
	counts := make([]int, len(hits))
	for i, h := range hits {
		n, ok := byBucket[h.Bucket]
		if !ok {
			return nil, fmt.Errorf("rate limit hit: no count returned for bucket %q", h.Bucket)
		}
		counts[i] = n
	}
	return counts, nil
}

// PurgeRateLimits deletes expired buckets.
func (s *Store) PurgeRateLimits(ctx context.Context, now time.Time) error {
	return wrap("purge rate limits", s.db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&RateLimit{}).Error)
}

// Login throttles are counted per key: the flows key them on an account and on an account seen
// from one source address (see account.Login). The column is named email_key for history; it holds
// these keys.

// LoginLockedUntil returns until when logins under any of keys must wait: the latest of their
// locks (zero time when none is locked).
func (s *Store) LoginLockedUntil(ctx context.Context, keys ...string) (time.Time, error) {
	var ts []LoginThrottle
	if err := s.db.WithContext(ctx).Where("email_key IN ?", keys).Find(&ts).Error; err != nil {
		return time.Time{}, wrap("login throttle", err)
	}
	var until time.Time
	for _, t := range ts {
		if t.LockedUntil.After(until) {
			until = t.LockedUntil
		}
	}
	return until, nil
}

// ClaimLoginAttempt counts an attempt under key before its password is checked, as a failure
// until a right password clears it (ClearLoginFailures) or gives it back, as does an attempt whose
// password was never checked (ReleaseLoginAttempt), and sets the key's next allowed time from the
// count with backoff(failures). Failures older than forget start over. It returns the count with
// this attempt. Attempts made at once take turns on the key's row: an attempt while the key waits
// is not counted (failures 0), and until says until when it waits.
func (s *Store) ClaimLoginAttempt(ctx context.Context, key string, now time.Time, forget time.Duration, backoff func(failures int) time.Duration) (failures int, until time.Time, err error) {
	return s.countLoginFailure(ctx, "claim login attempt", key, now, forget, backoff)
}

// countLoginFailure counts one more failure under key (one, when the last is older than forget)
// and sets the key's next allowed time from the count with backoff; it returns the count. A key
// still waiting at now counts nothing: it returns 0 and until when the key waits. A key that need
// not wait (backoff 0) keeps no wait at all rather than one ending now, so that an attempt whose
// now was read a moment before another's is not refused by it.
//
// Most counts stay within the free failures (backoff 0) and set no wait: one statement counts them,
// and counts only when the count it makes stays free. A count past them sets a wait, in a
// transaction holding the key's row between the count and the wait, so that attempts made at once
// take turns.
func (s *Store) countLoginFailure(ctx context.Context, op, key string, now time.Time, forget time.Duration, backoff func(failures int) time.Duration) (failures int, until time.Time, err error) {
	now = now.UTC()
	const counted = "CASE WHEN login_throttles.last_failed_at < ? THEN 1 ELSE login_throttles.failures + 1 END"
	count := func(db *gorm.DB, free int) ([]int, error) {
		q := "INSERT INTO login_throttles (email_key, failures, locked_until, last_failed_at) VALUES (?, 1, ?, ?) " +
			"ON CONFLICT (email_key) DO UPDATE SET failures = " + counted + ", last_failed_at = ?"
		args := []any{key, noWait, now, now.Add(-forget), now}
		where, whereArgs := "login_throttles.locked_until <= ?", []any{now}
		if free > 0 {
			q += ", locked_until = ?"
			args = append(args, noWait)
			where += " AND " + counted + " <= ?"
			whereArgs = append(whereArgs, now.Add(-forget), free)
		}
		q += " WHERE " + where
		args = append(args, whereArgs...)
		var n []int
		err := db.Raw(q+" RETURNING failures", args...).Scan(&n).Error
		return n, err
	}
	if free := freeFailures(backoff); free > 0 {
		n, err := count(s.db.WithContext(ctx), free)
		if err != nil {
			return 0, time.Time{}, wrap(op, err)
		}
		if len(n) > 0 {
			return n[0], time.Time{}, nil
		}
	}
	err = s.Tx(ctx, func(tx *Store) error {
		failures, until = 0, time.Time{}
		n, err := count(tx.db, 0)
		if err != nil {
			return wrap(op, err)
		}
		if len(n) == 0 { // the key waits: nothing was counted
			var t LoginThrottle
			if err := tx.db.Where("email_key = ?", key).Take(&t).Error; err != nil {
				return wrap(op, err)
			}
			until = t.LockedUntil
			return nil
		}
		failures = n[0]
		lock := noWait
		if wait := backoff(failures); wait > 0 {
			lock = now.Add(wait)
		}
		return wrap(op, tx.db.Model(&LoginThrottle{}).Where("email_key = ?", key).UpdateColumn("locked_until", lock).Error)
	})
	return failures, until, err
}

// freeFailures is how many failures in a row backoff lets go without a wait (at most 1,000).
func freeFailures(backoff func(failures int) time.Duration) int {
	n := 0
	for n < 1000 && backoff(n+1) == 0 {
		n++
	}
	return n
}

// noWait is the locked_until of a key that need not wait: before any now.
var noWait = time.Unix(0, 0).UTC()

// ReleaseLoginAttempt gives back an attempt ClaimLoginAttempt counted under key whose password was
// never checked (the hashing pool was full, the request ran out of time) or, under an account's
// window, was right. With endWait the wait its claim started ends too (the claim that reached an
// account's ceiling: no failure pauses the account); otherwise a wait stays.
func (s *Store) ReleaseLoginAttempt(ctx context.Context, key string, endWait bool) error {
	set := map[string]any{"failures": gorm.Expr("failures - 1")}
	if endWait {
		set["locked_until"] = noWait
	}
	err := s.db.WithContext(ctx).Model(&LoginThrottle{}).Where("email_key = ? AND failures > 0", key).UpdateColumns(set).Error
	return wrap("release login attempt", err)
}

// ClearLoginFailures settles a right password: it forgets the failed logins under source and gives
// back the attempt ClaimLoginAttempt counted under window (with endWait, as ReleaseLoginAttempt),
// whose row goes when nothing else is counted there (a row for every account that signed in each
// hour would otherwise stay). One statement, unless the window counts other attempts too.
func (s *Store) ClearLoginFailures(ctx context.Context, source, window string, endWait bool) error {
	var gone []string
	err := s.db.WithContext(ctx).Raw("DELETE FROM login_throttles WHERE email_key = ? OR (email_key = ? AND failures <= 1) RETURNING email_key",
		source, window).Scan(&gone).Error
	if err != nil {
		return wrap("clear login failures", err)
	}
	if slices.Contains(gone, window) {
		return nil
	}
	return s.ReleaseLoginAttempt(ctx, window, endWait)
}

// ClearLoginFailuresUnder forgets the failed logins under key and under every key that extends it
// with "|" or "@" (after a password reset: the account from every source, in every window).
func (s *Store) ClearLoginFailuresUnder(ctx context.Context, key string) error {
	err := s.db.WithContext(ctx).Where(`email_key = ? OR email_key LIKE ? ESCAPE '\' OR email_key LIKE ? ESCAPE '\'`,
		key, escapeLike(key)+"|%", escapeLike(key)+"@%").Delete(&LoginThrottle{}).Error
	return wrap("clear login failures", err)
}

// escapeLike makes s match itself in a LIKE pattern whose escape character is a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}
