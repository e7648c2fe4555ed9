package server_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The shapes below are written from CONTRACT sections 5 and 7 (the fields the official SDK
// requires), not from openapi.yaml, so a spec that drifts from what clients need fails here even
// when the responses match the spec.

// want checks one decoded JSON value and reports what is wrong with it, each problem naming its path.
type want interface {
	check(path string, v any) []string
}

type kind string

const (
	str      kind = "string"
	boolean  kind = "bool"
	integer  kind = "int"
	uuidStr  kind = "uuid"
	dateTime kind = "datetime"
)

func (k kind) check(path string, v any) []string {
	ok := false
	switch k {
	case str:
		_, ok = v.(string)
	case boolean:
		_, ok = v.(bool)
	case integer:
		f, isNum := v.(float64)
		ok = isNum && f == math.Trunc(f)
	case uuidStr:
		s, isStr := v.(string)
		_, err := uuid.Parse(s)
		ok = isStr && err == nil
	case dateTime:
		s, isStr := v.(string)
		_, err := time.Parse(time.RFC3339, s)
		ok = isStr && err == nil
	}
	if !ok {
		return []string{fmt.Sprintf("%s = %v, want a %s", path, v, k)}
	}
	return nil
}

// oneOf is a string from a closed list.
type oneOf []string

func (o oneOf) check(path string, v any) []string {
	if s, ok := v.(string); !ok || !slices.Contains(o, s) {
		return []string{fmt.Sprintf("%s = %v, want one of %v", path, v, []string(o))}
	}
	return nil
}

// object lists the required fields of a JSON object; other fields may be present.
type object map[string]want

func (o object) check(path string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s = %v, want an object", path, v)}
	}
	var problems []string
	for name, w := range o {
		field, present := m[name]
		if !present || field == nil {
			problems = append(problems, fmt.Sprintf("%s.%s is missing", path, name))
			continue
		}
		problems = append(problems, w.check(path+"."+name, field)...)
	}
	return problems
}

// listOf is a JSON array whose items all match; nonEmpty also requires at least one.
type listOf struct {
	item     want
	nonEmpty bool
}

func (l listOf) check(path string, v any) []string {
	items, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprintf("%s = %v, want an array", path, v)}
	}
	if l.nonEmpty && len(items) == 0 {
		return []string{path + " is empty"}
	}
	var problems []string
	for i, item := range items {
		problems = append(problems, l.item.check(fmt.Sprintf("%s[%d]", path, i), item)...)
	}
	return problems
}

