package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pinbridge/pinbridge-auth/internal/apikey"
	"github.com/pinbridge/pinbridge-auth/internal/mail"
	"github.com/pinbridge/pinbridge-auth/store"
)

// AllScopes are the scopes of an API key, in their canonical order.
var AllScopes = []string{store.ScopeRead, store.ScopeWrite, store.ScopeDestructive}

// maxKeyYears bounds an API key's expiry: far enough for any use, near enough to stay a date every
// client can read (RFC 3339 has four-digit years).
const maxKeyYears = 10

// NewKey is what an API key is created with.
type NewKey struct {
	Name   string
	Scopes []string // nil: every scope
	// PinterestAccountIDs limits the key to these accounts of its project; nil means every account.
	PinterestAccountIDs *[]string
	ExpiresAt           *time.Time
}

// CreateKey mints a key for the caller's active project and returns it with its plaintext, which
// is never stored and never available again; the activity log records it (name, display prefix,
// scopes) and the caller gets a notice by email. A *FieldError for an expiry in the past or an account id that is not one of the
// project's.
func (s *Service) CreateKey(ctx context.Context, c Caller, k NewKey) (store.APIKey, string, error) {
	if err := c.require(PermManageAPIKeys); err != nil {
		return store.APIKey{}, "", err
	}
	now := s.now()
	scopes := AllScopes
	if k.Scopes != nil {
		scopes = canonicalScopes(k.Scopes)
	}
	if err := s.checkAccounts(ctx, c.Project.ID, k.PinterestAccountIDs); err != nil {
		return store.APIKey{}, "", err
	}
	expires := k.ExpiresAt
	if expires != nil {
		if !expires.After(now) {
			return store.APIKey{}, "", invalid("expires_at", "must be in the future")
		}
		if expires.After(now.AddDate(maxKeyYears, 0, 0)) {
			return store.APIKey{}, "", invalid("expires_at", fmt.Sprintf("must be within %d years", maxKeyYears))
		}
		expires = new(expires.UTC().Truncate(time.Microsecond))
	}
	minted, err := apikey.New(c.Project.Environment == store.EnvironmentProduction)
	if err != nil {
		return store.APIKey{}, "", fmt.Errorf("mint api key: %w", err)
	}
	var key store.APIKey
	err = s.store.Tx(ctx, func(tx *store.Store) error {
		// A key is either created before a removal or revert (and revoked by it) or refused after it.
		if err := holdCaller(ctx, tx, c, false); err != nil {
			return err
		}
		var err error
		key, err = tx.CreateAPIKey(ctx, store.NewAPIKey{
			ProjectID: c.Project.ID, OrganizationID: c.organization(), CreatedBy: c.user().ID,
			Name: strings.TrimSpace(k.Name), Prefix: minted.Display, SecretHash: minted.Hash, Scopes: scopes,
			PinterestAccountIDs: k.PinterestAccountIDs, ExpiresAt: expires, Now: now,
		})
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, keyEvent(ActionAPIKeyCreated, c, key, map[string]any{"environment": c.Project.Environment})); err != nil {
			return err
		}
		return s.keyNotice(ctx, tx, c.user(), key, c.Project.Environment)
	})
	if err != nil {
		return store.APIKey{}, "", err
	}
	s.mailer.Wake()
	return key, minted.Plaintext, nil
}

// keyNotice tells the user who created key, inside tx, that it was created: its display prefix and
// its project's environment, nothing anyone typed, so a thief's key does not go unnoticed.
func (s *Service) keyNotice(ctx context.Context, tx *store.Store, user store.User, key store.APIKey, environment string) error {
	subject, text, html, err := mail.Render(mail.KindAPIKeyCreated, mail.Data{Name: greetingName(user, user.Email), Key: key.Prefix, Environment: environment})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, store.NewMessage{Kind: mail.KindAPIKeyCreated, To: user.Email, Subject: subject, Text: text, HTML: html}, s.now())
	return err
}

