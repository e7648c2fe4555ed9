package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pinbridge/pinbridge-auth/internal/emailaddr"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/internal/otp"
	pw "github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Registration is what a new user sends.
type Registration struct {
	Email    string
	FullName string
	Password string
	// WorkspaceName names the organization and its production project; nil derives it from FullName.
	WorkspaceName *string
	Timezone      *string // IANA name; nil is UTC
	// MarketingAttribution is kept as sent (JSON-encoded); empty is not stored.
	MarketingAttribution map[string]*string
	// InviteToken, when set, accepts that invitation in the same transaction; the session is then
	// in the organization joined.
	InviteToken *string
	Origin      Origin
}

// Register creates the user, their organization and its production project in one transaction and
// opens a session on that project. ErrAccountExists when the email is registered in any letter
// case; a *FieldError for a bad time zone or a guessable password (checked before any hashing).
func (s *Service) Register(ctx context.Context, r Registration) (Session, error) {
	email, err := emailaddr.Canonical(r.Email)
	if err != nil {
		return Session{}, invalid("email", err.Error())
	}
	fullName := strings.TrimSpace(r.FullName)
	tz, err := timezoneOrUTC(r.Timezone)
	if err != nil {
		return Session{}, err
	}
	if err := checkPasswordStrength("password", r.Password, email); err != nil {
		return Session{}, err
	}
	workspace := derivedWorkspaceName(fullName)
	if r.WorkspaceName != nil {
		workspace = strings.TrimSpace(*r.WorkspaceName)
	}
	attribution, err := encodeAttribution(r.MarketingAttribution)
	if err != nil {
		return Session{}, err
	}
	if r.InviteToken != nil {
		// Checked before the hash: a bad invitation fails the whole call and creates nothing.
		if err := s.checkInvitation(ctx, *r.InviteToken, email); err != nil {
			return Session{}, err
		}
	}
	hash, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return Session{}, fmt.Errorf("hash password: %w", err)
	}
	var account store.Account
	var joined string
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		var err error
		account, err = tx.CreateAccount(ctx, store.NewAccount{
			Email: email, FullName: fullName, Timezone: tz, PasswordHash: hash,
			OrganizationName: workspace, ProjectName: workspace, MarketingAttribution: attribution, Now: s.now(),
		})
		if err != nil {
			return err
		}
		err = s.record(ctx, tx, event{action: ActionRegister, scope: scopeOf(account), actor: userActor(account.User),
			resourceType: ResourceUser, resourceID: account.User.ID, origin: r.Origin})
		if err != nil || r.InviteToken == nil {
			return err
		}
		joined, err = s.accept(ctx, tx, account.User, *r.InviteToken, r.Origin)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return Session{}, ErrAccountExists
	}
	if err != nil {
		return Session{}, err
	}
	if joined != "" {
		return s.sessionIn(ctx, account.User.ID, joined, account.User.SessionVersion, time.Time{})
	}
	return s.open(account, account.Production(), time.Time{})
}

// checkInvitation refuses an invitation token that is not a pending invitation for email.
func (s *Service) checkInvitation(ctx context.Context, token, email string) error {
	inv, err := s.store.InvitationByToken(ctx, otp.Hash(token))
	if err != nil {
		return notFoundAs(err, ErrInvalidInvitation)
	}
	if s.status(inv) != InvitationPending {
		return ErrInvalidInvitation
	}
	if inv.EmailKey != store.EmailKey(email) {
		return ErrInvitationForAnother
	}
	return nil
}

// maxNameLength is what the name columns (organizations, projects, users) hold, in characters.
const maxNameLength = 255

// derivedWorkspaceName is "<full name>'s Workspace", the full name shortened so that the whole fits
// a name column.
func derivedWorkspaceName(fullName string) string {
	const suffix = "'s Workspace"
	if runes := []rune(fullName); len(runes) > maxNameLength-len(suffix) {
		fullName = strings.TrimSpace(string(runes[:maxNameLength-len(suffix)]))
	}
	return fullName + suffix
}

