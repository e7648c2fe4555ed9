// Package account holds the flows of PinBridge accounts: registration, login, password recovery
// and change, email verification and change, API keys, projects and the profile. Each flow is one
// method with plain Go inputs and outputs; it owns its transaction, its one-time tokens and the mail
// it queues. Failures a caller can act on are the sentinel errors of errors.go; anything else is
// unexpected. The package knows nothing of HTTP or of the API's generated types.
package account

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pinbridge/pinbridge-auth/config"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/session"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Settings are the links and lifetimes of one-time tokens.
type Settings struct {
	PublicURL        string // base of the links in emails, without a trailing slash
	PasswordResetTTL time.Duration
	EmailVerifyTTL   time.Duration
	EmailChangeTTL   time.Duration
	EmailRevertTTL   time.Duration
	// ReauthWindow is how long after proving the password a session may change the email alone.
	ReauthWindow time.Duration
	// CursorKey authenticates the activity log's page cursors (CursorKey derives it from the JWT
	// secret, so all instances share it); empty: a random key, good for this process only.
	CursorKey []byte
}

// SettingsFrom reads the Settings of the configuration.
func SettingsFrom(cfg config.Config) Settings {
	return Settings{
		PublicURL: cfg.Mail.PublicURL, PasswordResetTTL: cfg.Tokens.PasswordResetTTL,
		EmailVerifyTTL: cfg.Tokens.EmailVerifyTTL, EmailChangeTTL: cfg.Tokens.EmailChangeTTL,
		EmailRevertTTL: cfg.Tokens.EmailRevertTTL, ReauthWindow: cfg.Auth.ReauthWindow,
		CursorKey: CursorKey(cfg.Auth.JWTSecret.Reveal()),
	}
}

// Mailer is told when mail was queued, so it delivers without waiting for its next poll.
type Mailer interface{ Wake() }

// Deps are the parts a Service works with; main builds them (tests build their own).
type Deps struct {
	Store    *store.Store
	Hasher   *password.Pool
	Sessions *session.Manager
	Mailer   Mailer
	Settings Settings
	Log      *slog.Logger     // nil: discard
	Now      func() time.Time // nil: time.Now; truncated to what the store keeps
}

// Service runs the account flows.
type Service struct {
	store    *store.Store
	hasher   *password.Pool
	sessions *session.Manager
	mailer   Mailer
	settings Settings
	log      *slog.Logger
	now      func() time.Time
	cursors  cursors

	jobs   chan struct{}
	jobsWG sync.WaitGroup
}

// New builds a Service over its parts.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store: d.Store, hasher: d.Hasher, sessions: d.Sessions, mailer: d.Mailer, settings: d.Settings,
		log: log, now: store.Clock(d.Now), cursors: newCursors(d.Settings.CursorKey), jobs: make(chan struct{}, 64),
	}
}

// Close waits for the flows still running off the request path (forgot-password, the activity-log
// entries of failed password checks).
func (s *Service) Close() { s.jobsWG.Wait() }

// Wait waits for the flows started off the request path so far (tests: their effects are then
// visible); the Service stays usable.
func (s *Service) Wait() { s.jobsWG.Wait() }

// background runs fn off the request path, bounded, with its own deadline; Close waits for it.
func (s *Service) background(name string, fn func(ctx context.Context) error) {
	s.jobs <- struct{}{}
	s.run(name, fn)
}

