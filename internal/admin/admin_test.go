package admin_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/internal/admin"
	"github.com/pinbridge/pinbridge-auth/internal/password"
	"github.com/pinbridge/pinbridge-auth/internal/session"
	"github.com/pinbridge/pinbridge-auth/internal/testdb"
	"github.com/pinbridge/pinbridge-auth/store"
)

type noMail struct{}

func (noMail) Wake() {}

// run runs one admin command with stdin and returns its exit code and outputs.
func run(t *testing.T, svc *account.Service, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := admin.Run(context.Background(), svc, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// newService is the account flows over st with a cheap password hash and the clock now.
func newService(t *testing.T, st *store.Store, now func() time.Time) *account.Service {
	t.Helper()
	pool, err := password.NewPool(password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return account.New(account.Deps{
		Store: st, Hasher: pool, Mailer: noMail{}, Now: now,
		Sessions: session.NewManager([]byte("admin-test-secret-0123456789-0123456789"), "iss", "aud", time.Hour, time.Now),
		Settings: account.Settings{PublicURL: "https://app.example.com", PasswordResetTTL: time.Hour, ReauthWindow: 10 * time.Minute},
	})
}

func TestAdminCommands(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		// The service's clock stands still: the wait after the failed sign-ins below must not run out
		// before the sign-in that checks it, however slow the machine.
		now := time.Now()
		svc := newService(t, st, func() time.Time { return now })
		sess, err := svc.Register(ctx, account.Registration{Email: "customer@example.com", FullName: "Casey Customer", Password: "a perfectly fine password"})
		if err != nil {
			t.Fatal(err)
		}
		caller := account.Caller{Account: sess.Account, Project: sess.Project, Authenticated: time.Now()}
		key, plaintext, err := svc.CreateKey(ctx, caller, account.NewKey{Name: "production"})
		if err != nil {
			t.Fatal(err)
		}
		org := sess.Account.Organization.ID

		code, out, _ := run(t, svc, "", "user", "show", "Customer@Example.com")
		if code != admin.ExitOK || !strings.Contains(out, "customer@example.com") || !strings.Contains(out, org) || !strings.Contains(out, "(owner)") {
			t.Errorf("user show: %d\n%s", code, out)
		}
		if strings.Contains(out, "$argon2") {
			t.Errorf("user show prints the password hash:\n%s", out)
		}

		// Destructive commands ask; anything but yes changes nothing.
		if code, _, errOut := run(t, svc, "n\n", "user", "reset-link", "customer@example.com"); code != admin.ExitNotConfirmed || !strings.Contains(errOut, "not confirmed") {
			t.Errorf("reset-link declined: %d %q, want exit 4", code, errOut)
		}
		if n := db.Int(t, "SELECT COUNT(*) FROM one_time_tokens"); n != 0 {
			t.Errorf("a declined reset-link left %d tokens", n)
		}
		code, out, _ = run(t, svc, "y\n", "user", "reset-link", "customer@example.com")
		link, perr := url.Parse(strings.TrimSpace(out))
		if code != admin.ExitOK || perr != nil || link.Path != "/reset-password" || link.Query().Get("token") == "" {
			t.Fatalf("reset-link: %d %q", code, out)
		}
		if err := svc.ResetPassword(ctx, account.Origin{}, link.Query().Get("token"), "an operator-assisted password"); err != nil {
			t.Errorf("the printed link does not reset the password: %v", err)
		}

		if code, _, _ := run(t, svc, "", "user", "verify", "customer@example.com"); code != admin.ExitOK {
			t.Errorf("verify: %d", code)
		}
		if n := db.Int(t, "SELECT COUNT(*) FROM users WHERE email_verified_at IS NOT NULL"); n != 1 {
			t.Errorf("verified users = %d, want 1", n)
		}

		for range 7 {
			_, _ = svc.Login(ctx, account.Credentials{Email: "customer@example.com", Password: "wrong", Origin: account.Origin{Source: "203.0.113.9"}})
		}
		if _, err := svc.Login(ctx, account.Credentials{Email: "customer@example.com", Password: "an operator-assisted password", Origin: account.Origin{Source: "203.0.113.9"}}); err == nil {
			t.Fatal("the address is not waiting after 7 failures")
		}
		if code, _, _ := run(t, svc, "", "user", "unlock", "customer@example.com"); code != admin.ExitOK {
			t.Errorf("unlock: %d", code)
		}
		if _, err := svc.Login(ctx, account.Credentials{Email: "customer@example.com", Password: "an operator-assisted password", Origin: account.Origin{Source: "203.0.113.9"}}); err != nil {
			t.Errorf("login after unlock: %v", err)
		}

		before := db.Int(t, "SELECT session_version FROM users")
		if code, _, _ := run(t, svc, "", "--yes", "user", "end-sessions", "customer@example.com"); code != admin.ExitOK {
			t.Errorf("end-sessions --yes: %d", code)
		}
		if after := db.Int(t, "SELECT session_version FROM users"); after != before+1 {
			t.Errorf("session version %d -> %d, want one more", before, after)
		}

		code, out, _ = run(t, svc, "", "key", "list", org)
		if code != admin.ExitOK || !strings.Contains(out, key.ID) || !strings.Contains(out, key.Prefix) || !strings.Contains(out, "live") {
			t.Errorf("key list: %d\n%s", code, out)
		}
		if strings.Contains(out, plaintext) || strings.Contains(out, key.SecretHash) {
			t.Errorf("key list prints a secret:\n%s", out)
		}
		if code, out, _ := run(t, svc, "", "--yes", "key", "revoke", key.ID); code != admin.ExitOK || !strings.Contains(out, "revoked") {
			t.Errorf("key revoke: %d %s", code, out)
		}
		if n := db.Int(t, "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL"); n != 1 {
			t.Errorf("revoked keys = %d, want 1", n)
		}
		if code, out, _ := run(t, svc, "", "org", "show", org); code != admin.ExitOK || !strings.Contains(out, "production") || !strings.Contains(out, "customer@example.com (owner)") {
			t.Errorf("org show: %d\n%s", code, out)
		}

		// Each action is in the activity log, by the operator.
		for _, action := range []string{"admin.reset_link_issued", "admin.email_verified", "admin.login_unlocked", "admin.sessions_ended", "admin.api_key_revoked"} {
			if n := db.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE actor_type = 'admin' AND action = ?", action); n != 1 {
				t.Errorf("%s recorded %d times by the operator, want once", action, n)
			}
		}

		for _, c := range []struct {
			args []string
			want int
		}{
			{[]string{"user", "show", "nobody@example.com"}, admin.ExitNotFound},
			{[]string{"--yes", "key", "revoke", "6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11"}, admin.ExitNotFound},
			{[]string{"org", "show", "not-an-id"}, admin.ExitNotFound},
			{[]string{"user", "frobnicate", "x"}, admin.ExitUsage},
			{[]string{"user", "show"}, admin.ExitUsage},
		} {
			if code, _, _ := run(t, svc, "", c.args...); code != c.want {
				t.Errorf("admin %v: exit %d, want %d", c.args, code, c.want)
			}
		}
	})
}

