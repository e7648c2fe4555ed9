package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/account"
)

// wantEntry is an activity-log entry a test expects: "" for a field that must be null.
type wantEntry struct {
	action, status           string
	actorType, actor, label  string
	resourceType, resourceID string
	requestID                string
	meta                     map[string]any // a subset of the entry's metadata
}

// withRequestID sends the call with X-Request-ID id, which the entries it causes must carry.
func withRequestID(id string) client.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Request-ID", id)
		return nil
	}
}

// logOf reads the whole log of token's organization, oldest first, after the entries recorded off
// the request path are written.
func (e *env) logOf(token string) []client.ActivityLog {
	e.t.Helper()
	e.stack.Accounts.Wait()
	var out []client.ActivityLog
	q := url.Values{"limit": {"200"}}
	for {
		status, page, body := e.activity(map[string]string{"Authorization": "Bearer " + token}, q)
		if status != http.StatusOK {
			e.t.Fatalf("read the log: %d %v", status, body)
		}
		out = append(out, page.Items...)
		next, err := page.NextCursor.Get()
		if err != nil {
			break
		}
		q.Set("cursor", next)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// checkLog compares a log, oldest first, with the entries expected, in order.
func checkLog(t *testing.T, got []client.ActivityLog, expected []wantEntry) {
	t.Helper()
	for i := range max(len(got), len(expected)) {
		switch {
		case i >= len(got):
			t.Errorf("entry %d: missing, want %s %s (%s)", i, expected[i].action, expected[i].status, expected[i].requestID)
			continue
		case i >= len(expected):
			t.Errorf("entry %d: got %s %s (%s), want no more entries", i, got[i].Action, got[i].Status, orEmpty(got[i].RequestID.Get()))
			continue
		}
		g, w := got[i], expected[i]
		status := w.status
		if status == "" {
			status = account.StatusSuccess
		}
		info := account.Catalogue[w.action]
		fields := []struct{ name, got, want string }{
			{"action", string(g.Action), w.action},
			{"status", string(g.Status), status},
			{"category", string(g.Category), info.Category},
			{"message", g.Message, info.Messages[status]},
			{"actor_type", g.ActorType, w.actorType},
			{"actor_user_id", idOf(g.ActorUserID), w.actor},
			{"actor_label", orEmpty(g.ActorLabel.Get()), w.label},
			{"resource_type", orEmpty(g.ResourceType.Get()), w.resourceType},
			{"resource_id", idOf(g.ResourceID), w.resourceID},
			{"request_id", orEmpty(g.RequestID.Get()), w.requestID},
			{"metadata.source_address", fmt.Sprint(g.Metadata["source_address"]), "127.0.0.1"},
		}
		for _, f := range fields {
			if f.got != f.want {
				t.Errorf("entry %d (%s, request %s): %s = %q, want %q", i, w.action, w.requestID, f.name, f.got, f.want)
			}
		}
		for k, v := range w.meta {
			gv, _ := json.Marshal(g.Metadata[k])
			wv, _ := json.Marshal(v)
			if string(gv) != string(wv) {
				t.Errorf("entry %d (%s): metadata.%s = %s, want %s", i, w.action, k, gv, wv)
			}
		}
		if g.RetentionDays != 7 || !g.ExpiresAt.Equal(g.CreatedAt.AddDate(0, 0, 7)) {
			t.Errorf("entry %d (%s): retention %d days until %v, want the free plan's 7 days after %v", i, w.action, g.RetentionDays, g.ExpiresAt, g.CreatedAt)
		}
	}
}

func orEmpty(s string, err error) string {
	if err != nil {
		return ""
	}
	return s
}

func idOf(n nullable.Nullable[uuid.UUID]) string {
	v, err := n.Get()
	if err != nil {
		return ""
	}
	return v.String()
}

// TestActivityCatalogue runs every flow of the catalogue once (and the repeats that change nothing)
// and reads the organization's log: each action recorded once by the flow that causes it, in order,
// with the right status, actor, resource, request id and source address, and nothing else.
func TestActivityCatalogue(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		const email, pw1, pw2, pw3 = "alice@example.com", "a perfectly fine password", "a second fine password", "a third fine password"
		var log []wantEntry
		expect := func(w wantEntry) { log = append(log, w) }
		ok := func(what string, status, wantStatus int, body []byte) {
			t.Helper()
			if status != wantStatus {
				t.Fatalf("%s: %d %s, want %d", what, status, body, wantStatus)
			}
		}

		reg, err := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: "Alice", Email: email, Password: pw1}, withRequestID("r-register"))
		if err != nil || reg.JSON201 == nil {
			t.Fatalf("register: %v %s", err, reg.Body)
		}
		alice, org := reg.JSON201.User.ID.String(), reg.JSON201.Organization.ID.String()
		asAlice := func(label string) wantEntry {
			return wantEntry{actorType: "user", actor: alice, label: label, resourceType: "user", resourceID: alice}
		}
		entry := func(w wantEntry, action, status, rid string, meta map[string]any) wantEntry {
			w.action, w.status, w.requestID, w.meta = action, status, rid, meta
			return w
		}
		expect(entry(asAlice(email), account.ActionRegister, "", "r-register", nil))

		login := func(rid, password string, wantStatus int) string {
			r, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: email, Password: password}, withRequestID(rid))
			if err != nil {
				t.Fatal(err)
			}
			ok("login "+rid, r.StatusCode(), wantStatus, r.Body)
			if r.JSON200 != nil {
				return r.JSON200.AccessToken
			}
			return ""
		}
		token := login("r-login", pw1, http.StatusOK)
		expect(entry(asAlice(email), account.ActionLogin, "", "r-login", nil))
		login("r-login-wrong", "not the password", http.StatusUnauthorized)
		expect(wantEntry{action: account.ActionLogin, status: "failed", actorType: "user", label: "unauthenticated",
			resourceType: "user", resourceID: alice, requestID: "r-login-wrong"})
		if r, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "nobody@example.com", Password: pw1}, withRequestID("r-unknown")); r.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("login of an unknown email: %d", r.StatusCode())
		}

		// API keys (configuration).
		key, err := e.client.CreateAPIKeyWithResponse(ctx, client.CreateAPIKeyJSONRequestBody{Name: "publisher", Scopes: &[]client.APIKeyScope{client.Read, client.Write}}, bearer(token), withRequestID("r-key-create"))
		if err != nil || key.JSON201 == nil {
			t.Fatalf("create key: %v %s", err, key.Body)
		}
		keyID := key.JSON201.ID
		asAliceOnKey := wantEntry{actorType: "user", actor: alice, label: email, resourceType: "api_key", resourceID: keyID.String()}
		expect(entry(asAliceOnKey, account.ActionAPIKeyCreated, "", "r-key-create", map[string]any{
			"name": "publisher", "prefix": *key.JSON201.Prefix, "scopes": []string{"read", "write"}, "environment": "production"}))
		name := "renamed"
		upd, _ := e.client.UpdateAPIKeyWithResponse(ctx, keyID, client.UpdateAPIKeyJSONRequestBody{Name: &name}, bearer(token), withRequestID("r-key-update"))
		ok("update key", upd.StatusCode(), http.StatusOK, upd.Body)
		expect(entry(asAliceOnKey, account.ActionAPIKeyUpdated, "", "r-key-update", map[string]any{"name": "renamed", "changed": []string{"name"}}))
		for _, rid := range []string{"r-key-revoke", "r-key-revoke-again"} {
			rev, _ := e.client.RevokeAPIKeyWithResponse(ctx, keyID, bearer(token), withRequestID(rid))
			ok(rid, rev.StatusCode(), http.StatusOK, rev.Body)
		}
		expect(entry(asAliceOnKey, account.ActionAPIKeyRevoked, "", "r-key-revoke", map[string]any{"name": "renamed"}))

		// Projects (configuration).
		var sandbox string
		for _, rid := range []string{"r-sandbox", "r-sandbox-again"} {
			sb, _ := e.client.CreateSandboxProjectWithResponse(ctx, client.CreateSandboxProjectJSONRequestBody{}, bearer(token), withRequestID(rid))
			ok(rid, sb.StatusCode(), http.StatusOK, sb.Body)
			for _, p := range sb.JSON200.Projects {
				if p.Environment == client.ProjectEnvironmentSandbox {
					sandbox = p.ID.String()
				}
			}
		}
		asAliceOnSandbox := wantEntry{actorType: "user", actor: alice, label: email, resourceType: "project", resourceID: sandbox}
		expect(entry(asAliceOnSandbox, account.ActionSandboxCreated, "", "r-sandbox", map[string]any{"name": "Sandbox", "environment": "sandbox"}))
		rs, _ := e.client.ResetSandboxProjectWithResponse(ctx, bearer(token), withRequestID("r-sandbox-reset"))
		ok("reset sandbox", rs.StatusCode(), http.StatusOK, rs.Body)
		expect(entry(asAliceOnSandbox, account.ActionSandboxReset, "", "r-sandbox-reset", nil))
		sw, _ := e.client.SwitchProjectWithResponse(ctx, client.SwitchProjectJSONRequestBody{ProjectID: uuidOf(t, sandbox)}, bearer(token), withRequestID("r-switch"))
		ok("switch", sw.StatusCode(), http.StatusOK, sw.Body)
		expect(entry(asAliceOnSandbox, account.ActionProjectSwitched, "", "r-switch", map[string]any{"from_organization_id": org}))

		// Verification, then recovery: the request by nobody in particular, the reset by the link's
		// holder, which ends every session.
		if r, _ := e.client.RequestEmailVerificationWithResponse(ctx, bearer(token)); r.StatusCode() != http.StatusOK {
			t.Fatalf("request verification: %d", r.StatusCode())
		}
		verify := e.linkTo(email, "/verify-email")
		v, _ := e.client.VerifyEmailWithResponse(ctx, &client.VerifyEmailParams{Token: verify}, withRequestID("r-verify"))
		ok("verify", v.StatusCode(), http.StatusOK, v.Body)
		expect(entry(asAlice(email), account.ActionEmailVerified, "", "r-verify", nil))
		fp, _ := e.client.ForgotPasswordWithResponse(ctx, client.ForgotPasswordJSONRequestBody{Email: email}, withRequestID("r-forgot"))
		ok("forgot", fp.StatusCode(), http.StatusOK, fp.Body)
		resetToken := e.linkTo(email, "/reset-password")
		expect(wantEntry{action: account.ActionPasswordResetRequest, actorType: "user", label: "unauthenticated", resourceType: "user", resourceID: alice, requestID: "r-forgot"})
		e.clock.Advance(time.Second)
		rp, _ := e.client.ResetPasswordWithResponse(ctx, client.ResetPasswordJSONRequestBody{Token: resetToken, Password: pw2}, withRequestID("r-reset"))
		ok("reset", rp.StatusCode(), http.StatusOK, rp.Body)
		expect(entry(asAlice(email), account.ActionPasswordResetComplete, "", "r-reset", nil))
		expect(entry(asAlice(email), account.ActionSessionsRevoked, "", "r-reset", map[string]any{"reason": "password_reset"}))

		// Password change: a wrong current password, then the change, which ends the other sessions.
		token = login("r-login-2", pw2, http.StatusOK)
		expect(entry(asAlice(email), account.ActionLogin, "", "r-login-2", nil))
		wrong, _ := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: "not the password", NewPassword: pw3}, bearer(token), withRequestID("r-change-wrong"))
		ok("wrong change", wrong.StatusCode(), http.StatusBadRequest, wrong.Body)
		expect(entry(asAlice(email), account.ActionPasswordChanged, "failed", "r-change-wrong", nil))
		ch, _ := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: pw2, NewPassword: pw3}, bearer(token), withRequestID("r-change"))
		ok("change", ch.StatusCode(), http.StatusOK, ch.Body)
		token = *ch.JSON200.AccessToken
		expect(entry(asAlice(email), account.ActionPasswordChanged, "", "r-change", nil))
		expect(entry(asAlice(email), account.ActionSessionsRevoked, "", "r-change", map[string]any{"reason": "password_change"}))

		// Email change: requested by the session, confirmed by the new address's link, undone by the
		// former address's.
		const newEmail = "alice-new@example.com"
		req, _ := e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{NewEmail: newEmail}, bearer(token), withRequestID("r-email-change"))
		ok("email change", req.StatusCode(), http.StatusOK, req.Body)
		expect(entry(asAlice(email), account.ActionEmailChangeRequested, "", "r-email-change", map[string]any{"new_email": newEmail}))
		confirm := e.linkTo(newEmail, "/confirm-email-change")
		cf, _ := e.client.ConfirmEmailChangeWithResponse(ctx, &client.ConfirmEmailChangeParams{Token: confirm}, withRequestID("r-email-confirm"))
		ok("confirm", cf.StatusCode(), http.StatusOK, cf.Body)
		expect(entry(asAlice(newEmail), account.ActionEmailChangeConfirmed, "", "r-email-confirm", map[string]any{"previous_email": email, "new_email": newEmail}))
		revert := e.linkTo(email, "/revert-email-change")
		rv, _ := e.client.RevertEmailChangeWithResponse(ctx, client.RevertEmailChangeJSONRequestBody{Token: revert}, withRequestID("r-email-revert"))
		ok("revert", rv.StatusCode(), http.StatusOK, rv.Body)
		expect(entry(asAlice(email), account.ActionEmailChangeReverted, "", "r-email-revert", map[string]any{"restored_email": email, "replaced_email": newEmail, "revoked_api_keys": 0}))
		expect(entry(asAlice(email), account.ActionSessionsRevoked, "", "r-email-revert", map[string]any{"reason": "email_change_reverted"}))
		// The revert ends the password; the restored address chooses a new one with the link it got.
		rp2, _ := e.client.ResetPasswordWithResponse(ctx, client.ResetPasswordJSONRequestBody{Token: e.linkTo(email, "/reset-password"), Password: pw3}, withRequestID("r-reset-2"))
		ok("reset after the revert", rp2.StatusCode(), http.StatusOK, rp2.Body)
		expect(entry(asAlice(email), account.ActionPasswordResetComplete, "", "r-reset-2", nil))
		expect(entry(asAlice(email), account.ActionSessionsRevoked, "", "r-reset-2", map[string]any{"reason": "password_reset"}))
		token = login("r-login-3", pw3, http.StatusOK)
		expect(entry(asAlice(email), account.ActionLogin, "", "r-login-3", nil))

		// Team: an invitation sent, resent, accepted by registering; the member's role changed (a
		// change to the same role is none), then the member removed; another invitation revoked twice.
		inv, err := e.client.CreateTeamInvitationWithResponse(ctx, client.CreateTeamInvitationJSONRequestBody{Email: "bob@example.com", Role: "editor"}, bearer(token), withRequestID("r-invite"))
		if err != nil || inv.JSON201 == nil {
			t.Fatalf("invite: %v %s", err, inv.Body)
		}
		e.linkTo("bob@example.com", "/accept-invitation")
		invID := inv.JSON201.ID.String()
		asAliceOnInvitation := wantEntry{actorType: "user", actor: alice, label: email, resourceType: "team_invitation", resourceID: invID}
		invMeta := map[string]any{"email": "bob@example.com", "role": "editor"}
		expect(entry(asAliceOnInvitation, account.ActionInvitationCreated, "", "r-invite", invMeta))
		rsn, _ := e.client.ResendTeamInvitationWithResponse(ctx, inv.JSON201.ID, client.ResendTeamInvitationJSONRequestBody{}, bearer(token), withRequestID("r-invite-resend"))
		ok("resend", rsn.StatusCode(), http.StatusOK, rsn.Body)
		expect(entry(asAliceOnInvitation, account.ActionInvitationResent, "", "r-invite-resend", invMeta))
		link := e.linkTo("bob@example.com", "/accept-invitation")
		bob, err := e.client.RegisterWithResponse(ctx, client.RegisterJSONRequestBody{FullName: "Bob", Email: "bob@example.com", Password: pw1, InviteToken: &link}, withRequestID("r-bob"))
		if err != nil || bob.JSON201 == nil {
			t.Fatalf("bob registers with the invitation: %v %s", err, bob.Body)
		}
		bobID := bob.JSON201.User.ID.String()
		expect(wantEntry{action: account.ActionInvitationAccepted, actorType: "user", actor: bobID, label: "bob@example.com",
			resourceType: "team_invitation", resourceID: invID, requestID: "r-bob", meta: invMeta})
		member := e.memberID(token, "bob@example.com")
		asAliceOnMember := wantEntry{actorType: "user", actor: alice, label: email, resourceType: "team_member", resourceID: member}
		for _, rid := range []string{"r-role", "r-role-again"} {
			r, _ := e.client.UpdateTeamMemberWithResponse(ctx, uuidOf(t, member), client.UpdateTeamMemberJSONRequestBody{Role: "viewer"}, bearer(token), withRequestID(rid))
			ok(rid, r.StatusCode(), http.StatusOK, r.Body)
		}
		expect(entry(asAliceOnMember, account.ActionMemberRoleChanged, "", "r-role", map[string]any{"user_id": bobID, "from": "editor", "to": "viewer"}))
		rm, _ := e.client.RemoveTeamMemberWithResponse(ctx, uuidOf(t, member), bearer(token), withRequestID("r-remove"))
		ok("remove", rm.StatusCode(), http.StatusOK, rm.Body)
		expect(entry(asAliceOnMember, account.ActionMemberRemoved, "", "r-remove", map[string]any{"user_id": bobID, "role": "viewer", "left": false, "revoked_api_keys": 0}))
		carol, _ := e.client.CreateTeamInvitationWithResponse(ctx, client.CreateTeamInvitationJSONRequestBody{Email: "carol@example.com", Role: "viewer"}, bearer(token), withRequestID("r-invite-carol"))
		ok("invite carol", carol.StatusCode(), http.StatusCreated, carol.Body)
		asAliceOnCarol := wantEntry{actorType: "user", actor: alice, label: email, resourceType: "team_invitation", resourceID: carol.JSON201.ID.String()}
		carolMeta := map[string]any{"email": "carol@example.com", "role": "viewer"}
		expect(entry(asAliceOnCarol, account.ActionInvitationCreated, "", "r-invite-carol", carolMeta))
		for _, rid := range []string{"r-invite-revoke", "r-invite-revoke-again"} {
			r, _ := e.client.RevokeTeamInvitationWithResponse(ctx, carol.JSON201.ID, bearer(token), withRequestID(rid))
			ok(rid, r.StatusCode(), http.StatusOK, r.Body)
		}
		expect(entry(asAliceOnCarol, account.ActionInvitationRevoked, "", "r-invite-revoke", carolMeta))

		// An email change from a session past the re-authentication window, with a wrong password.
		e.clock.Advance(11 * time.Minute)
		wrongPW := "not the password"
		late, _ := e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{NewEmail: "elsewhere@example.com", CurrentPassword: &wrongPW}, bearer(token), withRequestID("r-reauth-wrong"))
		ok("late email change", late.StatusCode(), http.StatusForbidden, late.Body)
		expect(entry(asAlice(email), account.ActionEmailChangeRequested, "failed", "r-reauth-wrong", nil))

		checkLog(t, e.logOf(token), log)
		seen := map[string]bool{}
		for _, w := range log {
			seen[w.action] = true
		}
		elsewhere := map[string]string{ // recorded, and checked, by other tests
			account.ActionLoginLocked: "TestLoginCeilingRecorded", account.ActionAPIKeyRotated: "TestKeyRotationWithOverlap",
			account.ActionAPIKeyLeakRevoked: "TestLeakedKeysRevokeThemselves", account.ActionAdminResetLink: "internal/admin TestAdminCommands",
			account.ActionAdminVerified: "internal/admin TestAdminCommands", account.ActionAdminUnlocked: "internal/admin TestAdminCommands",
			account.ActionAdminSessionsEnded: "internal/admin TestAdminCommands", account.ActionAdminKeyRevoked: "internal/admin TestAdminCommands",
		}
		for a := range account.Catalogue {
			if _, ok := elsewhere[a]; !seen[a] && !ok {
				t.Errorf("catalogue action %s: not exercised by this test", a)
			}
		}
		// Bob's own organization holds his registration only; his acceptance is in Alice's.
		bobsOwn := e.sql.Strings(t, "SELECT action || ' ' || request_id FROM activity_logs WHERE organization_id = (SELECT organization_id FROM users WHERE id = ?)", bobID)
		if fmt.Sprint(bobsOwn) != "[auth.register r-bob]" {
			t.Errorf("Bob's own organization's log = %v, want only his registration", bobsOwn)
		}
	})
}

