package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// NewID returns a fresh identifier: a UUIDv7, so new rows land at the end of primary-key indexes.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// EmailKey is the form of an email that uniqueness and lookups use: one account per address,
// whatever its letter case.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// NewAccount is what registration stores.
type NewAccount struct {
	Email                string
	FullName             string
	Timezone             string
	PasswordHash         string
	OrganizationName     string
	ProjectName          string
	MarketingAttribution *string
	Now                  time.Time
}

// Account is a user with their organization and projects.
type Account struct {
	User         User
	Organization Organization
	Projects     []Project
}

// Project returns the account's project with the given id, or false.
func (a Account) Project(id string) (Project, bool) {
	for _, p := range a.Projects {
		if p.ID == id {
			return p, true
		}
	}
	return Project{}, false
}

// Production returns the account's production project.
func (a Account) Production() Project {
	for _, p := range a.Projects {
		if p.Environment == EnvironmentProduction {
			return p
		}
	}
	return Project{}
}

// CreateAccount stores a user, their organization and its production project in one transaction.
// ErrConflict when the email (in any letter case) is already registered.
func (s *Store) CreateAccount(ctx context.Context, in NewAccount) (Account, error) {
	now := in.Now.UTC()
	org := Organization{ID: NewID(), Name: in.OrganizationName, CreatedAt: now, UpdatedAt: now}
	user := User{
		ID:                   NewID(),
		OrganizationID:       org.ID,
		Email:                strings.TrimSpace(in.Email),
		EmailKey:             EmailKey(in.Email),
		FullName:             in.FullName,
		Timezone:             in.Timezone,
		PasswordHash:         in.PasswordHash,
		SessionsValidAfter:   now,
		MarketingAttribution: in.MarketingAttribution,
		CreatedAt:            now,
		UpdatedAt:            now,
	}
	project := Project{
		ID:             NewID(),
		OrganizationID: org.ID,
		Name:           in.ProjectName,
		Environment:    EnvironmentProduction,
		Plan:           PlanFree,
		Timezone:       in.Timezone,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	err := s.Tx(ctx, func(tx *Store) error {
		if err := tx.db.Create(&org).Error; err != nil {
			return wrap("create organization", err)
		}
		if err := tx.db.Create(&user).Error; err != nil {
			return wrap("create user", err)
		}
		if err := tx.db.Create(&project).Error; err != nil {
			return wrap("create project", err)
		}
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return Account{User: user, Organization: org, Projects: []Project{project}}, nil
}

// UserByEmail finds a user by email in any letter case; ErrNotFound when there is none.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("email_key = ?", EmailKey(email)).Take(&u).Error
	return u, wrap("user by email", err)
}

// UserByID finds a user; ErrNotFound when there is none.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	return u, wrap("user by id", err)
}

// Account loads a user with their organization and its projects (production first) in one query:
// authentication runs it on every session request. ErrNotFound when any of them is gone.
func (s *Store) Account(ctx context.Context, userID string) (Account, error) {
	var a Account
	err := scanJoin(ctx, s, accountJoin(), userID, func(row *accountRow) {
		if a.Projects == nil {
			a = Account{User: row.User, Organization: row.Organization, Projects: make([]Project, 0, 2)}
		}
		a.Projects = append(a.Projects, row.Project)
	})
	if err != nil {
		return Account{}, wrap("account", err)
	}
	if a.Projects == nil {
		return Account{}, fmt.Errorf("account: %w", ErrNotFound)
	}
	return a, nil
}

// accountRow is one row of accountJoin: the user and organization repeat for each project.
type accountRow struct {
	User         User
	Organization Organization
	Project      Project
}

// accountJoin joins users, organizations and projects, production first.
var accountJoin = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[accountRow]("FROM users u JOIN organizations o ON o.id = u.organization_id"+
		" JOIN projects p ON p.organization_id = u.organization_id"+
		" WHERE u.id = ? ORDER BY CASE WHEN p.environment = 'production' THEN 0 ELSE 1 END, p.created_at",
		joined{field: "User", alias: "u"}, joined{field: "Organization", alias: "o"}, joined{field: "Project", alias: "p"})
})