// Marketing attribution is kept as JSON in a column of maxAttributionLength characters; keys are
// names such as utm_source, at most maxAttributionKey characters.
const (
	maxAttributionLength = 16384
	maxAttributionKey    = 64
)

// encodeAttribution is the JSON kept for attribution (nil when there is none). A *FieldError for a
// key that is empty or too long, or when the whole does not fit its column.
func encodeAttribution(a map[string]*string) (*string, error) {
	if len(a) == 0 {
		return nil, nil
	}
	for k := range a {
		if n := utf8.RuneCountInString(k); n == 0 || n > maxAttributionKey {
			return nil, invalid("marketing_attribution", fmt.Sprintf("keys must be 1 to %d characters", maxAttributionKey))
		}
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, fmt.Errorf("encode marketing attribution: %w", err)
	}
	raw := strings.TrimSuffix(b.String(), "\n")
	if utf8.RuneCountInString(raw) > maxAttributionLength {
		return nil, invalid("marketing_attribution", fmt.Sprintf("must encode to at most %d characters of JSON", maxAttributionLength))
	}
	return &raw, nil
}

// Credentials are what a login sends.
type Credentials struct {
	Email    string
	Password string
	Timezone *string // when set, recorded as the user's time zone
	Origin           // the request: its id and the client's address
	// InviteToken, when set, accepts that invitation after the password check; the session is
	// then in the organization joined.
	InviteToken *string
}

// Failed logins are throttled per account and source address: after loginFreeFailures failures of
// one account from one address within loginForget, each further failure from that address doubles
// its wait, up to loginMaxBackoff. Another address is not slowed, so nobody can lock the owner out
// from a single address. Across every source, loginAccountCeiling failures within loginForget lock
// the account for loginMaxBackoff (it then takes many addresses, each slowed as above) and tell the
// owner by email. Nothing is permanent; a successful login clears the source's count, a password
// reset clears the account's.
const (
	loginFreeFailures   = 5
	loginForget         = time.Hour
	loginMaxBackoff     = 15 * time.Minute
	loginAccountCeiling = 200
)

func loginBackoff(failures int) time.Duration {
	if failures <= loginFreeFailures {
		return 0
	}
	d := time.Second << min(failures-loginFreeFailures-1, 20)
	return min(d, loginMaxBackoff)
}

func accountBackoff(failures int) time.Duration {
	if failures < loginAccountCeiling {
		return 0
	}
	return loginMaxBackoff
}

// throttle is where an account's failed logins are counted: for the account from one source
// (sliding: a success or an hour without failures clears it), and for the account across sources in
// fixed hourly windows (window, previous), so that keeping an account paused costs a fresh ceiling
// of failures every hour. The keys carry a hash of the email, never the address.
type throttle struct{ account, source, window, previous string }

func throttleOf(email, source string, now time.Time) throttle {
	sum := sha256.Sum256([]byte(store.EmailKey(email)))
	account := "acct:" + hex.EncodeToString(sum[:16])
	hour := now.Unix() / 3600
	return throttle{account: account, source: account + "|" + source,
		window: fmt.Sprintf("%s@%d", account, hour), previous: fmt.Sprintf("%s@%d", account, hour-1)}
}