func uuidOf(t *testing.T, s string) uuid.UUID {
	t.Helper()
	u, err := uuid.Parse(s)
	if err != nil {
		t.Fatalf("%q is not a UUID: %v", s, err)
	}
	return u
}

// TestActivityRollsBackWithTheChange: a change that fails after its event was written (the
// password change's notice cannot be queued: a trigger refuses it) leaves no event, and no change;
// the same change, once it can commit, has its events.
func TestActivityRollsBackWithTheChange(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("rollback@example.com", "a perfectly fine password")
		if e.store.Postgres() {
			e.sql.Exec(t, `CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox refused by the test'; END $$`)
			e.sql.Exec(t, `CREATE TRIGGER refuse_outbox BEFORE INSERT ON email_outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()`)
		} else {
			e.sql.Exec(t, `CREATE TRIGGER refuse_outbox BEFORE INSERT ON email_outbox BEGIN SELECT RAISE(ABORT, 'outbox refused by the test'); END`)
		}
		change := func() int {
			status, _, _ := e.do("POST", "/v1/auth/change-password", `{"current_password":"a perfectly fine password","new_password":"a brand new password"}`,
				map[string]string{"Authorization": "Bearer " + a.AccessToken})
			return status
		}
		changes := func() int64 {
			return e.sql.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE action IN ('auth.password.changed', 'auth.sessions.revoked')")
		}
		if status := change(); status != http.StatusInternalServerError {
			t.Fatalf("change with the outbox refusing: %d, want 500", status)
		}
		if n := changes(); n != 0 {
			t.Errorf("%d events of the change that rolled back, want none", n)
		}
		if e.loginWith("rollback@example.com", "a perfectly fine password") == "" {
			t.Error("the old password no longer works: the change was not rolled back")
		}
		if e.store.Postgres() {
			e.sql.Exec(t, `DROP TRIGGER refuse_outbox ON email_outbox`)
		} else {
			e.sql.Exec(t, `DROP TRIGGER refuse_outbox`)
		}
		if status := change(); status != http.StatusOK {
			t.Fatalf("change: %d, want 200", status)
		}
		if n := changes(); n != 2 {
			t.Errorf("%d events of the change that committed, want 2 (changed, sessions revoked)", n)
		}
	})
}

