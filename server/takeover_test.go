package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/pinbridge/pinbridge-auth/gen/client"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/internal/testsmtp"
)

// Takeover paths found by a second attack review, after the first one's were closed: each test
// walks the attack and asserts the owner keeps (or gets back) the account.

// revert uses a "this wasn't me" link and returns the status and the restored address.
func (e *env) revert(token string) (int, string) {
	e.t.Helper()
	r, err := e.client.RevertEmailChangeWithResponse(context.Background(), client.RevertEmailChangeJSONRequestBody{Token: token})
	if err != nil {
		e.t.Fatal(err)
	}
	if r.JSON200 == nil {
		return r.StatusCode(), ""
	}
	return r.StatusCode(), r.JSON200.Email
}

// revertLink is the "this wasn't me" link in the newest email-change notice to addr.
func (e *env) revertLink(addr string) string {
	e.t.Helper()
	return e.tokenFrom(e.mailLinking(addr, "/revert-email-change"), "/revert-email-change")
}

// verify proves the address of token's account with the link it is sent.
func (e *env) verify(token, email string) {
	e.t.Helper()
	if r, _ := e.client.VerifyEmailWithResponse(context.Background(), &client.VerifyEmailParams{Token: e.requestVerification(token, email)}); r.StatusCode() != http.StatusOK {
		e.t.Fatalf("verify %s: %d", email, r.StatusCode())
	}
}

// TestEarliestRevertLinkWins: a thief moves the account to x1, takes it over through x1 (reset),
// then moves it to x2, which sends x1 a revert link of its own. Whichever link is used first, the
// owner's (the earliest) restores the owner's address for good: using it retires the thief's, and
// the thief's never retires it.
func TestEarliestRevertLinkWins(t *testing.T) {
	for _, ownerFirst := range []bool{true, false} {
		name := map[bool]string{true: "owner first", false: "thief first"}[ownerFirst]
		t.Run(name, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				owner := e.register("first@example.com", "a perfectly fine password")
				if status := e.confirmEmailChange(e.requestEmailChange(owner.AccessToken, "x1@thief.example")); status != http.StatusOK {
					t.Fatalf("confirm x1: %d", status)
				}
				ownersLink := e.revertLink("first@example.com")
				e.clock.Advance(time.Minute)
				if status, msg := e.reset(e.resetLink("x1@thief.example"), "the thief's password"); status != http.StatusOK {
					t.Fatalf("the thief's reset: %d %s", status, msg)
				}
				thief := e.loginWith("x1@thief.example", "the thief's password")
				e.clock.Advance(time.Minute)
				if status := e.confirmEmailChange(e.requestEmailChange(thief, "x2@thief.example")); status != http.StatusOK {
					t.Fatalf("confirm x2: %d", status)
				}
				thiefsLink := e.revertLink("x1@thief.example")

				if ownerFirst {
					if status, addr := e.revert(ownersLink); status != http.StatusOK || addr != "first@example.com" {
						t.Fatalf("the owner's revert: %d %q", status, addr)
					}
					if status, _ := e.revert(thiefsLink); status != http.StatusBadRequest {
						t.Errorf("the thief's revert after the owner's: %d, want 400", status)
					}
				} else {
					if status, addr := e.revert(thiefsLink); status != http.StatusOK || addr != "x1@thief.example" {
						t.Fatalf("the thief's revert: %d %q", status, addr)
					}
					thiefsReset := e.tokenFrom(e.mailLinking("x1@thief.example", "/reset-password"), "/reset-password")
					if status, addr := e.revert(ownersLink); status != http.StatusOK || addr != "first@example.com" {
						t.Fatalf("the owner's revert after the thief's: %d %q", status, addr)
					}
					if status, _ := e.reset(thiefsReset, "the thief's second password"); status != http.StatusBadRequest {
						t.Errorf("the reset link the thief's revert sent, after the owner's revert: %d, want 400", status)
					}
				}
				restored := e.tokenFrom(e.mailLinking("first@example.com", "/reset-password"), "/reset-password")
				if status, msg := e.reset(restored, "the owner's new password"); status != http.StatusOK {
					t.Fatalf("the owner's reset: %d %s", status, msg)
				}
				if e.loginWith("first@example.com", "the owner's new password") == "" {
					t.Error("the owner cannot log in")
				}
				if r, _ := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: "x1@thief.example", Password: "the thief's password"}); r.StatusCode() != http.StatusUnauthorized {
					t.Errorf("the thief's login at x1: %d, want 401", r.StatusCode())
				}
			})
		})
	}
}

