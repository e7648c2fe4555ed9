package server

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Conversions between store rows and wire types live here and nowhere else.

func apiUUID(id string) uuid.UUID { return uuid.MustParse(id) }

func apiUser(u store.User) gen.User {
	return gen.User{
		ID:            apiUUID(u.ID),
		Email:         u.Email,
		FullName:      nullable.NewNullableWithValue(u.FullName),
		Timezone:      u.Timezone,
		EmailVerified: u.EmailVerifiedAt != nil,
		CreatedAt:     u.CreatedAt.UTC(),
	}
}

func apiOrganization(o store.Organization) gen.Organization {
	return gen.Organization{ID: apiUUID(o.ID), Name: o.Name}
}

func apiWorkspace(p store.Project) gen.Workspace {
	created := p.CreatedAt.UTC()
	return gen.Workspace{
		ID:          apiUUID(p.ID),
		Name:        p.Name,
		Environment: gen.ProjectEnvironment(p.Environment),
		Timezone:    p.Timezone,
		Plan:        gen.Plan(p.Plan),
		CreatedAt:   &created,
	}
}

func apiWorkspaces(ps []store.Project) []gen.Workspace {
	out := make([]gen.Workspace, 0, len(ps))
	for _, p := range ps {
		out = append(out, apiWorkspace(p))
	}
	return out
}

func apiPermissions(r account.Role) gen.Permissions {
	p := r.Permissions()
	return gen.Permissions{
		CanManageMembers: p.ManageMembers, CanManageBilling: p.ManageBilling, CanManageAPIKeys: p.ManageAPIKeys,
		CanManageIntegrations: p.ManageIntegrations, CanPublish: p.Publish, CanDeleteAssets: p.DeleteAssets,
		CanResetSandbox: p.ResetSandbox, CanViewReports: p.ViewReports, CanDeleteContent: p.DeleteContent,
	}
}

// apiOrgSession is one organization of the user as a session there sees it, with active as its
// active project (CONTRACT 7.3).
func apiOrgSession(o store.OrganizationAccess, active store.Project) gen.OrgSession {
	return gen.OrgSession{
		Organization:     apiOrganization(o.Organization),
		OrganizationRole: gen.OrganizationRole(o.Role),
		Permissions:      apiPermissions(account.Role(o.Role)),
		ActiveProject:    apiWorkspace(active),
		Projects:         apiWorkspaces(o.Projects),
	}
}

// orgSessions builds the session view of each organization of the account, in the account's
// order: the current one with the session's active project (also returned alone), the others
// with their production project.
func orgSessions[T any](a store.Account, active store.Project, build func(store.OrganizationAccess, store.Project) T) (current T, all []T) {
	current = build(store.OrganizationAccess{Organization: a.Organization, Role: a.Role, Projects: a.Projects}, active)
	all = make([]T, 0, len(a.Organizations))
	for _, o := range a.Organizations {
		if o.Organization.ID == a.Organization.ID {
			all = append(all, current)
			continue
		}
		all = append(all, build(o, o.Projects[0])) // production first
	}
	return current, all
}

// apiMe is the session view of an account with its active project.
func apiMe(a store.Account, active store.Project) gen.MeResponse {
	current, available := orgSessions(a, active, apiOrgSession)
	return gen.MeResponse{
		User:                   apiUser(a.User),
		Organization:           current.Organization,
		ActiveProject:          current.ActiveProject,
		Projects:               current.Projects,
		Workspace:              current.ActiveProject,
		OrganizationRole:       current.OrganizationRole,
		Permissions:            current.Permissions,
		AvailableOrganizations: available,
	}
}

// apiAuth is an opened session: apiMe plus its token.
func apiAuth(sess account.Session) gen.AuthResponse {
	me := apiMe(sess.Account, sess.Project)
	bearer := gen.AuthResponseTokenTypeBearer
	return gen.AuthResponse{
		AccessToken:            sess.Token,
		TokenType:              &bearer,
		ExpiresIn:              int(sess.TTL / time.Second),
		User:                   me.User,
		Organization:           me.Organization,
		ActiveProject:          me.ActiveProject,
		Projects:               me.Projects,
		Workspace:              me.Workspace,
		OrganizationRole:       me.OrganizationRole,
		Permissions:            me.Permissions,
		AvailableOrganizations: me.AvailableOrganizations,
	}
}

func nullableTime(t *time.Time) nullable.Nullable[time.Time] {
	if t == nil {
		return nullable.NewNullNullable[time.Time]()
	}
	return nullable.NewNullableWithValue(t.UTC())
}

func nullableString(s *string) nullable.Nullable[string] {
	if s == nil {
		return nullable.NewNullNullable[string]()
	}
	return nullable.NewNullableWithValue(*s)
}