// TestLoginWithInvitationIsRecordedWhereItJoins: login with invite_token records the acceptance
// and the sign-in in the organization joined (where the session opens), with the login's request id.
func TestLoginWithInvitationIsRecordedWhereItJoins(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.register("owner@example.com", "a perfectly fine password")
		guest := e.register("guest@example.com", "a perfectly fine password")
		inv, link := e.invite(owner.AccessToken, "guest@example.com", "viewer")
		r, err := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "guest@example.com", Password: "a perfectly fine password", InviteToken: &link}, withRequestID("r-join"))
		if err != nil || r.JSON200 == nil {
			t.Fatalf("login with the invitation: %v %s", err, r.Body)
		}
		if r.JSON200.Organization.ID != owner.Organization.ID {
			t.Fatalf("the session is in %s, want the organization joined", r.JSON200.Organization.ID)
		}
		got := e.logOf(owner.AccessToken)
		guestID := guest.User.ID.String()
		checkLog(t, got[len(got)-2:], []wantEntry{
			{action: account.ActionInvitationAccepted, actorType: "user", actor: guestID, label: "guest@example.com",
				resourceType: "team_invitation", resourceID: inv.ID.String(), requestID: "r-join", meta: map[string]any{"role": "viewer"}},
			{action: account.ActionLogin, actorType: "user", actor: guestID, label: "guest@example.com",
				resourceType: "user", resourceID: guestID, requestID: "r-join"},
		})
		if n := e.sql.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE organization_id = ? AND request_id = 'r-join'", guest.Organization.ID.String()); n != 0 {
			t.Errorf("%d entries of the join in the guest's own organization, want none", n)
		}
	})
}