// keyEvent is the event of c's doing action to key: its name, display prefix and scopes, never its
// secret or hash, with extra details.
func keyEvent(action string, c Caller, key store.APIKey, extra map[string]any) event {
	meta := map[string]any{"name": key.Name, "prefix": key.Prefix, "scopes": key.ScopeList(), "project_id": key.ProjectID}
	for k, v := range extra {
		meta[k] = v
	}
	return event{action: action, scope: c.scope(), actor: c.actor(), resourceType: ResourceAPIKey, resourceID: key.ID,
		origin: c.Origin, meta: meta}
}

// Every key flow needs can_manage_api_keys (a *PermissionError otherwise).

// Keys lists the keys of the caller's active project, newest first, revoked ones included.
func (s *Service) Keys(ctx context.Context, c Caller) ([]store.APIKey, error) {
	if err := c.require(PermManageAPIKeys); err != nil {
		return nil, err
	}
	return s.store.APIKeys(ctx, c.Project.ID)
}

// UpdateKey renames, re-scopes or re-limits a key of the caller's organization. ErrKeyNotFound
// for a key of another organization as for one that does not exist; a *FieldError for an account
// id that is not one of the key's project.
func (s *Service) UpdateKey(ctx context.Context, c Caller, keyID string, p store.APIKeyPatch) (store.APIKey, error) {
	if err := c.require(PermManageAPIKeys); err != nil {
		return store.APIKey{}, err
	}
	if p.Name != nil {
		p.Name = new(strings.TrimSpace(*p.Name))
	}
	if p.Scopes != nil {
		p.Scopes = new(canonicalScopes(*p.Scopes))
	}
	if p.PinterestAccountIDs.Set {
		// The limit is checked against the key's own project, so look the key up first.
		k, err := s.store.APIKeyInOrganization(ctx, c.organization(), keyID)
		if err != nil {
			return store.APIKey{}, notFoundAs(err, ErrKeyNotFound)
		}
		if err := s.checkAccounts(ctx, k.ProjectID, p.PinterestAccountIDs.Value); err != nil {
			return store.APIKey{}, err
		}
	}
	var k store.APIKey
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		var err error
		if k, err = tx.UpdateAPIKey(ctx, c.organization(), keyID, p, s.now()); err != nil {
			return err
		}
		var changed []string
		for _, f := range []struct {
			name string
			set  bool
		}{{"name", p.Name != nil}, {"scopes", p.Scopes != nil}, {"pinterest_account_ids", p.PinterestAccountIDs.Set}} {
			if f.set {
				changed = append(changed, f.name)
			}
		}
		return s.record(ctx, tx, keyEvent(ActionAPIKeyUpdated, c, k, map[string]any{"changed": changed}))
	})
	return k, notFoundAs(err, ErrKeyNotFound)
}

// RevokeKey revokes a key of the caller's organization; revoking twice is harmless (and recorded
// once).
// ErrKeyNotFound as for UpdateKey.
func (s *Service) RevokeKey(ctx context.Context, c Caller, keyID string) (store.APIKey, error) {
	if err := c.require(PermManageAPIKeys); err != nil {
		return store.APIKey{}, err
	}
	var k store.APIKey
	err := s.txAs(ctx, c, func(tx *store.Store) error {
		var revoked bool
		var err error
		if k, revoked, err = tx.RevokeAPIKey(ctx, c.organization(), keyID, s.now()); err != nil || !revoked {
			return err
		}
		return s.record(ctx, tx, keyEvent(ActionAPIKeyRevoked, c, k, nil))
	})
	return k, notFoundAs(err, ErrKeyNotFound)
}

// checkAccounts refuses a limit naming an account that is not one of the project's; nil ids
// (every account) always passes.
func (s *Service) checkAccounts(ctx context.Context, projectID string, ids *[]string) error {
	if ids == nil {
		return nil
	}
	n, err := s.store.CountPinterestAccounts(ctx, projectID, *ids)
	if err != nil {
		return err
	}
	if n != len(*ids) {
		return invalid("pinterest_account_ids", "every id must be a Pinterest account of the key's project")
	}
	return nil
}

// canonicalScopes keeps the known scopes of scopes in canonical order, whatever order they came in.
func canonicalScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, want := range AllScopes {
		for _, sc := range scopes {
			if sc == want {
				out = append(out, want)
				break
			}
		}
	}
	return out
}