// TestPreHijackUndoReachesEveryAccomplice: the squatter's accomplice (admin) brings in a second
// accomplice and invites a third; the owner's reset removes every one of them, revokes their keys,
// and the pending invitation no longer admits anyone.
func TestPreHijackUndoReachesEveryAccomplice(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		squatter := e.register("victim@example.com", "the squatter's password")
		first := e.join(squatter.AccessToken, "first@accomplice.example", "admin")
		second := e.join(first.AccessToken, "second@accomplice.example", "editor")
		secondKey := e.createKey(second.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "second's"})
		_, pending := e.invite(first.AccessToken, "third@accomplice.example", "admin")
		third := e.register("third@accomplice.example", "a perfectly fine password")

		if status, msg := e.reset(e.resetLink("victim@example.com"), "the victim's password"); status != http.StatusOK {
			t.Fatalf("the owner's reset: %d %s", status, msg)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": secondKey.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("the second accomplice's key: %d, want 401", status)
		}
		if status, _ := e.accept(third.AccessToken, pending); status != http.StatusBadRequest {
			t.Errorf("the third accomplice accepts the first's invitation: %d, want 400", status)
		}
		victim := e.loginWith("victim@example.com", "the victim's password")
		members, _ := e.client.ListTeamMembersWithResponse(context.Background(), bearer(victim))
		if members.JSON200 == nil || len(members.JSON200.Items) != 1 {
			t.Errorf("members after the owner's reset: %s, want the owner alone", members.Body)
		}
		if status, _, _ := e.do("GET", "/v1/api-keys", "", map[string]string{"Authorization": "Bearer " + second.AccessToken}); status == http.StatusOK {
			t.Error("the second accomplice's session still reads the organization's keys")
		}
	})
}

// TestReclaimThroughRevertUndoesTheSquatter: the squatter of a never-verified address moves the
// account to their own address. The notice to the squatted address shows no address they typed,
// and its link, when used, undoes everything the squatter set up, however long ago.
func TestReclaimThroughRevertUndoesTheSquatter(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		squatter := e.register("squatted@example.com", "the squatter's password")
		key := e.createKey(squatter.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "backdoor"})
		accomplice := e.join(squatter.AccessToken, "helper@accomplice.example", "admin")
		accompliceKey := e.createKey(accomplice.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "helper's"})
		e.clock.Advance(time.Hour)
		fresh := e.loginWith("squatted@example.com", "the squatter's password")
		if status := e.confirmEmailChange(e.requestEmailChange(fresh, "call-this-number@squatter.example")); status != http.StatusOK {
			t.Fatalf("confirm: %d", status)
		}
		notice := e.mailLinking("squatted@example.com", "/revert-email-change")
		if strings.Contains(notice.Text, "call-this-number") || strings.Contains(notice.HTML, "call-this-number") {
			t.Errorf("the notice to a never-verified address shows the address the squatter typed:\n%s", notice.Text)
		}
		if status, addr := e.revert(e.tokenFrom(notice, "/revert-email-change")); status != http.StatusOK || addr != "squatted@example.com" {
			t.Fatalf("reclaim: %d %q", status, addr)
		}
		for name, k := range map[string]string{"the squatter's": key.APIKey, "the accomplice's": accompliceKey.APIKey} {
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": k}); status != http.StatusUnauthorized {
				t.Errorf("%s key after the reclaim: %d, want 401", name, status)
			}
		}
		restored := e.tokenFrom(e.mailLinking("squatted@example.com", "/reset-password"), "/reset-password")
		if status, msg := e.reset(restored, "the owner's password"); status != http.StatusOK {
			t.Fatalf("reset: %d %s", status, msg)
		}
		owner := e.loginWith("squatted@example.com", "the owner's password")
		members, _ := e.client.ListTeamMembersWithResponse(context.Background(), bearer(owner))
		if members.JSON200 == nil || len(members.JSON200.Items) != 1 {
			t.Errorf("members after the reclaim: %s, want the owner alone", members.Body)
		}
	})
}

