package server

import (
	"strings"
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

// ownerPermissions: every member is the owner of their organization today.
var ownerPermissions = gen.Permissions{
	CanManageMembers:      true,
	CanManageBilling:      true,
	CanManageAPIKeys:      true,
	CanManageIntegrations: true,
	CanPublish:            true,
	CanDeleteAssets:       true,
	CanResetSandbox:       true,
	CanViewReports:        true,
	CanDeleteContent:      true,
}

// apiOrgSession is the account's organization as a session there sees it, with active as its
// active project (CONTRACT 7.3).
func apiOrgSession(a store.Account, active store.Project) gen.OrgSession {
	return gen.OrgSession{
		Organization:     apiOrganization(a.Organization),
		OrganizationRole: gen.Owner,
		Permissions:      ownerPermissions,
		ActiveProject:    apiWorkspace(active),
		Projects:         apiWorkspaces(a.Projects),
	}
}

// apiAvailableOrganizations is one OrgSession per organization of the user, the current one
// (with the session's active project) included.
func apiAvailableOrganizations(a store.Account, active store.Project) []gen.OrgSession {
	return []gen.OrgSession{apiOrgSession(a, active)}
}

// apiMe is the session view of an account with its active project.
func apiMe(a store.Account, active store.Project) gen.MeResponse {
	current := apiOrgSession(a, active)
	return gen.MeResponse{
		User:                   apiUser(a.User),
		Organization:           current.Organization,
		ActiveProject:          current.ActiveProject,
		Projects:               current.Projects,
		Workspace:              current.ActiveProject,
		OrganizationRole:       current.OrganizationRole,
		Permissions:            current.Permissions,
		AvailableOrganizations: apiAvailableOrganizations(a, active),
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
	}
}

func apiKeyCreated(k store.APIKey, plaintext string) gen.APIKeyCreated {
	a := apiKey(k)
	source := gen.APIKeyCreatedSource(*a.Source)
	return gen.APIKeyCreated{
		APIKey: plaintext, ID: a.ID, WorkspaceID: a.WorkspaceID, Name: a.Name, Scopes: a.Scopes,
		PinterestAccountIds: a.PinterestAccountIds, Source: &source, Prefix: a.Prefix, CreatedAt: a.CreatedAt,
		LastUsedAt: a.LastUsedAt, ExpiresAt: a.ExpiresAt, RevokedAt: a.RevokedAt,
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

func apiPinterestAccount(a store.PinterestAccount) gen.PinterestAccount {
	missing := []string{}
	if a.MissingScopes != "" {
		missing = strings.Split(a.MissingScopes, ",")
	}
	reconnect := a.ReconnectRequired
	return gen.PinterestAccount{
		ID: apiUUID(a.ID), WorkspaceID: apiUUID(a.ProjectID), PinterestUserID: a.PinterestUserID,
		DisplayName: nullableString(a.DisplayName), Username: nullableString(a.Username), Scopes: a.Scopes,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), RevokedAt: nullableTime(a.RevokedAt),
		TokenExpiresAt: nullableTime(a.TokenExpiresAt), HealthStatus: nullableString(a.HealthStatus),
		HealthMessage: nullableString(a.HealthMessage), HealthCheckedAt: nullableTime(a.HealthCheckedAt),
		ReconnectRequired: &reconnect, MissingScopes: &missing,
	}
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