// updateUser applies updates (updated_at included) to one user; ErrNotFound when the user is gone.
func (s *Store) updateUser(ctx context.Context, op, userID string, updates map[string]any) error {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).Updates(updates)
	if res.Error != nil {
		return wrap(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// SetPasswordHash replaces a user's password hash without ending sessions (used to upgrade the
// hash parameters on login); ErrNotFound when the user is gone.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	return s.updateUser(ctx, "set password hash", userID, map[string]any{"password_hash": hash, "updated_at": now.UTC()})
}

// SetTimezone records a user's time zone; ErrNotFound when the user is gone.
func (s *Store) SetTimezone(ctx context.Context, userID, tz string, now time.Time) error {
	return s.updateUser(ctx, "set timezone", userID, map[string]any{"timezone": tz, "updated_at": now.UTC()})
}

// SetPassword replaces the password hash and, in the same statement, ends every session of the
// user (as EndSessions does); with verifyEmail it also marks the email verified (a reset link
// proves the address). It returns the user's new session version, the one a session opened after
// the change carries. ErrNotFound when the user is gone.
func (s *Store) SetPassword(ctx context.Context, userID, hash string, now time.Time, verifyEmail bool) (int64, error) {
	now = now.UTC()
	version, err := s.endSessions(ctx, "set password", userID, now, map[string]any{"password_hash": hash})
	if err != nil {
		return 0, err
	}
	if verifyEmail {
		if err := s.MarkEmailVerified(ctx, userID, now); err != nil {
			return 0, err
		}
	}
	return version, nil
}

// EndSessions ends every session of the user: it increments the user's session version, which
// session tokens carry and authentication compares on every request, so each token issued before
// is refused from the next request on, even within the same second. sessions_valid_after records
// when. It returns the new version; ErrNotFound when the user is gone.
func (s *Store) EndSessions(ctx context.Context, userID string, now time.Time) (int64, error) {
	return s.endSessions(ctx, "end sessions", userID, now.UTC(), map[string]any{})
}

// endSessions applies updates to one user together with the end of their sessions, in one
// statement that returns the new session version: concurrent calls each get their own version.
func (s *Store) endSessions(ctx context.Context, op, userID string, now time.Time, updates map[string]any) (int64, error) {
	updates["session_version"] = gorm.Expr("session_version + 1")
	updates["sessions_valid_after"] = now
	updates["updated_at"] = now
	var u User
	res := s.db.WithContext(ctx).Model(&u).Clauses(clause.Returning{Columns: []clause.Column{{Name: "session_version"}}}).
		Where("id = ?", userID).Updates(updates)
	if res.Error != nil {
		return 0, wrap(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return 0, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return u.SessionVersion, nil
}

// MarkEmailVerified records that the user proved their address (the first time only).
func (s *Store) MarkEmailVerified(ctx context.Context, userID string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND email_verified_at IS NULL", userID).
		Updates(map[string]any{"email_verified_at": now.UTC(), "updated_at": now.UTC()}).Error
	return wrap("mark email verified", err)
}

// SetPendingEmail records (or clears, with nil) the address an email change waits to confirm;
// ErrNotFound when the user is gone.
func (s *Store) SetPendingEmail(ctx context.Context, userID string, email *string, now time.Time) error {
	var at *time.Time
	if email != nil {
		n := now.UTC()
		at = &n
	}
	return s.updateUser(ctx, "set pending email", userID, map[string]any{"pending_email": email, "pending_email_at": at, "updated_at": now.UTC()})
}

// ChangeEmail makes email the user's address, verified, and clears the pending change.
// ErrConflict when another account has it; ErrNotFound when the user is gone.
func (s *Store) ChangeEmail(ctx context.Context, userID, email string, now time.Time) error {
	now = now.UTC()
	return s.updateUser(ctx, "change email", userID, map[string]any{
		"email": email, "email_key": EmailKey(email), "email_verified_at": now,
		"pending_email": nil, "pending_email_at": nil, "updated_at": now,
	})
}
