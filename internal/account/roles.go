package account

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a member's role in an organization; it gives the member's Permissions.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// Permission names one thing a role may do; the names are the SDK's.
type Permission string

// The permissions of CONTRACT 7.1.
const (
	PermManageMembers      Permission = "can_manage_members"
	PermManageBilling      Permission = "can_manage_billing"
	PermManageAPIKeys      Permission = "can_manage_api_keys"
	PermManageIntegrations Permission = "can_manage_integrations"
	PermPublish            Permission = "can_publish"
	PermDeleteAssets       Permission = "can_delete_assets"
	PermResetSandbox       Permission = "can_reset_sandbox"
	PermViewReports        Permission = "can_view_reports"
	PermDeleteContent      Permission = "can_delete_content"
)

// Permissions are the nine permissions of a role.
type Permissions struct {
	ManageMembers, ManageBilling, ManageAPIKeys, ManageIntegrations, Publish, DeleteAssets, ResetSandbox, ViewReports, DeleteContent bool
}

// roleMatrix is the one place permissions come from (CONTRACT 7.1).
var roleMatrix = map[Role]Permissions{
	RoleOwner:  {true, true, true, true, true, true, true, true, true},
	RoleAdmin:  {true, false, true, true, true, true, true, true, true},
	RoleEditor: {false, false, true, true, true, true, true, true, true},
	RoleViewer: {false, false, false, false, false, false, false, true, false},
}

// Permissions of the role; none for a role that does not exist.
func (r Role) Permissions() Permissions { return roleMatrix[r] }

// Has reports whether the role holds p.
func (r Role) Has(p Permission) bool {
	m := r.Permissions()
	switch p {
	case PermManageMembers:
		return m.ManageMembers
	case PermManageBilling:
		return m.ManageBilling
	case PermManageAPIKeys:
		return m.ManageAPIKeys
	case PermManageIntegrations:
		return m.ManageIntegrations
	case PermPublish:
		return m.Publish
	case PermDeleteAssets:
		return m.DeleteAssets
	case PermResetSandbox:
		return m.ResetSandbox
	case PermViewReports:
		return m.ViewReports
	case PermDeleteContent:
		return m.DeleteContent
	}
	return false
}

// ParseRole reads a role as a request gives it (trimmed and lower-cased first). A *FieldError
// naming field for a role that does not exist.
func ParseRole(field, s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := roleMatrix[r]; !ok {
		return "", invalid(field, "must be one of owner, admin, editor, viewer")
	}
	return r, nil
}

// PermissionError refuses a flow to a member whose role lacks Permission.
type PermissionError struct{ Permission Permission }

func (e *PermissionError) Error() string { return fmt.Sprintf("missing permission %s", e.Permission) }

// require refuses c the flow unless their role in the organization holds p.
func (c Caller) require(p Permission) error {
	if !c.Role().Has(p) {
		return &PermissionError{Permission: p}
	}
	return nil
}

// mayHandle reports whether a member of role r may give, take or extend roles: only an owner
// grants, removes, demotes or invites an owner.
func (r Role) mayHandle(roles ...Role) bool {
	return r == RoleOwner || !slices.Contains(roles, RoleOwner)
}

// mayHandle refuses, with a PermissionError naming "owner", a caller who is not an owner acting
// on any of roles that is owner (granting it, removing or demoting its holder, inviting to it).
func (c Caller) mayHandle(roles ...Role) error {
	if !c.Role().mayHandle(roles...) {
		return &PermissionError{Permission: "owner"}
	}
	return nil
}
