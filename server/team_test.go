package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pinbridge/pinbridge-auth/gen/client"
)

// invite sends an invitation from token's organization and returns it with the link's token.
func (e *env) invite(token, email, role string) (*client.TeamInvitation, string) {
	e.t.Helper()
	r, err := e.client.CreateTeamInvitationWithResponse(context.Background(), client.CreateTeamInvitationJSONRequestBody{Email: client.Email(email), Role: role}, bearer(token))
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("invite %s as %s: %v %d %s\n%s", email, role, err, r.StatusCode(), r.Body, lastLines(e.logs.String(), 3))
	}
	return r.JSON201, e.linkTo(email, "/accept-invitation")
}

// accept accepts an invitation with token's session and returns the status and the session.
func (e *env) accept(token, invitation string) (int, *client.AuthResponse) {
	e.t.Helper()
	r, err := e.client.AcceptTeamInvitationWithResponse(context.Background(), client.AcceptTeamInvitationJSONRequestBody{Token: invitation}, bearer(token))
	if err != nil {
		e.t.Fatal(err)
	}
	return r.StatusCode(), r.JSON200
}

// join registers email and makes them a member of owner's organization with role; it returns the
// member's session in that organization.
func (e *env) join(ownerToken, email, role string) *client.AuthResponse {
	e.t.Helper()
	a := e.register(email, "a perfectly fine password")
	_, link := e.invite(ownerToken, email, role)
	status, sess := e.accept(a.AccessToken, link)
	if status != http.StatusOK {
		e.t.Fatalf("%s accepts: %d", email, status)
	}
	return sess
}

func (e *env) memberID(token, email string) string {
	e.t.Helper()
	r, err := e.client.ListTeamMembersWithResponse(context.Background(), bearer(token))
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("list members: %v %s", err, r.Body)
	}
	for _, m := range r.JSON200.Items {
		if strings.EqualFold(m.User.Email, email) {
			return m.ID.String()
		}
	}
	e.t.Fatalf("%s is not a member", email)
	return ""
}

func TestInvitationFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("owner@example.com", "a perfectly fine password")
		inv, link := e.invite(owner.AccessToken, "Editor@Example.com", " Editor ")
		if inv.Role != client.Editor || inv.Email != "Editor@example.com" || inv.AcceptedAt.IsSpecified() && !inv.AcceptedAt.IsNull() {
			t.Errorf("invitation = %+v, want role editor for Editor@example.com, pending", inv)
		}
		if !inv.ExpiresAt.After(time.Now().Add(6*24*time.Hour)) || inv.InviterEmail.MustGet() != "owner@example.com" {
			t.Errorf("invitation expires %v, inviter %v; want 7 days, owner@example.com", inv.ExpiresAt, inv.InviterEmail)
		}

		preview, err := e.client.PreviewTeamInvitationWithResponse(ctx, &client.PreviewTeamInvitationParams{Token: link})
		if err != nil || preview.JSON200 == nil || preview.JSON200.Status != client.Pending || preview.JSON200.OrganizationName != owner.Organization.Name || !preview.JSON200.TeamAccessEnabled {
			t.Fatalf("preview: %v %s", err, preview.Body)
		}

		// Someone else's session cannot use it, and it stays usable.
		other := e.register("other@example.com", "a perfectly fine password")
		r, _ := e.client.AcceptTeamInvitationWithResponse(ctx, client.AcceptTeamInvitationJSONRequestBody{Token: link}, bearer(other.AccessToken))
		if r.StatusCode() != http.StatusForbidden || r.JSON403 == nil || r.JSON403.Detail.Code != "invitation_email_mismatch" {
			t.Errorf("accept by another user: %d %s, want 403 invitation_email_mismatch", r.StatusCode(), r.Body)
		}

		editor := e.register("editor@example.com", "a perfectly fine password")
		status, sess := e.accept(editor.AccessToken, link)
		if status != http.StatusOK || sess.Organization.ID != owner.Organization.ID || sess.OrganizationRole != client.Editor {
			t.Fatalf("accept: %d %+v, want a session in the owner's organization as editor", status, sess)
		}
		if !sess.User.EmailVerified {
			t.Error("accepting did not prove the invited address")
		}
		if len(sess.AvailableOrganizations) != 2 || sess.Permissions.CanManageMembers || !sess.Permissions.CanManageAPIKeys {
			t.Errorf("editor session: %d organizations, permissions %+v; want 2, editor's", len(sess.AvailableOrganizations), sess.Permissions)
		}
		if status, _ := e.accept(editor.AccessToken, link); status != http.StatusBadRequest {
			t.Errorf("second accept: %d, want 400", status)
		}
		if p, _ := e.client.PreviewTeamInvitationWithResponse(ctx, &client.PreviewTeamInvitationParams{Token: link}); p.JSON200 == nil || p.JSON200.Status != client.Accepted {
			t.Errorf("preview after accept: %s, want status accepted", p.Body)
		}
		// The member lists the owner first, with who invited them.
		members, _ := e.client.ListTeamMembersWithResponse(ctx, bearer(owner.AccessToken))
		if members.JSON200 == nil || len(members.JSON200.Items) != 2 || members.JSON200.Items[0].Role != client.Owner ||
			members.JSON200.Items[1].InvitedBy.MustGet().Email != "owner@example.com" {
			t.Errorf("members: %s", members.Body)
		}
		// Login answers for the organization of the most recently active project: the one joined.
		login, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "editor@example.com", Password: "a perfectly fine password"})
		if login.JSON200 == nil || login.JSON200.Organization.ID != owner.Organization.ID {
			t.Errorf("login after joining: %s, want the joined organization", login.Body)
		}
		// Switching to a project of the editor's own organization moves the session there.
		own := editor.ActiveProject.ID
		sw, _ := e.client.SwitchProjectWithResponse(ctx, client.SwitchProjectJSONRequestBody{ProjectID: own}, bearer(sess.AccessToken))
		if sw.JSON200 == nil || sw.JSON200.Organization.ID != editor.Organization.ID || sw.JSON200.OrganizationRole != client.Owner {
			t.Errorf("switch to the own organization's project: %s", sw.Body)
		}
	})
}

