package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pinbridge/pinbridge-auth/store"
)

// The activity log records the security-relevant events of an organization: each flow writes its
// event in the transaction of the change it describes (record), so a change that commits has its
// event and one that rolls back has none. Failures that change nothing (a wrong password) are
// written off the request path. Members with can_view_reports and API keys with the read scope read
// their organization's log (ActivityLogs).

// Categories, statuses and actor types of activity-log entries (CONTRACT 8).
const (
	CategorySecurity      = "security"
	CategoryConfiguration = "configuration"

	StatusSuccess = "success"
	StatusFailed  = "failed"

	ActorUser   = "user"
	ActorAPIKey = "api_key"
	ActorSystem = "system"
	ActorAdmin  = "admin"
)

// Resource types of activity-log entries.
const (
	ResourceUser       = "user"
	ResourceAPIKey     = "api_key"
	ResourceProject    = "project"
	ResourceMember     = "team_member"
	ResourceInvitation = "team_invitation"
)

// The catalogue of actions the flows record; README ("Activity log") says when each is written.
const (
	ActionRegister              = "auth.register"
	ActionLogin                 = "auth.login"
	ActionLoginLocked           = "auth.login.locked"
	ActionSessionsRevoked       = "auth.sessions.revoked"
	ActionPasswordResetRequest  = "auth.password_reset.requested"
	ActionPasswordResetComplete = "auth.password_reset.completed"
	ActionPasswordChanged       = "auth.password.changed"
	ActionEmailVerified         = "auth.email.verified"
	ActionEmailChangeRequested  = "auth.email_change.requested"
	ActionEmailChangeConfirmed  = "auth.email_change.confirmed"
	ActionEmailChangeReverted   = "auth.email_change.reverted"
	ActionAPIKeyCreated         = "api_key.created"
	ActionAPIKeyUpdated         = "api_key.updated"
	ActionAPIKeyRevoked         = "api_key.revoked"
	ActionSandboxCreated        = "project.sandbox.created"
	ActionSandboxReset          = "project.sandbox.reset"
	ActionProjectSwitched       = "project.switched"
	ActionInvitationCreated     = "team.invitation.created"
	ActionInvitationResent      = "team.invitation.resent"
	ActionInvitationRevoked     = "team.invitation.revoked"
	ActionInvitationAccepted    = "team.invitation.accepted"
	ActionMemberRoleChanged     = "team.member.role_changed"
	ActionMemberRemoved         = "team.member.removed"
	ActionAPIKeyRotated         = "api_key.rotated"
	ActionAPIKeyLeakRevoked     = "api_key.leak_revoked"
	ActionAdminResetLink        = "admin.reset_link_issued"
	ActionAdminVerified         = "admin.email_verified"
	ActionAdminUnlocked         = "admin.login_unlocked"
	ActionAdminSessionsEnded    = "admin.sessions_ended"
	ActionAdminKeyRevoked       = "admin.api_key_revoked"
)

// ActionInfo is what the catalogue says of an action: its category and the message of an entry of
// each status it is recorded with.
type ActionInfo struct {
	Category string
	Messages map[string]string // by status
}

