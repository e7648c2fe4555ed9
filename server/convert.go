package server

import (
	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen"
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

// apiMe is the session view of an account with its active project.
func apiMe(a store.Account, active store.Project) gen.MeResponse {
	role := gen.Owner
	perms := ownerPermissions
	orgs := []gen.OrganizationMembership{{ID: apiUUID(a.Organization.ID), Name: a.Organization.Name, Role: gen.Owner}}
	return gen.MeResponse{
		User:                   apiUser(a.User),
		Organization:           apiOrganization(a.Organization),
		ActiveProject:          apiWorkspace(active),
		Projects:               apiWorkspaces(a.Projects),
		Workspace:              apiWorkspace(active),
		OrganizationRole:       &role,
		Permissions:            &perms,
		AvailableOrganizations: &orgs,
	}
}

// apiAuth is apiMe plus a session token.
func apiAuth(a store.Account, active store.Project, token string, expiresIn int) gen.AuthResponse {
	me := apiMe(a, active)
	bearer := gen.AuthResponseTokenTypeBearer
	return gen.AuthResponse{
		AccessToken:            token,
		TokenType:              &bearer,
		ExpiresIn:              expiresIn,
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