func TestInvitationExpiryRevocationAndResend(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("boss@example.com", "a perfectly fine password")
		invitee := e.register("late@example.com", "a perfectly fine password")

		_, expired := e.invite(owner.AccessToken, "late@example.com", "viewer")
		e.clock.Advance(7*24*time.Hour + time.Second)
		owner.AccessToken = e.loginWith("boss@example.com", "a perfectly fine password")
		invitee.AccessToken = e.loginWith("late@example.com", "a perfectly fine password")
		if status, _ := e.accept(invitee.AccessToken, expired); status != http.StatusBadRequest {
			t.Errorf("accept after 7 days: %d, want 400", status)
		}
		if p, _ := e.client.PreviewTeamInvitationWithResponse(ctx, &client.PreviewTeamInvitationParams{Token: expired}); p.JSON200 == nil || p.JSON200.Status != client.Expired {
			t.Errorf("preview of an expired invitation: %s", p.Body)
		}

		// A newer invitation retires the older link.
		_, older := e.invite(owner.AccessToken, "late@example.com", "viewer")
		inv, newer := e.invite(owner.AccessToken, "late@example.com", "editor")
		if status, _ := e.accept(invitee.AccessToken, older); status != http.StatusBadRequest {
			t.Errorf("older link after a newer invitation: %d, want 400", status)
		}
		// A resend rotates the link.
		r, err := e.client.ResendTeamInvitationWithResponse(ctx, inv.ID, client.ResendTeamInvitationJSONRequestBody{}, bearer(owner.AccessToken))
		if err != nil || r.JSON200 == nil {
			t.Fatalf("resend: %v %s", err, r.Body)
		}
		resent := e.linkTo("late@example.com", "/accept-invitation")
		if status, _ := e.accept(invitee.AccessToken, newer); status != http.StatusBadRequest {
			t.Errorf("link from before the resend: %d, want 400", status)
		}
		// Revoked: the link stops working.
		if rv, _ := e.client.RevokeTeamInvitationWithResponse(ctx, inv.ID, bearer(owner.AccessToken)); rv.StatusCode() != http.StatusOK {
			t.Fatalf("revoke: %d %s", rv.StatusCode(), rv.Body)
		}
		if status, _ := e.accept(invitee.AccessToken, resent); status != http.StatusBadRequest {
			t.Errorf("revoked link: %d, want 400", status)
		}
		if r, _ := e.client.ResendTeamInvitationWithResponse(ctx, inv.ID, client.ResendTeamInvitationJSONRequestBody{}, bearer(owner.AccessToken)); r.StatusCode() != http.StatusBadRequest {
			t.Errorf("resend of a revoked invitation: %d %s, want 400", r.StatusCode(), r.Body)
		}
		list, _ := e.client.ListTeamInvitationsWithResponse(ctx, bearer(owner.AccessToken))
		if list.JSON200 == nil || len(list.JSON200.Items) != 3 || list.JSON200.Items[0].RevokedAt.IsNull() {
			t.Errorf("invitations: %s, want three, newest first and revoked", list.Body)
		}
	})
}