// TestRevertUndoesTheStolenSessionsTeamChanges: the members a stolen session brought in and the
// invitations it sent go with the revert, like its keys.
func TestRevertUndoesTheStolenSessionsTeamChanges(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		owner := e.register("team-owner@example.com", "a perfectly fine password")
		e.verify(owner.AccessToken, "team-owner@example.com")
		e.join(owner.AccessToken, "colleague@example.com", "editor")
		e.clock.Advance(time.Hour)
		stolen := e.loginWith("team-owner@example.com", "a perfectly fine password")
		accomplice := e.join(stolen, "accomplice@thief.example", "editor")
		accompliceKey := e.createKey(accomplice.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "accomplice's"})
		_, pending := e.invite(stolen, "later@thief.example", "viewer")
		later := e.register("later@thief.example", "a perfectly fine password")
		if status := e.confirmEmailChange(e.requestEmailChange(stolen, "taker@thief.example")); status != http.StatusOK {
			t.Fatalf("confirm: %d", status)
		}
		if status, _ := e.revert(e.revertLink("team-owner@example.com")); status != http.StatusOK {
			t.Fatalf("revert: %d", status)
		}
		if status, _ := e.accountsWith(map[string]string{"X-API-Key": accompliceKey.APIKey}); status != http.StatusUnauthorized {
			t.Errorf("the accomplice's key after the revert: %d, want 401", status)
		}
		if status, _ := e.accept(later.AccessToken, pending); status != http.StatusBadRequest {
			t.Errorf("the stolen session's invitation after the revert: %d, want 400", status)
		}
		restored := e.tokenFrom(e.mailLinking("team-owner@example.com", "/reset-password"), "/reset-password")
		if status, msg := e.reset(restored, "the owner's new password"); status != http.StatusOK {
			t.Fatalf("reset: %d %s", status, msg)
		}
		members, _ := e.client.ListTeamMembersWithResponse(context.Background(), bearer(e.loginWith("team-owner@example.com", "the owner's new password")))
		if members.JSON200 == nil || len(members.JSON200.Items) != 2 {
			t.Errorf("members after the revert: %s, want the owner and the colleague", members.Body)
		}
	})
}

// TestReauthenticationIsALogin: a stale session proving itself with the password is held to the
// limits of a login from its address, and a wrong password is recorded as the action it guarded.
func TestReauthenticationIsALogin(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := strictEnv(t, eng, nil)
			owner := e.register("prover@example.com", "a perfectly fine password")
			e.join(owner.AccessToken, "member@example.com", "editor")
			id := e.memberID(owner.AccessToken, "member@example.com")
			e.clock.Advance(11 * time.Minute)
			stale := map[string]string{"Authorization": "Bearer " + owner.AccessToken}

			status, _, body := e.do("POST", "/v1/team/invitations", `{"email":"new@example.com","role":"viewer","current_password":"a wrong guess"}`, stale)
			if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "reauthentication_required" {
				t.Fatalf("a wrong password: %d %s, want 403 reauthentication_required", status, code)
			}
			found := false
			for _, ev := range e.logOf(e.loginWith("prover@example.com", "a perfectly fine password")) {
				if string(ev.Action) == "team.invitation.created" && ev.Status == client.Failed {
					found = true
				}
				if string(ev.Action) == "auth.email_change.requested" {
					t.Errorf("the failed invitation was recorded as %s", ev.Action)
				}
			}
			if !found {
				t.Error("no failed team.invitation.created entry for the wrong password")
			}
			// Right passwords count too, as logins do: the per-account limit of logins from this
			// address (30 in 10 minutes, two spent above) ends the role changes, then the logins.
			roles := []string{"viewer", "editor"}
			var last int
			for i := range 29 {
				last, _, _ = e.do("PATCH", "/v1/team/members/"+id, `{"role":"`+roles[i%2]+`","current_password":"a perfectly fine password"}`, stale)
				if last == http.StatusTooManyRequests {
					break
				}
			}
			if last != http.StatusTooManyRequests {
				t.Errorf("29 role changes proving the password: last %d, want 429 within them", last)
			}
			if r, _ := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: "prover@example.com", Password: "a perfectly fine password"}); r.StatusCode() != http.StatusTooManyRequests {
				t.Errorf("a login after them: %d, want 429", r.StatusCode())
			}
		})
	}
}

// The paths a re-review of the fixes above found.