// attempt checks a password against t's account under the account's backoffs. It claims the
// attempt first, from this source (loginBackoff) and then for the account across sources in its
// hourly window (accountBackoff): a *BackoffError while either must wait. The attempt counts as a
// failure under both before check runs, so attempts sent at once take turns as attempts one after
// another would: from one source the free failures, then one attempt per wait; for the account its
// ceiling of failures in the hour, then one attempt per pause, however many were in flight across
// sources and instances when the ceiling was reached (counted after the check, each of them was
// checked, again whenever a pause ended). check reports whether the password is right; a right
// one clears the source's count and gives the account's back, a wrong one stays counted under both
// (loginFailed), and one check could not answer (an error: the hashing pool full, the request's
// deadline) is given back under both. The pause the ceiling's claim starts lasts only if its
// password is wrong: given back, the claim ends it too.
func (s *Service) attempt(ctx context.Context, t throttle, check func() (bool, error)) (checked, error) {
	if s.hasher.Full() {
		// Shed at once, before anything is counted or written: a flood's excess costs no statement.
		return checked{}, fmt.Errorf("verify password: %w", pw.ErrBusy)
	}
	until, err := s.store.LoginLockedUntil(ctx, t.source, t.window, t.previous)
	if err != nil {
		return checked{}, err
	}
	if until.After(s.now()) {
		return checked{}, &BackoffError{Wait: until.Sub(s.now())}
	}
	if _, err := s.claimTurn(ctx, t.source, loginBackoff); err != nil {
		return checked{}, err
	}
	failures, err := s.claimTurn(ctx, t.window, accountBackoff)
	if err != nil {
		// The account waits: no password is checked, and the source's count is given back.
		s.giveBack(ctx, t.source, false)
		return checked{}, err
	}
	// The claim that reaches the ceiling (or, after a pause, goes past it) starts a pause at once,
	// while its password is checked; it stands only if the password is wrong (loginFailed).
	pauses := accountBackoff(failures) > 0
	unanswered := true // given back unless check answers: an error, or a panic on its way up
	defer func() {
		if unanswered {
			s.giveBack(ctx, t.source, false)
			s.giveBack(ctx, t.window, pauses)
		}
	}()
	ok, err := check()
	if err != nil {
		return checked{}, err
	}
	unanswered = false
	if !ok {
		return checked{failures: failures}, nil
	}
	// Written even when the request has ended meanwhile (its deadline, the client gone), waiting for
	// the database as long as a request may: a right password left counted would hold the next
	// attempts back.
	settle, cancel := settling(ctx)
	defer cancel()
	return checked{ok: true}, s.store.ClearLoginFailures(settle, t.source, t.window, pauses)
}

// checked is what attempt settled: whether the password was right and, when it was wrong, the
// account's failures in the window with this one (the failure that reaches the ceiling is the
// security event of loginFailed).
type checked struct {
	ok       bool
	failures int
}

// giveBack gives back the attempt counted under key (store.ReleaseLoginAttempt, ending the wait its
// claim started with endWait) whose password was not checked, even when the request has ended
// meanwhile; a failure to is logged.
func (s *Service) giveBack(ctx context.Context, key string, endWait bool) {
	settle, cancel := settling(ctx)
	defer cancel()
	if err := s.store.ReleaseLoginAttempt(settle, key, endWait); err != nil {
		s.log.Warn("give back a login attempt", slog.String("error", err.Error()))
	}
}

// settleTimeout bounds the writing of what a password check settled: the attempt cleared (a right
// password) or given back (never checked), the ceiling's notice.
const settleTimeout = 5 * time.Second

