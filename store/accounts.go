package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/pinbridge/pinbridge-auth/internal/emailaddr"
)

// NewID returns a fresh identifier: a UUIDv7, so new rows land at the end of primary-key indexes.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// EmailKey is the form of an email that uniqueness and lookups use: one account per mailbox,
// whatever its letter case or lookalike spelling (emailaddr.Key).
func EmailKey(email string) string { return emailaddr.Key(email) }

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

// Account is a user in one of their organizations (the current one): their role there and its
// projects, production first; Organizations lists every organization of the user, the current one
// included, each with the user's role and its projects.
type Account struct {
	User          User
	Organization  Organization
	Role          string
	Projects      []Project
	Organizations []OrganizationAccess
	// AccessVersion is the user's access version that Organizations were read at, when Versioned
	// (AccountSummary): a later read that returns the same version returns
	// the same organizations, roles and projects (migration 0050).
	AccessVersion int64
	Versioned     bool
}

// OrganizationAccess is one organization of a user, with their role and its projects.
type OrganizationAccess struct {
	Organization Organization
	Role         string
	Projects     []Project
}

// In returns the account with orgID as its current organization, or false when the user is not
// a member of it.
func (a Account) In(orgID string) (Account, bool) {
	for _, o := range a.Organizations {
		if o.Organization.ID == orgID {
			a.Organization, a.Role, a.Projects = o.Organization, o.Role, o.Projects
			return a, true
		}
	}
	return Account{}, false
}

// WithProject returns the account whose current organization owns the project, with that
// project, or false when no organization of the user owns it.
func (a Account) WithProject(projectID string) (Account, Project, bool) {
	for _, o := range a.Organizations {
		for _, p := range o.Projects {
			if p.ID == projectID {
				b, _ := a.In(o.Organization.ID)
				return b, p, true
			}
		}
	}
	return Account{}, Project{}, false
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
	p, _ := Production(a.Projects)
	return p
}

// Production finds the production project among an organization's projects; false when there is
// none.
func Production(projects []Project) (Project, bool) {
	for _, p := range projects {
		if p.Environment == EnvironmentProduction {
			return p, true
		}
	}
	return Project{}, false
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
	member := Membership{ID: NewID(), OrganizationID: org.ID, UserID: user.ID, Role: RoleOwner, AcceptedAt: &now, CreatedAt: now, UpdatedAt: now}
	err := s.joinTx(ctx, func(tx *Store) error {
		if held, err := tx.AddressHeld(ctx, user.Email, now); err != nil || held {
			if err == nil {
				err = fmt.Errorf("create account: the address may be taken back by its former account: %w", ErrConflict)
			}
			return err
		}
		if err := tx.db.Create(&org).Error; err != nil {
			return wrap("create organization", err)
		}
		if err := tx.db.Create(&user).Error; err != nil {
			return wrap("create user", err)
		}
		if err := tx.db.Create(&project).Error; err != nil {
			return wrap("create project", err)
		}
		return wrap("create membership", tx.db.Create(&member).Error)
	})
	if err != nil {
		return Account{}, err
	}
	projects := []Project{project}
	return Account{User: user, Organization: org, Role: RoleOwner, Projects: projects,
		Organizations: []OrganizationAccess{{Organization: org, Role: RoleOwner, Projects: projects}}}, nil
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

// Account loads a user with every organization they belong to, their role in each and its projects,
// in one query: authentication runs it on every session request, so a removed membership or a
// changed role counts from the very next request. The current organization is orgID; with orgID
// empty, it is the organization of the user's most recently active project, else the one made at
// registration. ErrNotFound when the user is gone or is not a member of orgID.
func (s *Store) Account(ctx context.Context, userID, orgID string) (Account, error) {
	return s.account(ctx, accountJoin(), userID, orgID)
}

// AccountSummary is Account with only what a session's view of it shows (GET /v1/auth/me) and what
// authenticating the session checks: of the user, their id, organization, email, name, time zone,
// verification time, session version, active project and creation time; of each organization, its
// id and name and the user's role; of each project, every field but UpdatedAt. Every other field is
// zero: in particular the password hash, the pending email change and the billing profile. Fewer
// columns, each repeated on every row of the join, make the read of every `me` cheaper on both sides.
//
// The organizations of a summary are remembered (per process, for summaryMemory users) with the
// user's access version read in the same statement, which the database bumps in the transaction of
// every change to them (migration 0050). While the user's version is still that one, their summary
// is their row, read on every call, with the organizations remembered: two primary-key reads in
// one statement instead of the join, and nothing a session's authentication checks is older than
// the call (the session version, the email, the memberships and roles as of the version read). The
// organizations are shared between calls: read them, never change them.
func (s *Store) AccountSummary(ctx context.Context, userID, orgID string) (Account, error) {
	if known, ok := s.memorySummary(userID); ok {
		row, found, err := firstRow[summaryUserRow](ctx, s, summaryUserRead(), userID)
		if err != nil {
			return Account{}, wrap("account", err)
		}
		if !found {
			s.summaries.Remove(userID)
			return Account{}, fmt.Errorf("account: %w", ErrNotFound)
		}
		if row.Version.Version == known.version {
			return current(Account{User: row.User, Organizations: known.organizations, AccessVersion: known.version, Versioned: true}, orgID)
		}
	}
	a, version, err := s.accountRows(ctx, accountSummaryJoin(), userID)
	if err != nil {
		return Account{}, err
	}
	if s.summaries != nil && len(a.Organizations) <= summaryMaxOrganizations {
		s.summaries.Add(userID, summary{version: version, organizations: clipped(a.Organizations)})
	}
	a.AccessVersion, a.Versioned = version, true
	return current(a, orgID)
}

// memorySummary is what is remembered of userID's organizations; none in a transaction, which
// reads afresh what it may itself be changing.
func (s *Store) memorySummary(userID string) (summary, bool) {
	if s.summaries == nil {
		return summary{}, false
	}
	return s.summaries.Get(userID)
}

// summaryMemory is how many users' organizations AccountSummary remembers, each of at most
// summaryMaxOrganizations organizations (with two projects each, at most about 100 KB; a few hundred
// bytes for most); beyond, the least recently used are forgotten.
const (
	summaryMemory           = 4096
	summaryMaxOrganizations = 64
)

// summary is what AccountSummary remembers of a user: their organizations, as of an access version.
type summary struct {
	version       int64
	organizations []OrganizationAccess
}

// clipped is orgs with no room to grow in it or its projects, so that an append to what is
// remembered makes a copy rather than writing where other requests read.
func clipped(orgs []OrganizationAccess) []OrganizationAccess {
	for i := range orgs {
		orgs[i].Projects = slices.Clip(orgs[i].Projects)
	}
	return slices.Clip(orgs)
}

// newMemory is a least-recently-used memory of size entries.
func newMemory[V any](size int) *lru.Cache[string, V] {
	c, err := lru.New[string, V](size)
	if err != nil {
		panic(err) // only for a size below one
	}
	return c
}

// summaryUserRow is the row of summaryUserRead.
type summaryUserRow struct {
	User    User
	Version AccessVersion
}

// summaryUserColumns are the user's columns of a summary: what a session's view shows and what
// authenticating it checks.
var summaryUserColumns = []string{"id", "organization_id", "email", "full_name", "timezone",
	"email_verified_at", "session_version", "active_project_id", "created_at"}

// summaryUserRead reads the user's columns of a summary and their access version by primary key.
var summaryUserRead = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[summaryUserRow]("FROM users u LEFT JOIN access_versions v ON v.user_id = u.id WHERE u.id = ?",
		joined{field: "User", alias: "u", once: true, only: summaryUserColumns},
		joined{field: "Version", alias: "v", once: true, outer: true, only: []string{"version"}})
})