// TestAccountWithoutOrganizationRecovers: an account that belongs to no organization (whoever it
// invited as owner removed it) still resets its password, and its next login gives it a new one.
func TestAccountWithoutOrganizationRecovers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		victim := e.register("orphan@example.com", "a perfectly fine password")
		e.verify(victim.AccessToken, "orphan@example.com") // an ordinary reset: nothing to undo
		helper := e.join(victim.AccessToken, "new-owner@example.com", "owner")
		if status, _, body := e.do("DELETE", "/v1/team/members/"+e.memberID(helper.AccessToken, "orphan@example.com"), "",
			map[string]string{"Authorization": "Bearer " + helper.AccessToken}); status != http.StatusOK {
			t.Fatalf("remove the founder: %d %v", status, body)
		}
		if status, msg := e.reset(e.resetLink("orphan@example.com"), "a brand new password"); status != http.StatusOK {
			t.Fatalf("reset of an account in no organization: %d %s", status, msg)
		}
		login, _ := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: "orphan@example.com", Password: "a brand new password"})
		if login.JSON200 == nil || login.JSON200.OrganizationRole != client.Owner || login.JSON200.Organization.ID == victim.Organization.ID {
			t.Errorf("login after the reset: %d %s, want a new organization of their own", login.StatusCode(), login.Body)
		}
	})
}

// TestRevertRestoresTheOwnersOrganization: with a fresh stolen session the thief brings in an owner
// who demotes (or removes) the victim, and an admin who brings in another admin; the thief moves the
// account away and joins an organization of their own with it. The revert gives the victim their
// organization back as its owner with nobody the thief brought in, and opens their next session
// there, not in the thief's organization.
func TestRevertRestoresTheOwnersOrganization(t *testing.T) {
	for _, removed := range []bool{false, true} {
		t.Run(map[bool]string{false: "demoted", true: "removed"}[removed], func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				victim := e.register("founder@example.com", "a perfectly fine password")
				e.verify(victim.AccessToken, "founder@example.com")
				e.clock.Advance(time.Hour)
				stolen := e.loginWith("founder@example.com", "a perfectly fine password")
				accomplice := e.join(stolen, "owner@thief.example", "owner")
				admin := e.join(stolen, "admin@thief.example", "admin")
				second := e.join(admin.AccessToken, "second@thief.example", "admin")
				secondKey := e.createKey(second.AccessToken, client.CreateAPIKeyJSONRequestBody{Name: "second's"})
				if status := e.confirmEmailChange(e.requestEmailChange(stolen, "moved@thief.example")); status != http.StatusOK {
					t.Fatalf("confirm: %d", status)
				}
				revertLink := e.revertLink("founder@example.com")
				theirs := e.register("boss@thief.example", "a perfectly fine password")
				_, link := e.invite(theirs.AccessToken, "moved@thief.example", "admin")
				if status, _ := e.accept(stolen, link); status != http.StatusOK {
					t.Fatalf("the stolen session joins the thief's organization: %d", status)
				}
				founderID := e.memberID(accomplice.AccessToken, "moved@thief.example")
				owner := map[string]string{"Authorization": "Bearer " + accomplice.AccessToken}
				if removed {
					if status, _, body := e.do("DELETE", "/v1/team/members/"+founderID, "", owner); status != http.StatusOK {
						t.Fatalf("remove the founder: %d %v", status, body)
					}
				} else if status, _, body := e.do("PATCH", "/v1/team/members/"+founderID, `{"role":"viewer"}`, owner); status != http.StatusOK {
					t.Fatalf("demote the founder: %d %v", status, body)
				}

				if status, _ := e.revert(revertLink); status != http.StatusOK {
					t.Fatalf("revert: %d", status)
				}
				if status, _ := e.accountsWith(map[string]string{"X-API-Key": secondKey.APIKey}); status != http.StatusUnauthorized {
					t.Errorf("the key of the member the thief's admin brought in: %d, want 401", status)
				}
				restored := e.tokenFrom(e.mailLinking("founder@example.com", "/reset-password"), "/reset-password")
				if status, msg := e.reset(restored, "the founder's new password"); status != http.StatusOK {
					t.Fatalf("reset: %d %s", status, msg)
				}
				login, _ := e.client.LoginWithResponse(context.Background(), client.LoginJSONRequestBody{Email: "founder@example.com", Password: "the founder's new password"})
				if login.JSON200 == nil {
					t.Fatalf("login: %d %s", login.StatusCode(), login.Body)
				}
				if login.JSON200.Organization.ID != victim.Organization.ID || login.JSON200.OrganizationRole != client.Owner {
					t.Errorf("the founder's session opens in %s as %s, want their own organization as owner", login.JSON200.Organization.ID, login.JSON200.OrganizationRole)
				}
				if n := len(login.JSON200.AvailableOrganizations); n != 1 {
					t.Errorf("the founder belongs to %d organizations, want only their own", n)
				}
				members, _ := e.client.ListTeamMembersWithResponse(context.Background(), bearer(login.JSON200.AccessToken))
				if members.JSON200 == nil || len(members.JSON200.Items) != 1 {
					t.Errorf("members after the revert: %s, want the founder alone", members.Body)
				}
			})
		})
	}
}