// backgroundWithin is background for a request: it waits for a free slot no longer than ctx lasts,
// and reports whether fn was started.
func (s *Service) backgroundWithin(ctx context.Context, name string, fn func(ctx context.Context) error) bool {
	select {
	case s.jobs <- struct{}{}: // a free slot wins even over a request already out of time
	default:
		select {
		case s.jobs <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	s.run(name, fn)
	return true
}

// run starts fn in the slot taken.
func (s *Service) run(name string, fn func(ctx context.Context) error) {
	s.jobsWG.Add(1)
	go func() {
		defer func() { <-s.jobs; s.jobsWG.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := fn(ctx); err != nil {
			s.log.Error("background job failed", slog.String("job", name), slog.String("error", err.Error()))
		}
	}()
}

// Caller is who asks for a flow on their own account: a user in a session on one project of
// their organization.
type Caller struct {
	Account store.Account
	Project store.Project // the session's active project
	Origin                // the request: its id and the client's address
	// Authenticated is when the caller last proved their password (the session's auth_time).
	Authenticated time.Time
}

func (c Caller) user() store.User { return c.Account.User }

// scope is the caller's current organization, where the events of their requests go.
func (c Caller) scope() scope { return scopeOf(c.Account) }

// actor is the caller as the activity log shows them.
func (c Caller) actor() actor { return userActor(c.user()) }

// Role is the caller's role in their current organization.
func (c Caller) Role() Role           { return Role(c.Account.Role) }
func (c Caller) organization() string { return c.Account.Organization.ID }

// holdSession keeps the caller's session from ending until tx ends (it locks their user row as an
// update does, which ending sessions must wait for; the caller's own concurrent writes queue behind
// it) and refuses one that ended while the request ran (ErrSessionEnded): a write the session makes
// in tx commits before a revert, reset or password change (which then undoes or outlives it) or not
// at all.
func holdSession(ctx context.Context, tx *store.Store, c Caller) error {
	return holdVersion(ctx, tx, c.user().ID, c.user().SessionVersion)
}

// holdVersion is holdSession for sessions of the user at version: ErrSessionEnded when the user's
// version is another (their sessions ended after it was read) or the user is gone.
func holdVersion(ctx context.Context, tx *store.Store, userID string, version int64) error {
	u, err := tx.UserByIDLocked(ctx, userID)
	if err != nil {
		return notFoundAs(err, ErrSessionEnded)
	}
	if u.SessionVersion != version {
		return ErrSessionEnded
	}
	return nil
}

// txAs runs fn in a transaction of the caller's session: holdSession first, then fn.
func (s *Service) txAs(ctx context.Context, c Caller, fn func(tx *store.Store) error) error {
	return s.store.Tx(ctx, func(tx *store.Store) error {
		if err := holdSession(ctx, tx, c); err != nil {
			return err
		}
		return fn(tx)
	})
}

// holdCaller keeps, until tx ends, what the caller's request stands on: their session (holdSession)
// and their membership (a shared lock of the organization, which removing a member takes
// exclusively), in that order, the order those endings take them. It refuses a caller whose
// sessions ended (ErrSessionEnded) or who was removed (ErrNotAMember) while the request ran. What tx then creates was made either before such an ending,
// which undoes it, or not at all: a request in flight cannot outlive a revert or a removal. With
// exclusive, the organization is locked exclusively (one team change at a time).
func holdCaller(ctx context.Context, tx *store.Store, c Caller, exclusive bool) error {
	if err := holdSession(ctx, tx, c); err != nil {
		return err
	}
	lock := tx.LockOrganizationShared
	if exclusive {
		lock = tx.LockOrganization
	}
	if err := lock(ctx, c.organization()); err != nil {
		return err
	}
	if _, err := tx.MemberRole(ctx, c.organization(), c.user().ID); err != nil {
		return notFoundAs(err, ErrNotAMember)
	}
	return nil
}

// Session is an opened session: the account, its active project and the token that carries them.
type Session struct {
	Account store.Account
	Project store.Project
	Token   string
	TTL     time.Duration
}

// open issues a session token for account on project, carrying the user's session version as
// account holds it; the user proved their password at authTime (zero: now).
func (s *Service) open(account store.Account, project store.Project, authTime time.Time) (Session, error) {
	token, err := s.sessions.IssueAuthenticated(account.User.ID, account.Organization.ID, project.ID, account.User.SessionVersion, authTime)
	if err != nil {
		return Session{}, err
	}
	return Session{Account: account, Project: project, Token: token, TTL: s.sessions.Lifetime(authTime)}, nil
}
