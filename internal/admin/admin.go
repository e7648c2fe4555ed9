// Package admin is `pinbridge admin`: an operator's commands on the server's own database, for
// helping a customer without SQL. Each prints what it did and never a secret, except the one-time
// reset link that `user reset-link` exists to hand over. Destructive commands ask for confirmation
// unless --yes is given.
//
// Exit codes: 0 done, 1 failed (for example the database), 2 usage, 3 not found, 4 not confirmed.
package admin

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/store"
)

// Exit codes scripts can rely on.
const (
	ExitOK           = 0
	ExitFailed       = 1
	ExitUsage        = 2
	ExitNotFound     = 3
	ExitNotConfirmed = 4
)

// Usage is the command's help.
const Usage = `usage: pinbridge admin [--yes] COMMAND
  user show EMAIL          the user, their organizations and roles, whether sign-ins wait
  user reset-link EMAIL    print a one-time password reset link to hand over (older links stop working)
  user verify EMAIL        mark the email verified
  user unlock EMAIL        forget the failed logins (from every address)
  user end-sessions EMAIL  end every session and outstanding link (the password stays)
  key list ORG_ID          the organization's API keys (never a secret)
  key revoke KEY_ID        revoke an API key
  org show ORG_ID          the organization, its projects, members and keys
  org make-owner ORG_ID EMAIL
                           make that member an owner (of an organization nobody can manage)
--yes confirms the destructive commands (reset-link, end-sessions, key revoke, make-owner) without asking.
--beside-owners lets make-owner add an owner to an organization that has one.
Exit codes: 0 done, 1 failed, 2 usage, 3 not found, 4 not confirmed.`

// Run runs one admin command with args (what follows "admin") and returns its exit code.
func Run(ctx context.Context, svc *account.Service, args []string, in io.Reader, out, errOut io.Writer) int {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	yes := fs.Bool("yes", false, "confirm destructive commands without asking")
	besideOwners := fs.Bool("beside-owners", false, "let make-owner add an owner beside the organization's")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(errOut, Usage)
		return ExitUsage
	}
	rest := fs.Args()
	argc := 3 // a noun, a verb and what it acts on; make-owner names a member too
	if len(rest) >= 2 && rest[0] == "org" && rest[1] == "make-owner" {
		argc = 4
	}
	if len(rest) != argc || slices.ContainsFunc(rest, func(a string) bool { return strings.HasPrefix(a, "-") }) {
		fmt.Fprintln(errOut, Usage)
		return ExitUsage
	}
	c := &command{ctx: ctx, svc: svc, in: bufio.NewReader(in), out: out, errOut: errOut, yes: *yes, besideOwners: *besideOwners}
	var err error
	switch rest[0] + " " + rest[1] {
	case "user show":
		err = c.userShow(rest[2])
	case "user reset-link":
		err = c.confirmThen("issue a reset link for "+rest[2]+" (older links stop working)", func() error { return c.resetLink(rest[2]) })
	case "user verify":
		err = c.done(svc.AdminVerify(ctx, rest[2]), "email verified: "+rest[2])
	case "user unlock":
		err = c.done(svc.AdminUnlock(ctx, rest[2]), "failed logins forgotten: "+rest[2])
	case "user end-sessions":
		err = c.confirmThen("end every session of "+rest[2], func() error {
			return c.done(svc.AdminEndSessions(ctx, rest[2]), "every session and outstanding link ended: "+rest[2])
		})
	case "key list":
		err = c.keyList(rest[2])
	case "key revoke":
		err = c.confirmThen("revoke API key "+rest[2], func() error { return c.keyRevoke(rest[2]) })
	case "org show":
		err = c.orgShow(rest[2])
	case "org make-owner":
		err = c.makeOwner(rest[2], rest[3])
	default:
		fmt.Fprintln(errOut, Usage)
		return ExitUsage
	}
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errNotConfirmed):
		fmt.Fprintln(errOut, "not confirmed: nothing changed (use --yes in scripts)")
		return ExitNotConfirmed
	case errors.Is(err, account.ErrUserNotFound), errors.Is(err, account.ErrOrganizationNotFound), errors.Is(err, account.ErrKeyNotFound),
		errors.Is(err, account.ErrMemberNotFound):
		fmt.Fprintln(errOut, "not found:", err)
		return ExitNotFound
	case errors.Is(err, account.ErrHasOwners):
		fmt.Fprintln(errOut, "refused:", err, "(--beside-owners adds one anyway; nothing changed)")
		return ExitFailed
	case errors.Is(err, account.ErrHandOverUnsettled):
		fmt.Fprintln(errOut, "refused:", err, "(nothing changed)")
		return ExitFailed
	}
	fmt.Fprintln(errOut, "failed:", err)
	return ExitFailed
}

var errNotConfirmed = errors.New("not confirmed")

type command struct {
	ctx          context.Context
	svc          *account.Service
	in           *bufio.Reader
	out          io.Writer
	errOut       io.Writer
	yes          bool
	besideOwners bool
}