// TestUndoLeavesEveryOrganizationAnOwner: the victim co-owns a colleague's organization; with a
// stolen session there the thief brings in an owner who removes both owners. The revert removes the
// thief's owner, and the organization's longest-standing admin from before becomes its owner, which
// its log records as the service's doing, without the address of whoever used the revert link.
// Admins made or changed since the thief's owner joined do not count: with none from before, the
// organization stays without an owner and nobody is promoted.
func TestUndoLeavesEveryOrganizationAnOwner(t *testing.T) {
	for _, c := range []struct {
		name   string
		roles  map[string]string // role at the start; "admin!" is made admin by the thief's owner
		want   map[string]client.OrganizationRole
		reader string // an admin after the revert, who reads the members and the log
	}{
		{"an admin from before", map[string]string{"early-admin": "admin", "later-admin": "admin", "early-editor": "editor"},
			map[string]client.OrganizationRole{"early-admin": client.Owner, "later-admin": client.Admin, "early-editor": client.Editor}, "later-admin"},
		{"no admin from before", map[string]string{"early-editor": "editor", "later-admin": "viewer", "promoted": "admin!"},
			map[string]client.OrganizationRole{"early-editor": client.Editor, "later-admin": client.Viewer, "promoted": client.Admin}, "promoted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				victim := e.register("co-owner@example.com", "a perfectly fine password")
				e.verify(victim.AccessToken, "co-owner@example.com")
				colleague := e.register("founder@colleague.example", "a perfectly fine password")
				e.verify(colleague.AccessToken, "founder@colleague.example")
				_, link := e.invite(colleague.AccessToken, "co-owner@example.com", "owner")
				if status, _ := e.accept(victim.AccessToken, link); status != http.StatusOK {
					t.Fatalf("the victim joins as owner: %d", status)
				}
				addr := func(name string) string { return name + "@colleague.example" }
				for _, name := range slices.Sorted(maps.Keys(c.roles)) { // early-* first, a minute apart
					e.join(colleague.AccessToken, addr(name), strings.TrimSuffix(map[bool]string{true: "viewer", false: c.roles[name]}[strings.HasSuffix(c.roles[name], "!")], "!"))
					e.clock.Advance(time.Minute)
				}
				e.clock.Advance(time.Hour)

				stolen := e.switchTo(e.loginWith("co-owner@example.com", "a perfectly fine password"), colleague.ActiveProject.ID.String())
				taker := e.join(stolen, "owner@thief.example", "owner")
				owner := map[string]string{"Authorization": "Bearer " + taker.AccessToken}
				for name, role := range c.roles {
					if strings.HasSuffix(role, "!") {
						if status, _, body := e.do("PATCH", "/v1/team/members/"+e.memberID(taker.AccessToken, addr(name)), `{"role":"admin"}`, owner); status != http.StatusOK {
							t.Fatalf("promote %s: %d %v", name, status, body)
						}
					}
				}
				for _, a := range []string{"founder@colleague.example", "co-owner@example.com"} {
					if status, _, body := e.do("DELETE", "/v1/team/members/"+e.memberID(taker.AccessToken, a), "", owner); status != http.StatusOK {
						t.Fatalf("remove %s: %d %v", a, status, body)
					}
				}
				if status := e.confirmEmailChange(e.requestEmailChange(e.loginWith("co-owner@example.com", "a perfectly fine password"), "moved@thief.example")); status != http.StatusOK {
					t.Fatalf("confirm: %d", status)
				}
				if status, _ := e.revert(e.revertLink("co-owner@example.com")); status != http.StatusOK {
					t.Fatalf("revert: %d", status)
				}

				member := e.loginWith(addr(c.reader), "a perfectly fine password")
				members, _ := e.client.ListTeamMembersWithResponse(context.Background(), bearer(member))
				if members.JSON200 == nil || members.JSON200.Items[0].OrganizationID != colleague.Organization.ID {
					t.Fatalf("members after the revert: %d %s", members.StatusCode(), members.Body)
				}
				roles := map[string]client.OrganizationRole{}
				for _, m := range members.JSON200.Items {
					roles[strings.TrimSuffix(string(m.User.Email), "@colleague.example")] = m.Role
				}
				if !maps.Equal(roles, c.want) {
					t.Errorf("members after the revert: %v, want %v", roles, c.want)
				}
				var succession []client.ActivityLog
				for _, ev := range e.logOf(member) {
					if ev.ActorType == "system" {
						succession = append(succession, ev)
					}
				}
				heir := ""
				for name, role := range c.want {
					if role == client.Owner {
						heir = name
					}
				}
				switch {
				case heir == "" && len(succession) > 0:
					t.Errorf("nobody was promoted, yet the log has %d system entries: %+v", len(succession), succession)
				case heir != "" && len(succession) != 1:
					t.Fatalf("the log has %d system entries, want 1 making %s owner", len(succession), heir)
				case heir != "":
					ev := succession[0]
					m := ev.Metadata
					if string(ev.Action) != "team.member.role_changed" || m["email"] != addr(heir) || m["from"] != "admin" || m["to"] != "owner" ||
						m["reason"] != "no_owner_left" || m["user_id"] == nil {
						t.Errorf("the succession entry: %s %v", ev.Action, m)
					}
					if _, shown := m["source_address"]; shown {
						t.Errorf("the succession entry shows an address: %v", m["source_address"])
					}
				}
			})
		})
	}
}