// Catalogue is every action the flows record. The API's ActivityAction enum lists the same names
// (a test holds them together).
var Catalogue = map[string]ActionInfo{
	ActionRegister:              {CategorySecurity, ok("Account created")},
	ActionLogin:                 {CategorySecurity, okOrFailed("Signed in", "Sign-in refused: wrong password")},
	ActionLoginLocked:           {CategorySecurity, ok("Sign-ins paused for 15 minutes after too many failed attempts from several addresses")},
	ActionSessionsRevoked:       {CategorySecurity, ok("Every session signed out")},
	ActionPasswordResetRequest:  {CategorySecurity, ok("Password reset link sent")},
	ActionPasswordResetComplete: {CategorySecurity, ok("Password reset with an emailed link")},
	ActionPasswordChanged:       {CategorySecurity, okOrFailed("Password changed", "Password change refused: wrong current password")},
	ActionEmailVerified:         {CategorySecurity, ok("Email address verified")},
	ActionEmailChangeRequested:  {CategorySecurity, okOrFailed("Email change requested; confirmation link sent to the new address", "Email change refused: wrong current password")},
	ActionEmailChangeConfirmed:  {CategorySecurity, ok("Email address changed")},
	ActionEmailChangeReverted:   {CategorySecurity, ok("Email change undone from the former address")},
	ActionAPIKeyCreated:         {CategoryConfiguration, ok("API key created")},
	ActionAPIKeyUpdated:         {CategoryConfiguration, ok("API key updated")},
	ActionAPIKeyRevoked:         {CategoryConfiguration, ok("API key revoked")},
	ActionSandboxCreated:        {CategoryConfiguration, ok("Sandbox project created")},
	ActionSandboxReset:          {CategoryConfiguration, ok("Sandbox project reset")},
	ActionProjectSwitched:       {CategoryConfiguration, ok("Switched project")},
	ActionInvitationCreated:     {CategorySecurity, okOrFailed("Invitation sent", "Invitation refused: wrong current password")},
	ActionInvitationResent:      {CategorySecurity, okOrFailed("Invitation sent again with a new link", "Invitation resend refused: wrong current password")},
	ActionInvitationRevoked:     {CategorySecurity, ok("Invitation revoked")},
	ActionInvitationAccepted:    {CategorySecurity, ok("Invitation accepted; joined the organization")},
	ActionMemberRoleChanged:     {CategorySecurity, okOrFailed("Member's role changed", "Role change refused: wrong current password")},
	ActionMemberRemoved:         {CategorySecurity, okOrFailed("Member removed", "Removal refused: wrong current password")},
	ActionAPIKeyRotated:         {CategoryConfiguration, ok("API key rotated; the old key works until the end of its grace period")},
	ActionAPIKeyLeakRevoked:     {CategorySecurity, ok("API key revoked: secret scanning found it in public")},
	ActionAdminResetLink:        {CategorySecurity, ok("An operator issued a password reset link")},
	ActionAdminVerified:         {CategorySecurity, ok("An operator marked the email verified")},
	ActionAdminUnlocked:         {CategorySecurity, ok("An operator cleared the failed sign-ins")},
	ActionAdminSessionsEnded:    {CategorySecurity, ok("An operator signed every session out")},
	ActionAdminKeyRevoked:       {CategorySecurity, ok("An operator revoked an API key")},
}

func ok(msg string) map[string]string { return map[string]string{StatusSuccess: msg} }

func okOrFailed(success, failed string) map[string]string {
	return map[string]string{StatusSuccess: success, StatusFailed: failed}
}

// retentionDays is how long an entry is kept, by the plan of the organization's production project
// when it is written (our choice).
var retentionDays = map[string]int{"free": 7, "starter": 30, "growth": 90, "pro": 180, "enterprise": 365}

// RetentionDays is how long the plan keeps activity-log entries; an unknown plan keeps them as
// the free one does.
func RetentionDays(plan string) int {
	if d, ok := retentionDays[plan]; ok {
		return d
	}
	return retentionDays[store.PlanFree]
}

// Origin is where a request came from: its X-Request-ID and the client's address. Flows record
// both with their events.
type Origin struct {
	RequestID string
	Source    string
}

// actor is who caused an event, as the log shows them.
type actor struct{ kind, id, label string }

// userActor is a user acting through a session, or through a link mailed to them.
func userActor(u store.User) actor { return actor{kind: ActorUser, id: u.ID, label: u.Email} }

// anonymous is whoever sent an unauthenticated request that named an account: a sign-in with a
// wrong password, a password reset request. They proved nothing, so no user is named.
var anonymous = actor{kind: ActorUser, label: "unauthenticated"}

// adminActor is an operator running pinbridge admin on the server's database.
var adminActor = actor{kind: ActorAdmin, label: "pinbridge admin"}

// scannerActor is the service revoking a key that secret scanning reported.
var scannerActor = actor{kind: ActorSystem, label: "secret scanning"}