// settling is ctx without its end, bounded by settleTimeout: what a password check settled is
// written even when its request has ended meanwhile (its deadline, the client gone).
func settling(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

// claimTurn counts the attempt under key (ClaimLoginAttempt) and returns the count with it, or
// returns a *BackoffError while the key waits. A claim refused by a wait that has ended since (the
// claim's now was read before another attempt's) is tried again with a fresh now: an attempt goes
// on only counted.
func (s *Service) claimTurn(ctx context.Context, key string, backoff func(failures int) time.Duration) (int, error) {
	for range 3 {
		now := s.now()
		failures, until, err := s.store.ClaimLoginAttempt(ctx, key, now, loginForget, backoff)
		if err != nil || failures > 0 {
			return failures, err
		}
		if wait := until.Sub(s.now()); wait > 0 {
			return 0, &BackoffError{Wait: wait}
		}
	}
	return 0, &BackoffError{Wait: time.Second}
}

// verify checks password against a stored hash (attempt's check, where no hash upgrade follows).
func (s *Service) verify(ctx context.Context, password, hash string) (bool, error) {
	ok, _, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return ok, nil
}

// Login checks the password and opens a session on the production project, and records the
// sign-in. An unknown email and a wrong password get the same error, ErrInvalidCredentials, after
// the same work: one password verification (a wrong password of an existing account is recorded
// off the request path, so the answer waits for nothing more). A *BackoffError while the account
// must wait after repeated failures (registered or not, so it reveals nothing); a *FieldError for a
// bad time zone.
func (s *Service) Login(ctx context.Context, c Credentials) (Session, error) {
	var tz string
	if c.Timezone != nil {
		var err error
		if tz, err = timezoneOrUTC(c.Timezone); err != nil {
			return Session{}, err
		}
	}
	t := throttleOf(c.Email, c.Source, s.now())
	var user store.User
	found, rehash := false, false
	got, err := s.attempt(ctx, t, func() (bool, error) {
		u, err := s.store.UserByEmail(ctx, c.Email)
		if errors.Is(err, store.ErrNotFound) {
			if err := s.hasher.VerifyDummy(ctx, c.Password); err != nil {
				return false, fmt.Errorf("verify password: %w", err)
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
		user, found = u, true
		ok, rh, err := s.hasher.Verify(ctx, c.Password, u.PasswordHash)
		if err != nil {
			return false, fmt.Errorf("verify password: %w", err)
		}
		rehash = rh
		return ok, nil
	})
	if err != nil {
		return Session{}, err
	}
	if !got.ok && !found {
		return Session{}, s.loginFailed(ctx, got, nil, nil, ErrInvalidCredentials)
	}
	if !got.ok {
		failed := event{action: ActionLogin, status: StatusFailed, actor: anonymous, resourceType: ResourceUser, resourceID: user.ID, origin: c.Origin}
		return Session{}, s.loginFailed(ctx, got, &user, &failed, ErrInvalidCredentials)
	}
	if c.InviteToken != nil {
		// Checked before anything is written: a bad invitation fails the whole call.
		if err := s.checkInvitation(ctx, *c.InviteToken, user.Email); err != nil {
			return Session{}, err
		}
	}
	if rehash {
		s.upgradeHash(ctx, user, c.Password)
	}
	sess, err := s.loginSession(ctx, user, c)
	if errors.Is(err, ErrSessionEnded) {
		// The password was reset or changed, or the sessions ended, while it was being checked:
		// the password checked may be the one that no longer opens the account.
		return Session{}, ErrInvalidCredentials
	}
	if err != nil {
		return Session{}, err
	}
	if tz != "" && tz != sess.Account.User.Timezone {
		if err := s.store.SetTimezone(ctx, user.ID, tz, s.now()); err != nil {
			return Session{}, err
		}
		sess.Account.User.Timezone = tz
	}
	err = s.record(ctx, s.store, event{action: ActionLogin, scope: scopeOf(sess.Account), actor: userActor(user),
		resourceType: ResourceUser, resourceID: user.ID, origin: c.Origin})
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}

// loginSession opens the session of a login whose password was right: in the organization an
// invitation joins, else in that of the most recently active project, on its production project.
// ErrSessionEnded when the user's sessions ended after user was read with the password checked
// (a reset, a password change, a revert): the session is opened at the version read with the
// password, or not at all.
func (s *Service) loginSession(ctx context.Context, user store.User, c Credentials) (Session, error) {
	if c.InviteToken != nil {
		var joined string
		err := s.store.Tx(ctx, func(tx *store.Store) error {
			if err := holdVersion(ctx, tx, user.ID, user.SessionVersion); err != nil {
				return err
			}
			var err error
			joined, err = s.accept(ctx, tx, user, *c.InviteToken, c.Origin)
			return err
		})
		if err != nil {
			return Session{}, err
		}
		return s.sessionIn(ctx, user.ID, joined, user.SessionVersion, time.Time{})
	}
	sess, err := s.sessionIn(ctx, user.ID, "", user.SessionVersion, time.Time{})
	if !errors.Is(err, store.ErrNotFound) {
		return sess, err
	}
	// Nobody is left without an organization: one who left or was removed from every one gets a
	// new one of their own, as at registration.
	if err := s.store.CreateHomeOrganization(ctx, user, derivedWorkspaceName(user.FullName), s.now()); err != nil {
		return Session{}, err
	}
	return s.sessionIn(ctx, user.ID, "", user.SessionVersion, time.Time{})
}

// loginFailed answers a failed password check (a login, or a change of password) that attempt
// counted against the source and the account: it records failed (when the account exists) off the
// request path, and returns answer. The failure that reaches the account's ceiling is a security
// event: it is logged, recorded in the activity log (actor system) and the owner is told by email,
// in one transaction.
func (s *Service) loginFailed(ctx context.Context, got checked, user *store.User, failed *event, answer error) error {
	if user == nil {
		return answer
	}
	var origin Origin
	if failed != nil {
		origin = failed.origin
		s.recordLater(ctx, *failed, user.ID)
	}
	if n := got.failures; n == loginAccountCeiling {
		s.log.Warn("security event: failed logins reached the account ceiling; the account waits",
			slog.String("user_id", user.ID), slog.Int("failures", n), slog.Duration("wait", loginMaxBackoff))
		// Recorded even when the request has ended meanwhile: the count is past the ceiling now,
		// and no later failure would reach it again.
		settle, cancel := settling(ctx)
		defer cancel()
		err := s.store.Tx(settle, func(tx *store.Store) error {
			sc, err := homeScope(settle, tx, user.ID)
			if err != nil {
				return err
			}
			err = s.record(settle, tx, event{action: ActionLoginLocked, scope: sc, actor: throttleActor, resourceType: ResourceUser,
				resourceID: user.ID, origin: origin, meta: map[string]any{"failures": n, "paused_seconds": int(loginMaxBackoff / time.Second)}})
			if err != nil {
				return err
			}
			return s.notice(settle, tx, mail.KindLoginLocked, *user, user.Email, "")
		})
		if err != nil {
			return err
		}
		s.mailer.Wake()
	}
	return answer
}

// upgradeHash re-hashes a password whose stored hash uses outdated parameters, in place of the
// hash it was checked against only: a password set meanwhile (a reset, a change) is never replaced
// by the old one. A failure only delays the upgrade to the next login, so it is logged, not
// returned.
func (s *Service) upgradeHash(ctx context.Context, user store.User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.UpgradePasswordHash(ctx, user.ID, user.PasswordHash, hash, s.now())
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("upgrade password hash", slog.String("user_id", user.ID), slog.String("error", err.Error()))
	}
}

// zoneName is the shape of an IANA zone name: parts of letters, digits and _+- separated by single
// slashes (no empty, "." or ".." part, which the time package would resolve as a path).
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

// hostZone reports the names the time package would resolve from the host's zoneinfo files rather
// than the IANA database: the host's own zone, its rules files and the posix/ and right/ copies.
func hostZone(name string) bool {
	switch name {
	case "Local", "localtime", "posixrules", "Factory":
		return true
	}
	return strings.HasPrefix(name, "posix/") || strings.HasPrefix(name, "right/")
}

// timezoneOrUTC validates an optional IANA zone name in its canonical spelling; nil means UTC.
func timezoneOrUTC(tz *string) (string, error) {
	if tz == nil {
		return "UTC", nil
	}
	name := strings.TrimSpace(*tz)
	if hostZone(name) || !zoneName.MatchString(name) {
		return "", invalid("timezone", "must be an IANA time zone name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", invalid("timezone", "must be an IANA time zone name such as Europe/Paris")
	}
	return name, nil
}

// checkPasswordStrength refuses common and breached passwords (an embedded list of about 200,000)
// and passwords built from the account's email.
func checkPasswordStrength(field, password, email string) error {
	if pw.Common(password) {
		return weakPassword(field, "is one of the most common or breached passwords; choose something less guessable, such as a few unrelated words")
	}
	lower := strings.ToLower(strings.TrimSpace(password))
	email = strings.ToLower(email)
	local, _, _ := strings.Cut(email, "@")
	if lower == email || (len(local) >= 3 && strings.Contains(lower, local) && len(lower)-len(local) < 4) {
		return weakPassword(field, "must not be built from your email address")
	}
	return nil
}