func TestInviteTokenOnRegisterAndLogin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("host@example.com", "a perfectly fine password")
		_, link := e.invite(owner.AccessToken, "newcomer@example.com", "admin")

		// The wrong address creates nothing.
		bad, _ := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: "Intruder", Email: "intruder@example.com", Password: "a perfectly fine password", InviteToken: &link})
		if bad.StatusCode() != http.StatusForbidden {
			t.Errorf("register with someone else's invitation: %d, want 403", bad.StatusCode())
		}
		if r, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "intruder@example.com", Password: "a perfectly fine password"}); r.StatusCode() != http.StatusUnauthorized {
			t.Errorf("the refused registration created an account: login %d", r.StatusCode())
		}
		garbage := strings.Repeat("x", 43)
		if r, _ := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: "X", Email: "x@example.com", Password: "a perfectly fine password", InviteToken: &garbage}); r.StatusCode() != http.StatusBadRequest {
			t.Errorf("register with an unknown invitation: %d, want 400", r.StatusCode())
		}

		reg, err := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: "Newcomer", Email: "newcomer@example.com", Password: "a perfectly fine password", InviteToken: &link})
		if err != nil || reg.JSON201 == nil || reg.JSON201.Organization.ID != owner.Organization.ID || reg.JSON201.OrganizationRole != client.Admin {
			t.Fatalf("register with the invitation: %v %s", err, reg.Body)
		}
		if len(reg.JSON201.AvailableOrganizations) != 2 || !reg.JSON201.User.EmailVerified {
			t.Errorf("newcomer: %d organizations, verified %v; want their own and the joined one, verified", len(reg.JSON201.AvailableOrganizations), reg.JSON201.User.EmailVerified)
		}

		// Login with an invitation joins in the same step.
		other := e.register("second-home@example.com", "a perfectly fine password")
		_, link2 := e.invite(other.AccessToken, "newcomer@example.com", "viewer")
		login, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "newcomer@example.com", Password: "a perfectly fine password", InviteToken: &link2})
		if err != nil || login.JSON200 == nil || login.JSON200.Organization.ID != other.Organization.ID || login.JSON200.OrganizationRole != client.Viewer {
			t.Fatalf("login with an invitation: %v %s", err, login.Body)
		}
		if len(login.JSON200.AvailableOrganizations) != 3 {
			t.Errorf("available organizations = %d, want 3", len(login.JSON200.AvailableOrganizations))
		}
	})
}