// with is o plus more fields.
func (o object) with(more object) object {
	out := object{}
	for k, v := range o {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

var (
	contractUser = object{"id": uuidStr, "email": str, "timezone": str, "email_verified": boolean, "created_at": dateTime}
	contractOrg  = object{"id": uuidStr, "name": str}
	contractEnv  = oneOf{"production", "sandbox"}
	contractPlan = oneOf{"free", "starter", "growth", "pro", "enterprise"}
	contractRole = oneOf{"owner", "admin", "editor", "viewer"}
	// Workspace: CONTRACT 5 also asks for created_at in both places.
	contractWorkspace = object{"id": uuidStr, "name": str, "environment": contractEnv, "timezone": str, "plan": contractPlan, "created_at": dateTime}
	contractProject   = object{"id": uuidStr, "name": str, "environment": contractEnv, "plan": contractPlan, "created_at": dateTime, "timezone": str}
	contractPerms     = object{
		"can_manage_members": boolean, "can_manage_billing": boolean, "can_manage_api_keys": boolean,
		"can_manage_integrations": boolean, "can_publish": boolean, "can_delete_assets": boolean,
		"can_reset_sandbox": boolean, "can_view_reports": boolean, "can_delete_content": boolean,
	}
	// contractOrgSession is CONTRACT 7.3: each entry of available_organizations, and the five
	// fields every session answer carries at its top level.
	contractOrgSession = object{
		"organization": contractOrg, "organization_role": contractRole, "permissions": contractPerms,
		"active_project": contractWorkspace, "projects": listOf{item: contractWorkspace, nonEmpty: true},
	}
	contractSession = contractOrgSession.with(object{
		"available_organizations": listOf{item: contractOrgSession, nonEmpty: true},
	})
	contractMe       = contractSession.with(object{"user": contractUser, "workspace": contractWorkspace})
	contractAuth     = contractMe.with(object{"access_token": str, "expires_in": integer, "token_type": oneOf{"bearer"}})
	contractSwitched = contractSession.with(object{
		"active_project": contractProject, "projects": listOf{item: contractProject, nonEmpty: true},
		"access_token": str, "expires_in": integer, "token_type": oneOf{"bearer"},
	})
)

// TestSessionAnswersHaveTheContractShape decodes every answer that opens or shows a session into
// the fields CONTRACT sections 5 and 7 require, and checks that available_organizations describes
// the current organization as the top level does.
func TestSessionAnswersHaveTheContractShape(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		conforms := func(name string, status, wantStatus int, body map[string]any, w want) {
			t.Helper()
			if status != wantStatus {
				t.Fatalf("%s: status %d, want %d; body %v", name, status, wantStatus, body)
			}
			for _, p := range w.check(name, body) {
				t.Error(p)
			}
			current, _ := body["organization"].(map[string]any)
			orgs, _ := body["available_organizations"].([]any)
			found := false
			for _, o := range orgs {
				entry, _ := o.(map[string]any)
				org, _ := entry["organization"].(map[string]any)
				if current != nil && org["id"] == current["id"] {
					found = true
					if entry["organization_role"] != body["organization_role"] || fmt.Sprint(entry["permissions"]) != fmt.Sprint(body["permissions"]) {
						t.Errorf("%s: available_organizations entry %v disagrees with the top level role %v / permissions %v", name, entry, body["organization_role"], body["permissions"])
					}
				}
			}
			if !found {
				t.Errorf("%s: available_organizations %v lacks the current organization %v", name, orgs, current)
			}
		}

		status, _, reg := e.do("POST", "/v1/auth/register", `{"full_name":"Shape Tester","email":"shape@example.com","password":"correct horse battery"}`, nil)
		conforms("register", status, 201, reg, contractAuth)

		status, _, login := e.do("POST", "/v1/auth/login", `{"email":"shape@example.com","password":"correct horse battery"}`, nil)
		conforms("login", status, 200, login, contractAuth)
		token, _ := login["access_token"].(string)
		auth := map[string]string{"Authorization": "Bearer " + token}

		status, _, me := e.do("GET", "/v1/auth/me", "", auth)
		conforms("me", status, 200, me, contractMe)

		status, _, projects := e.do("POST", "/v1/projects/sandbox", `{}`, auth)
		if status != 200 {
			t.Fatalf("create sandbox: status %d, body %v", status, projects)
		}
		var sandbox string
		for _, p := range projects["projects"].([]any) {
			if p := p.(map[string]any); p["environment"] == "sandbox" {
				sandbox, _ = p["id"].(string)
			}
		}
		status, _, switched := e.do("POST", "/v1/projects/switch", `{"project_id":"`+sandbox+`"}`, auth)
		conforms("switch", status, 200, switched, contractSwitched)
		entry := switched["available_organizations"].([]any)[0].(map[string]any)
		if active, _ := entry["active_project"].(map[string]any); active["id"] != sandbox {
			t.Errorf("switch: the current organization's entry has active project %v, want the sandbox %s", active["id"], sandbox)
		}
		if projects, _ := entry["projects"].([]any); len(projects) != 2 {
			t.Errorf("switch: the current organization's entry lists %d projects, want production and sandbox", len(projects))
		}
	})
}

// TestContractShapeCheckerCatchesTheOldShape proves the checker above fails on the
// {id, name, role} entries that broke the SDK.
func TestContractShapeCheckerCatchesTheOldShape(t *testing.T) {
	old := map[string]any{"id": uuid.NewString(), "name": "Acme", "role": "owner"}
	if problems := contractOrgSession.check("entry", old); len(problems) < 5 {
		t.Errorf("the old {id, name, role} entry gave %d problems (%v), want every OrgSession field reported missing", len(problems), problems)
	}
}