// TestSwitchingNeverExtendsASession: a session moved to another project keeps its end, so a stolen
// one cannot be renewed by switching again and again.
func TestSwitchingNeverExtendsASession(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("switcher@example.com", "a perfectly fine password")
		e.clock.Advance(40 * time.Minute)
		r, err := e.client.SwitchProjectWithResponse(context.Background(), client.SwitchProjectJSONRequestBody{ProjectID: a.ActiveProject.ID}, bearer(a.AccessToken))
		if err != nil || r.JSON200 == nil {
			t.Fatalf("switch: %v %s", err, r.Body)
		}
		if r.JSON200.ExpiresIn > 20*60 {
			t.Errorf("a session switched 40 minutes after sign-in lives %d s more, want at most 1200", r.JSON200.ExpiresIn)
		}
		e.clock.Advance(21 * time.Minute)
		if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + r.JSON200.AccessToken}); status != http.StatusUnauthorized {
			t.Errorf("the switched session an hour after sign-in: %d, want 401", status)
		}
	})
}

// TestRequestsInFlightDoNotOutliveARevert: a thief took the account over through an email change
// (reset through their address, signed in) and keeps requests running with their session while the
// owner reverts: key creations, password changes (each with the newest password and token) and
// email-change requests. Whatever they were doing, afterwards none of their keys works, none of their
// sessions or passwords does, no email-change link they got confirms, and the owner's reset link
// from the revert still works.
func TestRequestsInFlightDoNotOutliveARevert(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		owner := e.register("racer@example.com", "a perfectly fine password")
		e.verify(owner.AccessToken, "racer@example.com")
		if status := e.confirmEmailChange(e.requestEmailChange(owner.AccessToken, "racing@thief.example")); status != http.StatusOK {
			t.Fatalf("confirm: %d", status)
		}
		revert := e.revertLink("racer@example.com")
		e.clock.Advance(time.Minute)
		if status, msg := e.reset(e.resetLink("racing@thief.example"), "the thief's password 0"); status != http.StatusOK {
			t.Fatalf("the thief's reset: %d %s", status, msg)
		}
		thief := e.loginWith("racing@thief.example", "the thief's password 0")

		var mu sync.Mutex
		var keys, tokens, passwords []string
		tokens, passwords = append(tokens, thief), append(passwords, "the thief's password 0")
		latest := func() (string, string) {
			mu.Lock()
			defer mu.Unlock()
			return tokens[len(tokens)-1], passwords[len(passwords)-1]
		}
		// Each loop goes on until the revert has answered: a step refused before that (a password
		// change ended the session it used) is tried again with the newest session. The password
		// changes begin once an email change has gone through (on a slow machine they could end every
		// session an email change tries first), and the revert once every loop has had a step
		// succeed (or run out of steps).
		var wg sync.WaitGroup
		var reverted atomic.Bool
		loop := func(after <-chan struct{}, step func(i int) bool) <-chan struct{} {
			started := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				if after != nil {
					<-after
				}
				begun := false
				for i := range 40 {
					ok := step(i)
					if ok && !begun {
						begun = true
						close(started)
					}
					if !ok && reverted.Load() {
						break
					}
				}
				if !begun {
					close(started)
				}
			}()
			return started
		}
		ctx := context.Background()
		keysStarted := loop(nil, func(int) bool {
			token, _ := latest()
			r, err := e.client.CreateAPIKeyWithResponse(ctx, client.CreateAPIKeyJSONRequestBody{Name: "in flight"}, bearer(token))
			if err != nil || r.JSON201 == nil {
				return false
			}
			mu.Lock()
			keys = append(keys, r.JSON201.APIKey)
			mu.Unlock()
			return true
		})
		var emailChanges atomic.Int32
		emailsStarted := loop(nil, func(i int) bool {
			token, current := latest()
			r, err := e.client.RequestEmailChangeWithResponse(ctx, client.RequestEmailChangeJSONRequestBody{
				NewEmail: client.Email(fmt.Sprintf("again%d@thief.example", i)), CurrentPassword: &current}, bearer(token))
			if err != nil || r.JSON200 == nil {
				return false
			}
			emailChanges.Add(1)
			return true
		})
		var changes sync.Mutex // one password change at a time: each needs the one before
		passwordsStarted := loop(emailsStarted, func(i int) bool {
			changes.Lock()
			defer changes.Unlock()
			token, current := latest()
			next := fmt.Sprintf("the thief's password %d", i+1)
			r, err := e.client.ChangePasswordWithResponse(ctx, client.ChangePasswordJSONRequestBody{CurrentPassword: current, NewPassword: next}, bearer(token))
			if err != nil || r.JSON200 == nil || r.JSON200.AccessToken == nil {
				return false
			}
			mu.Lock()
			tokens, passwords = append(tokens, *r.JSON200.AccessToken), append(passwords, next)
			mu.Unlock()
			return true
		})
		<-keysStarted
		<-passwordsStarted // which began after an email change
		status, _ := e.revert(revert)
		reverted.Store(true)
		wg.Wait()
		if status != http.StatusOK {
			t.Fatalf("revert: %d", status)
		}

		for _, k := range keys {
			if status, _ := e.accountsWith(map[string]string{"X-API-Key": k}); status != http.StatusUnauthorized {
				t.Errorf("a key the thief created while the revert ran answers %d, want 401", status)
			}
		}
		for _, tok := range tokens {
			if status, _, _ := e.do("GET", "/v1/auth/me", "", map[string]string{"Authorization": "Bearer " + tok}); status != http.StatusUnauthorized {
				t.Errorf("a session of the thief answers %d after the revert, want 401", status)
			}
		}
		for _, pw := range passwords {
			if r, _ := e.client.LoginWithResponse(ctx, client.LoginJSONRequestBody{Email: "racer@example.com", Password: pw}); r.StatusCode() == http.StatusOK {
				t.Error("a password the thief set signs in after the revert")
			}
		}
		if emailChanges.Load() == 0 {
			t.Fatal("no email change of the thief's went through before the revert: the race was not run")
		}
		// Every mail is in the outbox now; whichever sender claimed it, wait for the owner's reset link
		// from the revert and for the email-change links the thief got before it.
		e.stack.Accounts.Wait()
		e.stack.Sender.Deliver(ctx)
		isLink := func(m testsmtp.Message) bool {
			u, err := url.Parse(m.Link())
			return err == nil && u.Path == "/confirm-email-change" && strings.HasSuffix(m.To[0], "@thief.example") && strings.HasPrefix(m.To[0], "again")
		}
		isRestored := func(m testsmtp.Message) bool {
			u, err := url.Parse(m.Link())
			return err == nil && u.Path == "/reset-password" && len(m.To) == 1 && m.To[0] == "racer@example.com"
		}
		mails := e.smtp.Await(t, mailWait, func(all []testsmtp.Message) bool {
			return slices.ContainsFunc(all, isLink) && slices.ContainsFunc(all, isRestored)
		})
		for _, m := range mails {
			if isLink(m) {
				u, _ := url.Parse(m.Link())
				if status := e.confirmEmailChange(u.Query().Get("token")); status == http.StatusOK {
					t.Errorf("an email-change link the thief got while the revert ran confirms (to %v)", m.To)
				}
			}
		}
		var restored string
		for _, m := range mails {
			if isRestored(m) {
				u, _ := url.Parse(m.Link())
				restored = u.Query().Get("token")
			}
		}
		if status, msg := e.reset(restored, "the owner's new password"); status != http.StatusOK {
			t.Errorf("the owner's reset link from the revert: %d %s, want 200", status, msg)
		}
	})
}