// TestPermissionMatrix: each role against each endpoint that needs a permission.
func TestPermissionMatrix(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		owner := e.register("matrix-owner@example.com", "a perfectly fine password")
		sessions := map[string]string{"owner": owner.AccessToken}
		for _, role := range []string{"admin", "editor", "viewer"} {
			sessions[role] = e.join(owner.AccessToken, role+"@example.com", role).AccessToken
		}
		key := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "matrix"})
		checks := []struct {
			name, method, path, body, permission string
			allowed                              []string
		}{
			{"create key", "POST", "/v1/api-keys", `{"name":"k"}`, "can_manage_api_keys", []string{"owner", "admin", "editor"}},
			{"list keys", "GET", "/v1/api-keys", "", "can_manage_api_keys", []string{"owner", "admin", "editor"}},
			{"update key", "PATCH", "/v1/api-keys/" + key.ID.String(), `{"name":"renamed"}`, "can_manage_api_keys", []string{"owner", "admin", "editor"}},
			{"create sandbox", "POST", "/v1/projects/sandbox", `{}`, "can_reset_sandbox", []string{"owner", "admin", "editor"}},
			{"reset sandbox", "POST", "/v1/projects/sandbox/reset", "", "can_reset_sandbox", []string{"owner", "admin", "editor"}},
			{"billing", "PUT", "/v1/auth/profile", `{"tax_id":"FR123"}`, "can_manage_billing", []string{"owner"}},
			{"list members", "GET", "/v1/team/members", "", "can_manage_members", []string{"owner", "admin"}},
			{"list invitations", "GET", "/v1/team/invitations", "", "can_manage_members", []string{"owner", "admin"}},
			{"invite", "POST", "/v1/team/invitations", `{"email":"someone-new@example.com","role":"viewer"}`, "can_manage_members", []string{"owner", "admin"}},
			{"revoke key", "DELETE", "/v1/api-keys/" + key.ID.String(), "", "can_manage_api_keys", []string{"owner", "admin", "editor"}},
		}
		for _, c := range checks {
			for _, role := range []string{"viewer", "editor", "admin", "owner"} {
				status, body := e.call(c.method, c.path, c.body, sessions[role])
				allowed := false
				for _, a := range c.allowed {
					allowed = allowed || a == role
				}
				switch {
				case allowed && (status == http.StatusForbidden || status >= 500):
					t.Errorf("%s as %s: %d %v, want it allowed", c.name, role, status, body)
				case !allowed:
					code, msg := "", ""
					if status == http.StatusForbidden {
						code, msg = errorOf(t, body)
					}
					if status != http.StatusForbidden || code != "insufficient_permission" || !strings.Contains(msg, c.permission) {
						t.Errorf("%s as %s: %d %s %q, want 403 insufficient_permission naming %s", c.name, role, status, code, msg, c.permission)
					}
				}
			}
		}
		// The full name is each member's own: no permission needed.
		if status, _, _ := e.do("PUT", "/v1/auth/profile", `{"full_name":"Vera Viewer"}`, map[string]string{"Authorization": "Bearer " + sessions["viewer"]}); status != http.StatusOK {
			t.Errorf("viewer renames themselves: %d, want 200", status)
		}
	})
}

func TestOwnerRules(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("sole-owner@example.com", "a perfectly fine password")
		e.verify(owner.AccessToken, "sole-owner@example.com") // making an owner needs a verified address
		admin := e.join(owner.AccessToken, "the-admin@example.com", "admin")
		ownerID := e.memberID(owner.AccessToken, "sole-owner@example.com")
		adminID := e.memberID(owner.AccessToken, "the-admin@example.com")
		code := func(status int, body map[string]any) string {
			if status < 400 {
				return fmt.Sprint(status)
			}
			c, _ := errorOf(t, body)
			return fmt.Sprintf("%d %s", status, c)
		}
		patch := func(token, id, role string) string {
			status, _, body := e.do("PATCH", "/v1/team/members/"+id, `{"role":"`+role+`"}`, map[string]string{"Authorization": "Bearer " + token})
			return code(status, body)
		}
		remove := func(token, id string) string {
			status, _, body := e.do("DELETE", "/v1/team/members/"+id, "", map[string]string{"Authorization": "Bearer " + token})
			return code(status, body)
		}
		if got := patch(admin.AccessToken, adminID, "owner"); got != "403 insufficient_permission" {
			t.Errorf("admin makes themselves owner: %s", got)
		}
		if got := patch(admin.AccessToken, ownerID, "viewer"); got != "403 insufficient_permission" {
			t.Errorf("admin demotes the owner: %s", got)
		}
		if got := remove(admin.AccessToken, ownerID); got != "403 insufficient_permission" {
			t.Errorf("admin removes the owner: %s", got)
		}
		if got := patch(owner.AccessToken, ownerID, "admin"); got != "409 last_owner" {
			t.Errorf("the last owner demotes themselves: %s", got)
		}
		if got := remove(owner.AccessToken, ownerID); got != "409 last_owner" {
			t.Errorf("the last owner leaves: %s", got)
		}
		if got := patch(owner.AccessToken, adminID, "superuser"); got != "422 validation_error" {
			t.Errorf("unknown role: %s", got)
		}
		if got := patch(owner.AccessToken, adminID, "OWNER"); got != "200" {
			t.Errorf("owner makes the admin an owner: %s", got)
		}
		if got := patch(owner.AccessToken, ownerID, "admin"); got != "200" {
			t.Errorf("an owner steps down when another owner remains: %s", got)
		}
		// Two owners demoting each other at once: exactly one of them succeeds.
		e.join(admin.AccessToken, "third@example.com", "owner")
		third := e.loginWith("third@example.com", "a perfectly fine password")
		adminNow := e.loginWith("the-admin@example.com", "a perfectly fine password")
		thirdID := e.memberID(adminNow, "third@example.com")
		var wg sync.WaitGroup
		results := make([]string, 2)
		for i, c := range []struct{ token, target string }{{adminNow, thirdID}, {third, adminID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _, body := e.do("PATCH", "/v1/team/members/"+c.target, `{"role":"viewer"}`, map[string]string{"Authorization": "Bearer " + c.token})
				results[i] = fmt.Sprint(status, " ", body["detail"])
			}()
		}
		wg.Wait()
		members, _ := e.client.ListTeamMembersWithResponse(ctx, bearer(owner.AccessToken)) // an admin now
		owners := 0
		if members.JSON200 != nil {
			for _, m := range members.JSON200.Items {
				if m.Role == client.Owner {
					owners++
				}
			}
		}
		if members.JSON200 == nil || owners != 1 {
			t.Errorf("two owners demoting each other: %d owners left (%v), want exactly one", owners, results)
		}
	})
}