func apiKey(k store.APIKey) gen.APIKey {
	scopes := make([]gen.APIKeyScope, 0, 3)
	for _, sc := range k.ScopeList() {
		scopes = append(scopes, gen.APIKeyScope(sc))
	}
	ids := nullable.NewNullNullable[[]uuid.UUID]()
	if list := k.AccountIDs(); list != nil {
		out := make([]uuid.UUID, 0, len(list))
		for _, id := range list {
			out = append(out, apiUUID(id))
		}
		ids = nullable.NewNullableWithValue(out)
	}
	source := gen.APIKeySource(k.Source)
	return gen.APIKey{
		ID:                  apiUUID(k.ID),
		WorkspaceID:         apiUUID(k.ProjectID),
		Name:                k.Name,
		Scopes:              &scopes,
		PinterestAccountIds: ids,
		Source:              &source,
		Prefix:              &k.Prefix,
		CreatedAt:           k.CreatedAt.UTC(),
		LastUsedAt:          nullableTime(k.LastUsedAt),
		ExpiresAt:           nullableTime(k.ExpiresAt),
		RevokedAt:           nullableTime(k.RevokedAt),
		RevokedReason:       nullableString(k.RevokedReason),
		RotatedFrom:         nullableUUID(k.RotatedFrom),
		ReplacedBy:          nullableUUID(k.ReplacedBy),
	}
}

func apiKeyCreated(k store.APIKey, plaintext string) gen.APIKeyCreated {
	a := apiKey(k)
	source := gen.APIKeyCreatedSource(*a.Source)
	return gen.APIKeyCreated{
		APIKey: plaintext, ID: a.ID, WorkspaceID: a.WorkspaceID, Name: a.Name, Scopes: a.Scopes,
		PinterestAccountIds: a.PinterestAccountIds, Source: &source, Prefix: a.Prefix, CreatedAt: a.CreatedAt,
		LastUsedAt: a.LastUsedAt, ExpiresAt: a.ExpiresAt, RevokedAt: a.RevokedAt,
		RevokedReason: a.RevokedReason, RotatedFrom: a.RotatedFrom, ReplacedBy: a.ReplacedBy,
	}
}

func apiProject(p store.Project) gen.Project {
	tz := p.Timezone
	return gen.Project{
		ID: apiUUID(p.ID), Name: p.Name, Environment: gen.ProjectEnvironment(p.Environment),
		Plan: gen.Plan(p.Plan), CreatedAt: p.CreatedAt.UTC(), Timezone: &tz,
	}
}

func apiProjects(a store.Account, active store.Project) gen.ProjectsContext {
	ps := make([]gen.Project, 0, len(a.Projects))
	for _, p := range a.Projects {
		ps = append(ps, apiProject(p))
	}
	return gen.ProjectsContext{Organization: apiOrganization(a.Organization), ActiveProject: apiProject(active), Projects: ps}
}

func apiProfile(a store.Account) gen.Profile {
	o := a.Organization
	var fullName *string
	if a.User.FullName != "" {
		fullName = &a.User.FullName
	}
	return gen.Profile{
		Email:                         a.User.Email,
		WorkspaceName:                 a.Production().Name,
		FullName:                      nullableString(fullName),
		PendingEmailChangeTo:          nullableString(a.User.PendingEmail),
		PendingEmailChangeRequestedAt: nullableTime(a.User.PendingEmailAt),
		CompanyName:                   nullableString(o.CompanyName),
		CompanyWebsite:                nullableString(o.CompanyWebsite),
		BillingEmail:                  nullableString(o.BillingEmail),
		BillingPhone:                  nullableString(o.BillingPhone),
		TaxID:                         nullableString(o.TaxID),
		AddressLine1:                  nullableString(o.AddressLine1),
		AddressLine2:                  nullableString(o.AddressLine2),
		AddressCity:                   nullableString(o.AddressCity),
		AddressState:                  nullableString(o.AddressState),
		AddressPostalCode:             nullableString(o.AddressPostalCode),
		AddressCountry:                nullableString(o.AddressCountry),
	}
}

func apiTeamMember(m store.Member) gen.TeamMember {
	out := gen.TeamMember{
		ID: apiUUID(m.Membership.ID), OrganizationID: apiUUID(m.Membership.OrganizationID), UserID: apiUUID(m.Membership.UserID),
		Role: gen.OrganizationRole(m.Membership.Role), AcceptedAt: nullableTime(m.Membership.AcceptedAt),
		CreatedAt: m.Membership.CreatedAt.UTC(), UpdatedAt: m.Membership.UpdatedAt.UTC(), User: apiUser(m.User),
		InvitedByUserID: nullable.NewNullNullable[uuid.UUID](), InvitedBy: nullable.NewNullNullable[gen.User](),
	}
	if m.Membership.InvitedBy != nil {
		out.InvitedByUserID = nullable.NewNullableWithValue(apiUUID(*m.Membership.InvitedBy))
	}
	if m.Inviter != nil {
		out.InvitedBy = nullable.NewNullableWithValue(apiUser(*m.Inviter))
	}
	return out
}