// TestOneUsersConcurrentWritesQueue: writes one session makes at the same time (each holds the
// session for its transaction) queue one after another; none deadlocks into a 500, and none holds
// connections long enough to starve anyone else into 503s.
func TestOneUsersConcurrentWritesQueue(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("busy@example.com", "a perfectly fine password")
		var wg sync.WaitGroup
		statuses := make(chan int, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _, _ := e.do("PUT", "/v1/auth/profile", fmt.Sprintf(`{"full_name":"Busy %c"}`, 'A'+i),
					map[string]string{"Authorization": "Bearer " + a.AccessToken})
				statuses <- status
			}()
		}
		wg.Wait()
		close(statuses)
		for status := range statuses {
			if status != http.StatusOK {
				t.Errorf("a concurrent profile update of one user answered %d, want 200", status)
			}
		}
	})
}

// duringPasswordCheck runs fn once, in the middle of the next login whose password was right: after
// the password was checked against the stored hash, before the session is opened (when the login
// clears the source's failed attempts).
func (e *env) duringPasswordCheck(fn func()) {
	var ran atomic.Bool // not a sync.Once: fn's own requests pass here while it runs
	e.beforeLoginFailuresCleared("test:during_password_check", func() {
		if ran.CompareAndSwap(false, true) {
			fn()
		}
	})
}

