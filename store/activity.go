package store

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ActivityLog is one entry of an organization's activity log: who (the actor) did what (the
// action, its category and status) to which resource, from which request and address, and until
// when it is kept. Metadata is a JSON object as text; the account package writes it and never puts
// a secret in it.
type ActivityLog struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	CreatedAt      time.Time
	ActorType      string
	ActorID        *string
	ActorLabel     *string
	Action         string
	Category       string
	Status         string
	ResourceType   *string
	ResourceID     *string
	Message        string
	Metadata       string
	RequestID      *string
	SourceAddress  *string
	RetentionDays  int
	ExpiresAt      time.Time
}

// The longest values the activity_logs columns hold, in characters (store/migrations.go).
const (
	maxActivityShort   = 16 // actor_type, status
	maxActivityKind    = 32 // category, resource_type
	maxActivityAction  = 64
	maxActivityText    = 255 // actor_label, message
	maxActivityRequest = 128
	maxActivitySource  = 64
	// MaxActivityMetadata is the longest metadata (JSON text) an entry may carry.
	MaxActivityMetadata = 4096
)

// RecordActivity stores one entry (a fresh id when it has none). Call it in the transaction of the
// change the entry describes, so that both commit or neither does. Text is stored as valid UTF-8
// without NUL and cut to its column, so no value can fail the write (and the change with it);
// metadata longer than MaxActivityMetadata is refused instead, since cutting JSON breaks it.
func (s *Store) RecordActivity(ctx context.Context, e ActivityLog) error {
	if err := e.normalize(); err != nil {
		return err
	}
	return wrap("record activity", s.db.WithContext(ctx).Create(&e).Error)
}

// RecordActivities stores many entries at once, in batches (fixtures and benchmarks), as
// RecordActivity does each.
func (s *Store) RecordActivities(ctx context.Context, es []ActivityLog) error {
	for i := range es {
		if err := es[i].normalize(); err != nil {
			return err
		}
	}
	return wrap("record activities", s.db.WithContext(ctx).CreateInBatches(&es, 500).Error)
}

func (e *ActivityLog) normalize() error {
	if e.ID == "" {
		e.ID = NewID()
	}
	if n := utf8.RuneCountInString(e.Metadata); n > MaxActivityMetadata {
		return fmt.Errorf("record activity: metadata of %d characters, want at most %d", n, MaxActivityMetadata)
	}
	// What both engines keep (PostgreSQL rounds to microseconds by itself): a cursor made from an
	// entry read back must name exactly its instant.
	e.CreatedAt, e.ExpiresAt = e.CreatedAt.UTC().Truncate(time.Microsecond), e.ExpiresAt.UTC().Truncate(time.Microsecond)
	e.ActorType, e.Status = clip(e.ActorType, maxActivityShort), clip(e.Status, maxActivityShort)
	e.Category, e.Action = clip(e.Category, maxActivityKind), clip(e.Action, maxActivityAction)
	e.Message, e.Metadata = clip(e.Message, maxActivityText), clip(e.Metadata, MaxActivityMetadata)
	for _, f := range []struct {
		p **string
		n int
	}{{&e.ActorLabel, maxActivityText}, {&e.ResourceType, maxActivityKind}, {&e.RequestID, maxActivityRequest}, {&e.SourceAddress, maxActivitySource}} {
		if *f.p != nil {
			v := clip(**f.p, f.n)
			*f.p = &v
		}
	}
	return nil
}

// clip makes s valid UTF-8 without NUL (PostgreSQL refuses both) of at most n characters.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ActivityPosition is an entry's place in its organization's log, newest first: by CreatedAt, then
// by ID for entries of the same instant.
type ActivityPosition struct {
	CreatedAt time.Time
	ID        string
}

// ActivityFilter selects entries of one organization's log. Empty strings match any value.
type ActivityFilter struct {
	OrganizationID string
	Category       string
	Action         string
	Status         string
	ResourceType   string
	Since          *time.Time        // entries created at or after Since
	After          *ActivityPosition // entries older than this position (the previous page's last)
	Now            time.Time         // entries expired at Now are never returned
	Limit          int
}

// ActivityLogs lists the entries of f, newest first, at most f.Limit. The page is found by keyset
// (organization_id, created_at, id) on its index, so a page deep in the log costs what the first
// does, and entries written meanwhile (newer than the position) never shift a later page.
func (s *Store) ActivityLogs(ctx context.Context, f ActivityFilter) ([]ActivityLog, error) {
	q := s.db.WithContext(ctx).Where("organization_id = ? AND expires_at > ?", f.OrganizationID, f.Now.UTC())
	for _, c := range []struct{ col, v string }{
		{"category", f.Category}, {"action", f.Action}, {"status", f.Status}, {"resource_type", f.ResourceType},
	} {
		if c.v != "" {
			q = q.Where(c.col+" = ?", c.v)
		}
	}
	if f.Since != nil {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if f.After != nil {
		q = q.Where("(created_at, id) < (?, ?)", f.After.CreatedAt.UTC(), f.After.ID)
	}
	out := make([]ActivityLog, 0, f.Limit)
	err := q.Order("created_at DESC, id DESC").Limit(f.Limit).Find(&out).Error
	return out, wrap("list activity", err)
}

// PruneActivityLogs deletes at most limit entries expired at now and returns how many it deleted.
// On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so instances pruning at once take
// different rows instead of waiting on each other.
func (s *Store) PruneActivityLogs(ctx context.Context, now time.Time, limit int) (int64, error) {
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	res := s.db.WithContext(ctx).Exec("DELETE FROM activity_logs WHERE id IN (SELECT id FROM activity_logs WHERE expires_at <= ? LIMIT ?"+lock+")", now.UTC(), limit)
	return res.RowsAffected, wrap("prune activity", res.Error)
}

// ProductionPlan is the plan of the organization's production project; ErrNotFound when the
// organization has none.
func (s *Store) ProductionPlan(ctx context.Context, orgID string) (string, error) {
	var plan string
	err := s.db.WithContext(ctx).Model(&Project{}).Select("plan").
		Where("organization_id = ? AND environment = ?", orgID, EnvironmentProduction).Take(&plan).Error
	return plan, wrap("production plan", err)
}