// orgScope is an organization's scope, its plan read from its production project (q: store or tx).
func orgScope(ctx context.Context, q *store.Store, orgID string) (scope, error) {
	projects, err := q.Projects(ctx, orgID)
	if err != nil {
		return scope{}, err
	}
	sc := scope{org: orgID, plan: store.PlanFree}
	if p, ok := store.Production(projects); ok {
		sc.plan = p.Plan
	}
	return sc, nil
}

// throttleActor is the service itself pausing an account's sign-ins.
var throttleActor = actor{kind: ActorSystem, label: "sign-in throttle"}

// scope is the organization an event belongs to, and the plan that sets how long it is kept.
type scope struct{ org, plan string }

func scopeOf(a store.Account) scope { return scope{org: a.Organization.ID, plan: a.Production().Plan} }

// homeScope is where the events of a user's own account go when no session says: the organization
// a login opens (that of the user's most recently active project, else the one made at
// registration). q is the store or the flow's transaction.
//
// A user who belongs to no organization (they left or were removed from every one; the next login
// gives them a new one) has no log: the scope is empty and record writes nothing, so the flows an
// organization-less account still needs (reset, revert, an operator's reset link) go on.
func homeScope(ctx context.Context, q *store.Store, userID string) (scope, error) {
	a, err := q.Account(ctx, userID, "")
	if errors.Is(err, store.ErrNotFound) {
		return scope{}, nil
	}
	if err != nil {
		return scope{}, fmt.Errorf("home organization: %w", err)
	}
	return scopeOf(a), nil
}

// event is one activity-log entry as a flow describes it. Metadata holds only what is not secret:
// names, addresses, roles, counts; never a token, hash, password or key.
type event struct {
	action       string
	status       string // "" is StatusSuccess
	scope        scope
	actor        actor
	resourceType string
	resourceID   string
	meta         map[string]any
	origin       Origin
	// id and at, when set, are the entry's id and time (an event recorded later keeps those of
	// the moment it happened); otherwise they are taken when it is written.
	id string
	at time.Time
}

// record writes e through q, the transaction of the change it describes (or the store, for an
// event that is the change: a sign-in).
func (s *Service) record(ctx context.Context, q *store.Store, e event) error {
	if e.scope.org == "" {
		return nil // an account in no organization: no log to hold it (see homeScope)
	}
	status := e.status
	if status == "" {
		status = StatusSuccess
	}
	info, ok := Catalogue[e.action]
	msg := info.Messages[status]
	if !ok || msg == "" {
		return fmt.Errorf("record %s %s: not in the catalogue", e.action, status)
	}
	now := e.at
	if now.IsZero() {
		now = s.now()
	}
	days := RetentionDays(e.scope.plan)
	return q.RecordActivity(ctx, store.ActivityLog{
		ID: e.id, OrganizationID: e.scope.org, CreatedAt: now, ActorType: e.actor.kind, ActorID: optional(e.actor.id),
		ActorLabel: optional(e.actor.label), Action: e.action, Category: info.Category, Status: status,
		ResourceType: optional(e.resourceType), ResourceID: optional(e.resourceID), Message: msg,
		Metadata: encodeMetadata(e.meta), RequestID: optional(e.origin.RequestID), SourceAddress: optional(e.origin.Source),
		RetentionDays: days, ExpiresAt: now.AddDate(0, 0, days),
	})
}

// recordLater writes e off the request path: the failures that change nothing (a wrong password)
// are recorded without making the answer wait, in the home organization of userID when e has no
// scope. Service.Close waits for it. When every background slot stays busy for as long as the
// request may last (a database that no longer keeps up), the entry is written to the service's log
// instead, at error level, so the request never hangs on it.
func (s *Service) recordLater(ctx context.Context, e event, userID string) {
	e.id, e.at = store.NewID(), s.now()
	started := s.backgroundWithin(ctx, "activity", func(ctx context.Context) error {
		if e.scope.org == "" {
			sc, err := homeScope(ctx, s.store, userID)
			if err != nil {
				return err
			}
			e.scope = sc // empty when the account is gone or in no organization: record skips it
		}
		return s.record(ctx, s.store, e)
	})
	if !started {
		s.log.Error("activity entry not recorded: background jobs saturated", slog.String("action", e.action),
			slog.String("status", e.status), slog.String("user_id", userID), slog.String("request_id", e.origin.RequestID),
			slog.String("source_address", e.origin.Source), slog.Time("at", e.at))
	}
}

