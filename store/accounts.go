package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
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

// Account loads a user with their organization and its projects (production first); ErrNotFound
// when any of them is gone.
func (s *Store) Account(ctx context.Context, userID string) (Account, error) {
	var a Account
	db := s.db.WithContext(ctx)
	if err := db.Where("id = ?", userID).Take(&a.User).Error; err != nil {
		return Account{}, wrap("account user", err)
	}
	if err := db.Where("id = ?", a.User.OrganizationID).Take(&a.Organization).Error; err != nil {
		return Account{}, wrap("account organization", err)
	}
	if err := db.Where("organization_id = ?", a.User.OrganizationID).
		Order("CASE WHEN environment = 'production' THEN 0 ELSE 1 END, created_at").
		Find(&a.Projects).Error; err != nil {
		return Account{}, wrap("account projects", err)
	}
	if len(a.Projects) == 0 {
		return Account{}, fmt.Errorf("account projects: %w", ErrNotFound)
	}
	return a, nil
}

// SetPasswordHash replaces a user's password hash without ending sessions (used to upgrade the
// hash parameters on login); ErrNotFound when the user is gone.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).
		Updates(map[string]any{"password_hash": hash, "updated_at": now.UTC()})
	if res.Error != nil {
		return wrap("set password hash", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set password hash: %w", ErrNotFound)
	}
	return nil
}

// SetTimezone records a user's time zone; ErrNotFound when the user is gone.
func (s *Store) SetTimezone(ctx context.Context, userID, tz string, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID).
		Updates(map[string]any{"timezone": tz, "updated_at": now.UTC()})
	if res.Error != nil {
		return wrap("set timezone", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set timezone: %w", ErrNotFound)
	}
	return nil
}