// TestAdminMakeOwner: an organization whose owner is gone gets one of its members as owner, once
// the operator has seen what changes and confirmed, recorded once as the operator's role change;
// an unsettled address, an organization with an owner (unless --beside-owners), an owner already,
// a non-member, an unknown user or organization and malformed arguments change nothing.
func TestAdminMakeOwner(t *testing.T) {
	testdb.EachWithSQL(t, func(t *testing.T, st *store.Store, db *testdb.SQL) {
		ctx := context.Background()
		svc := newService(t, st, time.Now)
		register := func(email string) account.Session {
			s, err := svc.Register(ctx, account.Registration{Email: email, FullName: "Member", Password: "a perfectly fine password"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		founder, editor, viewer := register("founder@example.com"), register("editor@example.com"), register("viewer@example.com")
		register("outsider@example.com")
		org := founder.Account.Organization.ID
		join := func(s account.Session, role string) store.Membership {
			m, err := st.AddMember(ctx, store.Membership{OrganizationID: org, UserID: s.Account.User.ID, Role: role, CreatedAt: time.Now(), UpdatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		member := join(editor, "editor")
		join(viewer, "viewer")
		// The editor's summary as their requests read it, remembered from before the change.
		if a, err := st.AccountSummary(ctx, editor.Account.User.ID, org); err != nil || a.Role != "editor" {
			t.Fatalf("the editor's summary before: role %q, %v", a.Role, err)
		}
		// The founder is gone: nobody can manage the organization any more.
		db.Exec(t, "DELETE FROM memberships WHERE organization_id = ? AND user_id = ?", org, founder.Account.User.ID)
		owners := func() []string {
			return db.Strings(t, "SELECT user_id FROM memberships WHERE organization_id = ? AND role = 'owner' ORDER BY user_id", org)
		}
		recorded := func() int64 {
			return db.Int(t, "SELECT COUNT(*) FROM activity_logs WHERE organization_id = ? AND action = 'team.member.role_changed' AND actor_type = 'admin'", org)
		}

		// An address never verified is no owner's: refused, as an owner's own hand-over would be.
		if code, _, errOut := run(t, svc, "", "--yes", "org", "make-owner", org, "editor@example.com"); code != admin.ExitFailed || !strings.Contains(errOut, "refused") {
			t.Errorf("make-owner of an unverified member: %d %q, want exit 1, refused", code, errOut)
		}
		for _, email := range []string{"editor@example.com", "viewer@example.com"} {
			if code, _, _ := run(t, svc, "", "user", "verify", email); code != admin.ExitOK {
				t.Fatalf("verify %s: %d", email, code)
			}
		}
		code, _, errOut := run(t, svc, "n\n", "org", "make-owner", org, "editor@example.com")
		if code != admin.ExitNotConfirmed || !strings.Contains(errOut, "not confirmed") {
			t.Errorf("make-owner declined: %d %q, want exit 4", code, errOut)
		}
		// The question names what changes: the member's role, the organization, its owners.
		for _, want := range []string{"editor@example.com (now editor)", founder.Account.Organization.Name, "owners: none"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("the confirmation %q does not say %q", errOut, want)
			}
		}
		if got := owners(); len(got) != 0 || recorded() != 0 {
			t.Fatalf("a declined make-owner made owners %v", got)
		}
		code, out, _ := run(t, svc, "y\n", "org", "make-owner", org, "Editor@Example.com")
		if code != admin.ExitOK || !strings.Contains(out, "owner now: editor@example.com") || !strings.Contains(out, member.ID) {
			t.Fatalf("make-owner: %d %q", code, out)
		}
		if got := owners(); len(got) != 1 || got[0] != editor.Account.User.ID {
			t.Errorf("owners after make-owner: %v, want the editor", got)
		}
		meta := db.Strings(t, "SELECT resource_id || ' ' || metadata FROM activity_logs WHERE organization_id = ? AND action = 'team.member.role_changed' AND actor_type = 'admin'", org)
		if len(meta) != 1 || !strings.HasPrefix(meta[0], member.ID+" ") || !strings.Contains(meta[0], `"email":"editor@example.com"`) ||
			!strings.Contains(meta[0], `"from":"editor"`) || !strings.Contains(meta[0], `"to":"owner"`) || !strings.Contains(meta[0], `"reason":"operator"`) {
			t.Errorf("the operator's role change in the log: %v", meta)
		}
		// The new owner's next request has the owner's role (the summary requests read, not the
		// one remembered).
		a, err := st.AccountSummary(ctx, editor.Account.User.ID, org)
		if err != nil || a.Role != "owner" {
			t.Errorf("the editor's account in the organization: role %q, %v", a.Role, err)
		}

		// An owner already: nothing changes, nothing more is recorded.
		if code, out, _ := run(t, svc, "", "--yes", "org", "make-owner", org, "editor@example.com"); code != admin.ExitOK || !strings.Contains(out, "already an owner") {
			t.Errorf("make-owner of an owner: %d %q", code, out)
		}
		if n := recorded(); n != 1 {
			t.Errorf("make-owner of an owner recorded again (%d)", n)
		}
		// The organization has an owner now, who manages its members: only --beside-owners adds one.
		if code, _, errOut := run(t, svc, "", "--yes", "org", "make-owner", org, "viewer@example.com"); code != admin.ExitFailed || !strings.Contains(errOut, "--beside-owners") {
			t.Errorf("make-owner beside an owner without --beside-owners: %d %q, want exit 1", code, errOut)
		}
		if got := owners(); len(got) != 1 {
			t.Errorf("owners after a refused make-owner: %v", got)
		}
		if code, _, _ := run(t, svc, "", "--yes", "--beside-owners", "org", "make-owner", org, "viewer@example.com"); code != admin.ExitOK {
			t.Errorf("make-owner --beside-owners: %d", code)
		}
		if got := owners(); len(got) != 2 || recorded() != 2 {
			t.Errorf("after --beside-owners: owners %v, %d recorded; want 2 and 2", got, recorded())
		}
		for _, c := range []struct {
			args []string
			want int
		}{
			{[]string{"--yes", "org", "make-owner", org, "outsider@example.com"}, admin.ExitNotFound},
			{[]string{"--yes", "org", "make-owner", org, "nobody@example.com"}, admin.ExitNotFound},
			{[]string{"--yes", "org", "make-owner", "6f1c1d4e-2b7a-4a53-9a7e-2f9d0c3b8e11", "editor@example.com"}, admin.ExitNotFound},
			{[]string{"--yes", "org", "make-owner", "not-an-id", "editor@example.com"}, admin.ExitNotFound},
			{[]string{"--yes", "org", "make-owner", org}, admin.ExitUsage},
			{[]string{"org", "make-owner", org, "--yes"}, admin.ExitUsage},
			{[]string{"--yes", "org", "show", org, "editor@example.com"}, admin.ExitUsage},
		} {
			if code, _, _ := run(t, svc, "", c.args...); code != c.want {
				t.Errorf("admin %v: exit %d, want %d", c.args, code, c.want)
			}
		}
		if got := owners(); len(got) != 2 || recorded() != 2 {
			t.Errorf("after the refused commands: owners %v, %d recorded", got, recorded())
		}
	})
}
