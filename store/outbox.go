package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// NewMessage is an email to queue.
type NewMessage struct {
	Kind    string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Enqueue queues a message, due now. Call it in the transaction that makes the message true (the
// token it carries, the change it reports), so both commit or neither does.
func (s *Store) Enqueue(ctx context.Context, m NewMessage, now time.Time) (OutboxMessage, error) {
	now = now.UTC()
	row := OutboxMessage{
		ID: NewID(), Kind: m.Kind, ToAddress: m.To, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML,
		NextAttemptAt: now, CreatedAt: now,
	}
	return row, wrap("enqueue message", s.db.WithContext(ctx).Create(&row).Error)
}

// ClaimDue takes up to limit messages that are due and not claimed by a live lease, and leases them
// until now+lease. On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so instances
// claiming at once never take the same message; a lease that expires (its sender died) frees it.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error) {
	now = now.UTC()
	var msgs []OutboxMessage
	err := s.Tx(ctx, func(tx *Store) error {
		q := tx.db.Where("sent_at IS NULL AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)", now, now).
			Order("next_attempt_at, id").Limit(limit)
		if s.postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&msgs).Error; err != nil {
			return wrap("claim messages", err)
		}
		if len(msgs) == 0 {
			return nil
		}
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		until := now.Add(lease)
		return wrap("claim messages", tx.db.Model(&OutboxMessage{}).Where("id IN ?", ids).UpdateColumn("locked_until", until).Error)
	})
	return msgs, err
}

// ReleaseClaims gives back messages claimed but not attempted (a sender stopping between messages),
// so that any instance may take them at once rather than when their lease expires.
func (s *Store) ReleaseClaims(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id IN ? AND sent_at IS NULL", ids).UpdateColumn("locked_until", nil).Error
	return wrap("release messages", err)
}

// MarkSent records delivery and blanks the bodies.
func (s *Store) MarkSent(ctx context.Context, id string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", id).Updates(map[string]any{
		"sent_at": now.UTC(), "locked_until": nil, "text_body": "", "html_body": "", "attempts": clause.Expr{SQL: "attempts + 1"},
	}).Error
	return wrap("mark sent", err)
}

// MarkFailed records a failed attempt and when to try again. The reason is stored as valid UTF-8
// without NUL bytes, cut at a character boundary to at most 1000 bytes: PostgreSQL refuses anything
// else, and the attempt would go unrecorded (no backoff, no error kept).
func (s *Store) MarkFailed(ctx context.Context, id string, next time.Time, reason string) error {
	reason = strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "\uFFFD")
	if len(reason) > 1000 {
		reason = strings.ToValidUTF8(reason[:1000], "")
	}
	err := s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("id = ?", id).Updates(map[string]any{
		"attempts": clause.Expr{SQL: "attempts + 1"}, "next_attempt_at": next.UTC(), "locked_until": nil, "last_error": reason,
	}).Error
	return wrap("mark failed", err)
}

// OutboxBacklog counts messages not yet sent.
func (s *Store) OutboxBacklog(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&OutboxMessage{}).Where("sent_at IS NULL").Count(&n).Error
	return n, wrap("outbox backlog", err)
}