func apiInvitation(v account.InvitationView) gen.TeamInvitation {
	inv := v.Invitation
	out := gen.TeamInvitation{
		ID: apiUUID(inv.ID), OrganizationID: apiUUID(inv.OrganizationID), Email: inv.Email,
		Role: gen.OrganizationRole(inv.Role), InvitedByUserID: nullableUUID(inv.InvitedBy),
		ExpiresAt: inv.ExpiresAt.UTC(), AcceptedAt: nullableTime(inv.AcceptedAt), RevokedAt: nullableTime(inv.RevokedAt),
		CreatedAt: inv.CreatedAt.UTC(), UpdatedAt: inv.UpdatedAt.UTC(),
		InviterName: nullable.NewNullNullable[string](), InviterEmail: nullable.NewNullNullable[string](),
	}
	if v.Inviter != nil {
		out.InviterName = nullable.NewNullableWithValue(v.Inviter.FullName)
		out.InviterEmail = nullable.NewNullableWithValue(v.Inviter.Email)
	}
	return out
}

func apiInvitationPreview(p account.InvitationPreview) gen.TeamInvitationPreview {
	out := gen.TeamInvitationPreview{
		OrganizationID: apiUUID(p.Organization.ID), OrganizationName: p.Organization.Name, Email: p.Invitation.Email,
		Role: gen.OrganizationRole(p.Invitation.Role), Status: gen.TeamInvitationPreviewStatus(p.Status),
		ExpiresAt: p.Invitation.ExpiresAt.UTC(), TeamAccessEnabled: true,
		InviterName: nullable.NewNullNullable[string](), InviterEmail: nullable.NewNullNullable[string](),
	}
	if p.Inviter != nil {
		out.InviterName = nullable.NewNullableWithValue(p.Inviter.FullName)
		out.InviterEmail = nullable.NewNullableWithValue(p.Inviter.Email)
	}
	return out
}

func nullableUUID(id *string) nullable.Nullable[uuid.UUID] {
	if id == nil {
		return nullable.NewNullNullable[uuid.UUID]()
	}
	return nullable.NewNullableWithValue(apiUUID(*id))
}

func activityQuery(p gen.ListActivityLogsParams) account.ActivityQuery {
	q := account.ActivityQuery{Since: p.Since}
	if p.Limit != nil {
		q.Limit = *p.Limit
	}
	if p.Cursor != nil {
		q.Cursor = *p.Cursor
	}
	if p.Category != nil {
		q.Category = string(*p.Category)
	}
	if p.Action != nil {
		q.Action = string(*p.Action)
	}
	if p.Status != nil {
		q.Status = string(*p.Status)
	}
	if p.ResourceType != nil {
		q.ResourceType = string(*p.ResourceType)
	}
	return q
}

func apiActivityPage(p account.ActivityPage) gen.ActivityLogList {
	out := gen.ActivityLogList{
		Items:                 make([]gen.ActivityLog, 0, len(p.Entries)),
		NextCursor:            nullable.NewNullNullable[string](),
		CurrentRetentionDays:  p.RetentionDays,
		CurrentRetentionLabel: fmt.Sprintf("%d days", p.RetentionDays),
	}
	if p.NextCursor != "" {
		out.NextCursor = nullable.NewNullableWithValue(p.NextCursor)
	}
	for _, e := range p.Entries {
		out.Items = append(out.Items, apiActivityLog(e))
	}
	return out
}

// apiActivityLog shows an entry; its metadata also shows the client's address (source_address)
// and, for an API key's entry, the key's id (api_key_id), which the contract has no field for.
func apiActivityLog(e store.ActivityLog) gen.ActivityLog {
	meta := map[string]any{}
	// Written only by the account package as a JSON object; an unreadable value shows as empty.
	_ = json.Unmarshal([]byte(e.Metadata), &meta)
	if meta == nil {
		meta = map[string]any{}
	}
	if e.SourceAddress != nil {
		meta["source_address"] = *e.SourceAddress
	}
	out := gen.ActivityLog{
		ID: apiUUID(e.ID), ActorType: e.ActorType, Action: gen.ActivityAction(e.Action),
		Category: gen.ActivityCategory(e.Category), Status: gen.ActivityStatus(e.Status), Message: e.Message,
		Metadata: meta, RetentionDays: e.RetentionDays, ExpiresAt: e.ExpiresAt.UTC(), CreatedAt: e.CreatedAt.UTC(),
		ActorUserID: nullable.NewNullNullable[uuid.UUID](), ActorLabel: nullableString(e.ActorLabel),
		ResourceType: nullableString(e.ResourceType), ResourceID: nullable.NewNullNullable[uuid.UUID](),
		RequestID: nullableString(e.RequestID),
	}
	if e.ActorID != nil {
		switch e.ActorType {
		case account.ActorUser:
			out.ActorUserID = parsedUUID(*e.ActorID)
		case account.ActorAPIKey:
			meta["api_key_id"] = *e.ActorID
		}
	}
	if e.ResourceID != nil {
		out.ResourceID = parsedUUID(*e.ResourceID)
	}
	return out
}

// parsedUUID is id, or null when it is not a UUID (every id the flows record is one).
func parsedUUID(id string) nullable.Nullable[uuid.UUID] {
	u, err := uuid.Parse(id)
	if err != nil {
		return nullable.NewNullNullable[uuid.UUID]()
	}
	return nullable.NewNullableWithValue(u)
}