func TestRemovalRevokesKeysAndSessions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("keeper@example.com", "a perfectly fine password")
		member := e.join(owner.AccessToken, "leaver@example.com", "editor")
		key := e.createKey(member.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "member's"})
		ownerKey := e.createKey(owner.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "owner's"})
		id := e.memberID(owner.AccessToken, "leaver@example.com")

		// A role change counts on the very next request.
		if status, _, _ := e.do("PATCH", "/v1/team/members/"+id, `{"role":"viewer"}`, map[string]string{"Authorization": "Bearer " + owner.AccessToken}); status != http.StatusOK {
			t.Fatalf("demote: %d", status)
		}
		if status, _, _ := e.do("GET", "/v1/api-keys", "", map[string]string{"Authorization": "Bearer " + member.AccessToken}); status != http.StatusForbidden {
			t.Errorf("list keys right after the demotion to viewer: %d, want 403", status)
		}

		r, err := e.client.RemoveTeamMemberWithResponse(ctx, uuid.MustParse(id), bearer(owner.AccessToken))
		if err != nil || r.JSON200 == nil || r.JSON200.RevokedAPIKeys != 1 || !strings.Contains(r.JSON200.Message, "1") {
			t.Fatalf("remove: %v %s, want one key revoked, said in the message", err, r.Body)
		}
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + member.AccessToken}); status != http.StatusUnauthorized {
			t.Errorf("the removed member's session in that organization: %d, want 401", status)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": key.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("the removed member's key: %d, want 401", status)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": ownerKey.APIKey}); status != http.StatusOK {
			t.Errorf("the owner's key after the removal: %d, want 200", status)
		}
		// They still have their own organization.
		if login := e.loginWith("leaver@example.com", "a perfectly fine password"); login == "" {
			t.Error("the removed member cannot log in to their own organization")
		}
		// Ids of another organization are 404, as unknown ones.
		stranger := e.register("stranger@example.com", "a perfectly fine password")
		ownerMember := e.memberID(owner.AccessToken, "keeper@example.com")
		for _, c := range []struct{ method, path, body string }{
			{"PATCH", "/v1/team/members/" + ownerMember, `{"role":"viewer"}`},
			{"DELETE", "/v1/team/members/" + ownerMember, ""},
			{"DELETE", "/v1/team/invitations/" + uuid.NewString(), ""},
			{"POST", "/v1/team/invitations/" + uuid.NewString() + "/resend", ""},
		} {
			if status, _, _ := e.do(c.method, c.path, c.body, map[string]string{"Authorization": "Bearer " + stranger.AccessToken}); status != http.StatusNotFound {
				t.Errorf("%s %s from another organization: %d, want 404", c.method, c.path, status)
			}
		}
	})
}