func (s *Store) account(ctx context.Context, plan *joinPlan, userID, orgID string) (Account, error) {
	a, _, err := s.accountRows(ctx, plan, userID)
	if err != nil {
		return Account{}, err
	}
	return current(a, orgID)
}

// accountRows reads a user's every organization with plan, and the user's access version when plan
// reads it (0 otherwise); ErrNotFound when the user is gone or belongs to none.
func (s *Store) accountRows(ctx context.Context, plan *joinPlan, userID string) (Account, int64, error) {
	var a Account
	var version int64
	err := scanJoin(ctx, s, plan, userID, func(rows []accountRow) error {
		if len(rows) == 0 {
			return nil
		}
		a = Account{User: rows[0].User, Organizations: make([]OrganizationAccess, 0, 1)} // a once model
		version = rows[0].Version.Version
		ordered := make([]*accountRow, len(rows))
		for i := range rows {
			ordered[i] = &rows[i]
		}
		slices.SortFunc(ordered, compareAccountRows)
		for _, row := range ordered {
			n := len(a.Organizations)
			if n == 0 || a.Organizations[n-1].Organization.ID != row.Organization.ID {
				a.Organizations = append(a.Organizations, OrganizationAccess{Organization: row.Organization, Role: row.Membership.Role, Projects: make([]Project, 0, 2)})
				n++
			}
			a.Organizations[n-1].Projects = append(a.Organizations[n-1].Projects, row.Project)
		}
		return nil
	})
	if err != nil {
		return Account{}, 0, wrap("account", err)
	}
	if a.Organizations == nil {
		return Account{}, 0, fmt.Errorf("account: %w", ErrNotFound)
	}
	return a, version, nil
}

// current is a in orgID; with orgID empty, in the organization of the user's most recently active
// project, else the one made at registration. ErrNotFound when the user is not a member of orgID.
func current(a Account, orgID string) (Account, error) {
	if orgID == "" {
		orgID = a.User.OrganizationID
		if a.User.ActiveProjectID != nil {
			if b, _, ok := a.WithProject(*a.User.ActiveProjectID); ok {
				orgID = b.Organization.ID
			}
		}
		if _, ok := a.In(orgID); !ok {
			orgID = a.Organizations[0].Organization.ID
		}
	}
	current, ok := a.In(orgID)
	if !ok {
		return Account{}, fmt.Errorf("account: not a member of the organization: %w", ErrNotFound)
	}
	return current, nil
}