// beforeLoginFailuresCleared runs fn each time a right password's attempt is about to be cleared
// (store.ClearLoginFailures, once the password is checked), registered under name.
func (e *env) beforeLoginFailuresCleared(name string, fn func()) {
	err := e.store.DB().Callback().Row().Before("gorm:row").Register(name, func(db *gorm.DB) {
		if strings.HasPrefix(db.Statement.SQL.String(), "DELETE FROM login_throttles") {
			fn()
		}
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestLoginInFlightDuringResetGetsNoSession: a login whose password (the old one) was checked while
// a reset went through opens no session, and its hash upgrade does not put the old password back.
func TestLoginInFlightDuringResetGetsNoSession(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.register("inflight@example.com", "the password a thief knows")
		// An outdated hash: the login also upgrades it, after the reset.
		old, err := password.Hash("the password a thief knows", password.Params{Memory: 512, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.SetPasswordHash(ctx, a.User.ID.String(), old, time.Now()); err != nil {
			t.Fatal(err)
		}
		token := e.resetLink("inflight@example.com")
		var resetStatus int
		e.duringPasswordCheck(func() {
			r, err := e.client.ResetPasswordWithResponse(ctx, client.ResetPasswordJSONRequestBody{Token: token, Password: "the owner's new password"})
			if err == nil {
				resetStatus = r.StatusCode()
			}
		})
		status, _, body := e.do("POST", "/v1/auth/login", `{"email":"inflight@example.com","password":"the password a thief knows"}`, nil)
		if resetStatus != http.StatusOK {
			t.Fatalf("the reset during the login: %d, want 200", resetStatus)
		}
		if status != http.StatusUnauthorized {
			t.Fatalf("login checked against the password the reset replaced: %d %v, want 401", status, body)
		}
		if code, _ := errorOf(t, body); code != "invalid_credentials" {
			t.Errorf("error code %q, want invalid_credentials", code)
		}
		if status, _, _ := e.do("POST", "/v1/auth/login", `{"email":"inflight@example.com","password":"the password a thief knows"}`, nil); status != http.StatusUnauthorized {
			t.Errorf("the old password after the reset: %d, want 401 (the hash upgrade must not restore it)", status)
		}
		e.loginWith("inflight@example.com", "the owner's new password")
	})
}

// TestLoginWithBadInvitationWritesNothing: a bad invite_token fails the whole login; the time zone
// it carried is not recorded.
func TestLoginWithBadInvitationWritesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		a := e.register("badinvite@example.com", "a perfectly fine password")
		status, _, body := e.do("POST", "/v1/auth/login", `{"email":"badinvite@example.com","password":"a perfectly fine password",`+
			`"timezone":"Asia/Tokyo","invite_token":"bogusbogusbogusbogusbogus"}`, nil)
		if status != http.StatusBadRequest {
			t.Fatalf("login with a bad invitation: %d %v, want 400", status, body)
		}
		u, err := e.store.UserByID(context.Background(), a.User.ID.String())
		if err != nil {
			t.Fatal(err)
		}
		if u.Timezone != "UTC" {
			t.Errorf("time zone after the refused login = %q, want UTC (unchanged)", u.Timezone)
		}
	})
}