// confirmThen runs fn once the operator confirms what (or --yes did).
func (c *command) confirmThen(what string, fn func() error) error {
	if !c.yes {
		fmt.Fprintf(c.errOut, "%s? [y/N] ", what)
		line, _ := c.in.ReadString('\n')
		if answer := strings.ToLower(strings.TrimSpace(line)); answer != "y" && answer != "yes" {
			return errNotConfirmed
		}
	}
	return fn()
}

func (c *command) done(err error, message string) error {
	if err == nil {
		fmt.Fprintln(c.out, message)
	}
	return err
}

func (c *command) userShow(email string) error {
	r, err := c.svc.AdminUser(c.ctx, email)
	if err != nil {
		return err
	}
	u := r.User
	verified := "no"
	if u.EmailVerifiedAt != nil {
		verified = u.EmailVerifiedAt.UTC().Format(time.RFC3339)
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "id\t%s\nemail\t%s\nname\t%s\nverified\t%s\ncreated\t%s\nsession version\t%d\n",
		u.ID, u.Email, u.FullName, verified, u.CreatedAt.UTC().Format(time.RFC3339), u.SessionVersion)
	if u.PendingEmail != nil {
		fmt.Fprintf(w, "pending email\t%s\n", *u.PendingEmail)
	}
	if r.LockedBy != "" {
		fmt.Fprintf(w, "sign-ins\t%s\n", r.LockedBy)
	}
	for _, o := range r.Account.Organizations {
		fmt.Fprintf(w, "organization\t%s %s (%s)\n", o.Organization.ID, o.Organization.Name, o.Role)
	}
	return w.Flush()
}

func (c *command) resetLink(email string) error {
	link, err := c.svc.AdminResetLink(c.ctx, email)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.errOut, "one-time reset link for", email, "(hand it over once; it is not shown again):")
	fmt.Fprintln(c.out, link)
	return nil
}

func (c *command) keyList(orgID string) error {
	r, err := c.svc.AdminOrganization(c.ctx, orgID)
	if err != nil {
		return err
	}
	return c.printKeys(r.Keys)
}

func (c *command) printKeys(keys []store.APIKey) error {
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "id\tprefix\tname\tproject\tcreated\tstate")
	for _, k := range keys {
		state := "live"
		switch {
		case k.RevokedAt != nil:
			state = "revoked " + k.RevokedAt.UTC().Format(time.RFC3339)
		case k.ExpiresAt != nil && !k.ExpiresAt.After(time.Now()):
			state = "expired"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.ProjectID, k.CreatedAt.UTC().Format(time.RFC3339), state)
	}
	return w.Flush()
}

func (c *command) keyRevoke(keyID string) error {
	k, err := c.svc.AdminRevokeKey(c.ctx, keyID)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "revoked: %s %s (%s) of organization %s\n", k.ID, k.Prefix, k.Name, k.OrganizationID)
	return nil
}

func (c *command) orgShow(orgID string) error {
	r, err := c.svc.AdminOrganization(c.ctx, orgID)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "id\t%s\nname\t%s\ncreated\t%s\n", r.Organization.ID, r.Organization.Name, r.Organization.CreatedAt.UTC().Format(time.RFC3339))
	for _, p := range r.Projects {
		fmt.Fprintf(w, "project\t%s %s (%s, %s)\n", p.ID, p.Name, p.Environment, p.Plan)
	}
	for _, m := range r.Members {
		fmt.Fprintf(w, "member\t%s %s (%s)\n", m.User.ID, m.User.Email, m.Membership.Role)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%d API keys:\n", len(r.Keys))
	return c.printKeys(r.Keys)
}

// makeOwner shows the operator what would change (the organization, the member's role, its
// owners) before asking, then makes the member an owner; the service checks it all again as it
// does.
func (c *command) makeOwner(orgID, email string) error {
	r, err := c.svc.AdminOrganization(c.ctx, orgID)
	if err != nil {
		return err
	}
	key := store.EmailKey(email)
	i := slices.IndexFunc(r.Members, func(m store.Member) bool { return m.User.EmailKey == key })
	if i < 0 {
		if _, err := c.svc.AdminUser(c.ctx, email); err != nil {
			return err
		}
		return account.ErrMemberNotFound
	}
	var owners []string
	for _, m := range r.Members {
		if m.Membership.Role == store.RoleOwner {
			owners = append(owners, m.User.Email)
		}
	}
	if len(owners) == 0 {
		owners = []string{"none"}
	}
	m := r.Members[i]
	what := fmt.Sprintf("make %s (now %s) an owner of %s %q (owners: %s)", m.User.Email, m.Membership.Role, orgID, r.Organization.Name, strings.Join(owners, ", "))
	return c.confirmThen(what, func() error {
		m, changed, err := c.svc.AdminMakeOwner(c.ctx, orgID, email, c.besideOwners)
		if err != nil {
			return err
		}
		if !changed {
			fmt.Fprintf(c.out, "already an owner: %s of organization %s\n", m.User.Email, orgID)
			return nil
		}
		fmt.Fprintf(c.out, "owner now: %s (member %s) of organization %s\n", m.User.Email, m.Membership.ID, orgID)
		return nil
	})
}