// encodeMetadata is meta as a JSON object of at most store.MaxActivityMetadata characters; past
// that, only a note that it was too long (flows write far less).
func encodeMetadata(meta map[string]any) string {
	if len(meta) == 0 {
		return "{}"
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(meta); err != nil {
		return `{"metadata_unencodable":true}`
	}
	out := strings.TrimSuffix(b.String(), "\n")
	if utf8.RuneCountInString(out) > store.MaxActivityMetadata {
		return `{"metadata_truncated":true}`
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ActivityReader is who reads an organization's log: a member in a session (Role set) or an API
// key of the organization (APIKey; its read scope is checked before the flow). Plan is the plan of
// the organization's production project when the caller has it at hand (a session loaded it), ""
// to read it.
type ActivityReader struct {
	OrganizationID string
	Role           Role
	APIKey         bool
	Plan           string
}

// ActivityQuery selects a page of the log. Empty filters match everything.
type ActivityQuery struct {
	Limit        int    // 1 to 200; 0 means 50
	Cursor       string // NextCursor of the previous page, issued for the same organization and filters
	Category     string
	Action       string
	Status       string
	ResourceType string
	Since        *time.Time
}

// ActivityPage is a page of the log, newest first.
type ActivityPage struct {
	Entries []store.ActivityLog
	// NextCursor continues after the last entry; "" on the last page.
	NextCursor string
	// RetentionDays is how long the organization's plan keeps new entries.
	RetentionDays int
}

const (
	defaultActivityPage = 50
	maxActivityPage     = 200
)

// ActivityLogs reads a page of the reader's organization's log, newest first, never an expired
// entry. A session member needs can_view_reports (a *PermissionError otherwise). A *FieldError
// naming the cursor for one this service did not issue for this organization and these filters (or
// altered), and for a limit out of range.
func (s *Service) ActivityLogs(ctx context.Context, r ActivityReader, q ActivityQuery) (ActivityPage, error) {
	if !r.APIKey && !r.Role.Has(PermViewReports) {
		return ActivityPage{}, &PermissionError{Permission: PermViewReports}
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultActivityPage
	}
	if limit < 1 || limit > maxActivityPage {
		return ActivityPage{}, &FieldError{In: "query", Field: "limit", Type: "value_error", Msg: fmt.Sprintf("must be 1 to %d", maxActivityPage)}
	}
	binding := q.binding(r.OrganizationID)
	f := store.ActivityFilter{
		OrganizationID: r.OrganizationID, Category: q.Category, Action: q.Action, Status: q.Status,
		ResourceType: q.ResourceType, Since: q.Since, Now: s.now(), Limit: limit + 1,
	}
	if q.Cursor != "" {
		pos, err := s.cursors.open(q.Cursor, binding)
		if err != nil {
			return ActivityPage{}, &FieldError{In: "query", Field: "cursor", Type: "value_error",
				Msg: "is not a cursor this service issued for this organization and these filters; start again without it"}
		}
		f.After = &pos
	}
	plan := r.Plan
	if plan == "" {
		var err error
		if plan, err = s.store.ProductionPlan(ctx, r.OrganizationID); err != nil {
			return ActivityPage{}, err
		}
	}
	entries, err := s.store.ActivityLogs(ctx, f)
	if err != nil {
		return ActivityPage{}, err
	}
	page := ActivityPage{Entries: entries, RetentionDays: RetentionDays(plan)}
	if len(entries) > limit {
		page.Entries = entries[:limit]
		last := page.Entries[limit-1]
		page.NextCursor = s.cursors.seal(store.ActivityPosition{CreatedAt: last.CreatedAt, ID: last.ID}, binding)
	}
	return page, nil
}

// binding is what a cursor is bound to besides its position: the organization and the filters, so
// that a cursor of another organization, or replayed with other filters, is refused.
func (q ActivityQuery) binding(orgID string) string {
	since := ""
	if q.Since != nil {
		since = q.Since.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s", orgID, q.Category, q.Action, q.Status, q.ResourceType, since)
}