func TestConcurrentDoubleAcceptHasOneWinner(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		owner := e.register("race-owner@example.com", "a perfectly fine password")
		invitee := e.register("racer@example.com", "a perfectly fine password")
		_, link := e.invite(owner.AccessToken, "racer@example.com", "editor")
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i], _ = e.accept(invitee.AccessToken, link)
			}()
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			if s == http.StatusOK {
				ok++
			} else if s != http.StatusBadRequest {
				t.Errorf("a losing accept answered %d, want 400", s)
			}
		}
		if ok != 1 {
			t.Errorf("%d accepts succeeded (%v), want exactly 1", ok, statuses)
		}
	})
}

// call is do for any JSON answer: an error object comes back decoded, a list as nil.
func (e *env) call(method, path, body, token string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestNobodyIsLeftWithoutAnOrganization: a user who leaves their only organization (another owner
// stays) gets a new one of their own at the next login.
func TestNobodyIsLeftWithoutAnOrganization(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		founder := e.register("founder@example.com", "a perfectly fine password")
		e.verify(founder.AccessToken, "founder@example.com") // making an owner needs a verified address
		partner := e.join(founder.AccessToken, "partner@example.com", "owner")
		// The founder leaves their own organization, where the partner is an owner too.
		id := e.memberID(partner.AccessToken, "founder@example.com")
		if status, _, body := e.do("DELETE", "/v1/team/members/"+id, "", map[string]string{"Authorization": "Bearer " + founder.AccessToken}); status != http.StatusOK {
			t.Fatalf("the founder leaves: %d %v", status, body)
		}
		login, err := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: "founder@example.com", Password: "a perfectly fine password"})
		if err != nil || login.JSON200 == nil {
			t.Fatalf("login with no organization left: %v %s", err, login.Body)
		}
		if login.JSON200.Organization.ID == founder.Organization.ID || login.JSON200.OrganizationRole != client.Owner || len(login.JSON200.AvailableOrganizations) != 1 {
			t.Errorf("login answered %+v, want a new organization of their own, as owner", login.JSON200.Organization)
		}
	})
}

// lastLines is the end of a log, for a failure message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestControlOfTheOrganizationNeedsARecentPassword: a stolen session past the re-authentication
// window cannot bring in anyone (every role can read something a thief wants, and a member outlives
// the session), change a role, nor remove an owner, without the password.
func TestControlOfTheOrganizationNeedsARecentPassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		owner := e.register("guarded@example.com", "a perfectly fine password")
		e.verify(owner.AccessToken, "guarded@example.com") // making an owner needs a verified address
		coOwner := e.join(owner.AccessToken, "co-owner@example.com", "owner")
		pending, _ := e.invite(owner.AccessToken, "pending@example.com", "viewer")
		e.clock.Advance(11 * time.Minute)
		stale := map[string]string{"Authorization": "Bearer " + owner.AccessToken}
		coID := e.memberID(owner.AccessToken, "co-owner@example.com")
		for _, c := range []struct{ name, method, path, body string }{
			{"invite an owner", "POST", "/v1/team/invitations", `{"email":"accomplice@example.com","role":"owner"}`},
			{"invite an admin", "POST", "/v1/team/invitations", `{"email":"accomplice@example.com","role":"admin","current_password":"a wrong guess"}`},
			{"demote an owner", "PATCH", "/v1/team/members/" + coID, `{"role":"viewer"}`},
			{"invite an editor", "POST", "/v1/team/invitations", `{"email":"editor@example.com","role":"editor"}`},
			{"invite a viewer", "POST", "/v1/team/invitations", `{"email":"viewer@example.com","role":"viewer"}`},
			{"send an invitation again", "POST", "/v1/team/invitations/" + pending.ID.String() + "/resend", ""},
			{"remove an owner", "DELETE", "/v1/team/members/" + coID, ""},
		} {
			status, _, body := e.do(c.method, c.path, c.body, stale)
			if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "reauthentication_required" {
				t.Errorf("%s from a stale session: %d %s, want 403 reauthentication_required", c.name, status, code)
			}
		}
		if status, _, body := e.do("POST", "/v1/team/invitations", `{"email":"new-admin@example.com","role":"admin","current_password":"a perfectly fine password"}`, stale); status != http.StatusCreated {
			t.Errorf("invite an admin with the password: %d %v, want 201", status, body)
		}
		_ = coOwner
	})
}