// accountRow is one row of accountJoin: the user repeats for each membership, and the membership
// and organization for each project. Version, the user's access version, is read by the summary's
// join only.
type accountRow struct {
	User         User
	Membership   Membership
	Organization Organization
	Project      Project
	Version      AccessVersion
}

// accountJoinRest is the join of Account and AccountSummary. Its few rows are put in order by
// compareAccountRows rather than by PostgreSQL, which would sort the whole wide rows first.
const accountJoinRest = "FROM users u JOIN memberships m ON m.user_id = u.id" +
	" JOIN organizations o ON o.id = m.organization_id" +
	" JOIN projects p ON p.organization_id = m.organization_id" +
	" WHERE u.id = ?"

// compareAccountRows orders the rows of the account join: organizations in the order the user
// joined them, and within each, production first, then by creation.
func compareAccountRows(a, b *accountRow) int {
	return cmp.Or(a.Membership.CreatedAt.Compare(b.Membership.CreatedAt),
		cmp.Compare(a.Organization.ID, b.Organization.ID),
		cmp.Compare(productionFirst(a.Project), productionFirst(b.Project)),
		a.Project.CreatedAt.Compare(b.Project.CreatedAt),
		cmp.Compare(a.Project.ID, b.Project.ID))
}

func productionFirst(p Project) int {
	if p.Environment == EnvironmentProduction {
		return 0
	}
	return 1
}

// accountJoin joins a user's memberships, organizations and projects: organizations in the order
// the user joined them, production first within each.
var accountJoin = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[accountRow](accountJoinRest,
		joined{field: "User", alias: "u", once: true}, joined{field: "Membership", alias: "m"},
		joined{field: "Organization", alias: "o"}, joined{field: "Project", alias: "p"})
})

// accountSummaryJoin is accountJoin reading only the columns of AccountSummary, and the user's
// access version.
var accountSummaryJoin = sync.OnceValue(func() *joinPlan {
	return newJoinPlan[accountRow](strings.Replace(accountJoinRest, "FROM users u", "FROM users u LEFT JOIN access_versions v ON v.user_id = u.id", 1),
		joined{field: "User", alias: "u", once: true, only: summaryUserColumns},
		joined{field: "Version", alias: "v", once: true, outer: true, only: []string{"version"}},
		joined{field: "Membership", alias: "m", only: []string{"role", "created_at"}},
		joined{field: "Organization", alias: "o", only: []string{"id", "name"}},
		joined{field: "Project", alias: "p", only: []string{"id", "organization_id", "name", "environment", "plan", "timezone", "created_at"}})
})

// updateUser applies updates (updated_at included) to one user, when its row also matches cond (a
// where clause and its arguments) if one is given; ErrNotFound when no row matches (the user is
// gone, or cond no longer holds).
func (s *Store) updateUser(ctx context.Context, op, userID string, updates map[string]any, cond ...any) error {
	q := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", userID)
	if len(cond) > 0 {
		q = q.Where(cond[0], cond[1:]...)
	}
	res := q.Updates(updates)
	if res.Error != nil {
		return wrap(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// SetPasswordHash replaces a user's password hash without ending sessions (a revert makes the
// password unusable with it, beside ending them itself); ErrNotFound when the user is gone.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string, now time.Time) error {
	return s.updateUser(ctx, "set password hash", userID, map[string]any{"password_hash": hash, "updated_at": now.UTC()})
}

// UpgradePasswordHash replaces a user's password hash with hash, a new hash of the same password,
// only while the stored hash is still old (the one the password was checked against); sessions go
// on. ErrNotFound when the user is gone or their password was set anew meanwhile.
func (s *Store) UpgradePasswordHash(ctx context.Context, userID, old, hash string, now time.Time) error {
	return s.updateUser(ctx, "upgrade password hash", userID, map[string]any{"password_hash": hash, "updated_at": now.UTC()},
		"password_hash = ?", old)
}

// lockUserRow is the lock a transaction takes on a user's row before acting for that user: the
// lock of an update (FOR NO KEY UPDATE, on PostgreSQL), held until the transaction ends. Two
// transactions for the same user queue one after the other instead of both holding a shared lock
// and then deadlocking when each updates the row; whatever ends the user's sessions (it updates the
// row) waits for the transaction, or the transaction waits for it and reads what it wrote.
var lockUserRow = clause.Locking{Strength: "NO KEY UPDATE"}

// UserByIDLocked reads a user under lockUserRow; ErrNotFound when there is none.
func (s *Store) UserByIDLocked(ctx context.Context, id string) (User, error) {
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if s.postgres {
		q = q.Clauses(lockUserRow)
	}
	var u User
	return u, wrap("user by id", q.Take(&u).Error)
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