// TestHandOverNeedsASettledAddress: nobody is made an owner from an account whose address is not
// settled (never verified, a change pending, or a change the former address can still revert):
// proving or reverting the address later undoes what the account did, which would remove that owner,
// so a founder could hand the organization over and take it back (and a thief who moved the address
// could hand it to an accomplice). Other roles may still be given.
func TestHandOverNeedsASettledAddress(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		founder := e.register("handover@example.com", "a perfectly fine password")
		e.join(founder.AccessToken, "handover-admin@example.com", "admin")
		adminID := e.memberID(founder.AccessToken, "handover-admin@example.com")
		refused := func(when, token string) {
			t.Helper()
			status, body := e.call("POST", "/v1/team/invitations", `{"email":"new-owner@example.com","role":"owner"}`, token)
			if code, msg := errorOf(t, body); status != http.StatusForbidden || code != "insufficient_permission" || !strings.Contains(msg, "verified") {
				t.Errorf("owner invitation %s: %d %s %q, want 403 insufficient_permission about a verified address", when, status, code, msg)
			}
			status, body = e.call("PATCH", "/v1/team/members/"+adminID, `{"role":"owner"}`, token)
			if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "insufficient_permission" {
				t.Errorf("promotion to owner %s: %d %s, want 403 insufficient_permission", when, status, code)
			}
		}
		refused("from a never verified address", founder.AccessToken)
		e.verify(founder.AccessToken, "handover@example.com")
		session := e.loginWith("handover@example.com", "a perfectly fine password")
		// Sent while the address was settled: neither resent nor accepted until it is again.
		early, earlyLink := e.invite(session, "early-owner@example.com", "owner")
		confirm := e.requestEmailChange(session, "handover-moved@example.com")
		refused("with an address change pending", session)
		if status := e.confirmEmailChange(confirm); status != http.StatusOK {
			t.Fatalf("confirm the change: %d", status)
		}
		session = e.loginWith("handover-moved@example.com", "a perfectly fine password")
		refused("while the former address can revert the change", session)
		status, body := e.call("POST", "/v1/team/invitations/"+early.ID.String()+"/resend", `{}`, session)
		if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "insufficient_permission" {
			t.Errorf("resending an owner invitation while the change can be reverted: %d %s, want 403 insufficient_permission", status, code)
		}
		status, _, out := e.do("POST", "/v1/auth/register", `{"full_name":"Early","email":"early-owner@example.com",`+
			`"password":"a perfectly fine password","invite_token":"`+earlyLink+`"}`, nil)
		if code, _ := errorOf(t, out); status != http.StatusBadRequest || code != "invalid_invitation_token" {
			t.Errorf("accepting an owner invitation while its sender's change can be reverted: %d %s, want 400 invalid_invitation_token", status, code)
		}
		if status, body := e.call("POST", "/v1/team/invitations", `{"email":"new-admin@example.com","role":"admin"}`, session); status != http.StatusCreated {
			t.Errorf("an admin invitation meanwhile: %d %v, want 201", status, body)
		}
		// Once the revert link has expired, the address is settled.
		e.clock.Advance(7*24*time.Hour + time.Minute)
		session = e.loginWith("handover-moved@example.com", "a perfectly fine password")
		if status, body := e.call("PATCH", "/v1/team/members/"+adminID, `{"role":"owner"}`, session); status != http.StatusOK {
			t.Fatalf("promotion to owner from a settled address: %d %v, want 200", status, body)
		}
		if status, body := e.call("POST", "/v1/team/invitations", `{"email":"new-owner@example.com","role":"owner"}`, session); status != http.StatusCreated {
			t.Errorf("owner invitation from a settled address: %d %v, want 201", status, body)
		}
	})
}
