package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/apikey"
	"github.com/pinbridge/pinbridge-auth/store"
)

var allScopes = []string{store.ScopeRead, store.ScopeWrite, store.ScopeDestructive}

// CreateAPIKey mints a key for the caller's active project and returns its plaintext, once.
func (s *Server) CreateAPIKey(ctx context.Context, req gen.CreateAPIKeyRequestObject) (gen.CreateAPIKeyResponseObject, error) {
	p := principalFrom(ctx)
	if err := s.limitAccount(ctx, limitKeyCreateOrg, p.organizationID, limitKeyCreateIP); err != nil {
		return nil, err
	}
	b := req.Body
	now := s.now()
	scopes := allScopes
	if b.Scopes != nil {
		scopes = scopeStrings(*b.Scopes)
	}
	accounts, set, err := s.accountLimit(ctx, p.projectID, b.PinterestAccountIds)
	if err != nil {
		return nil, err
	}
	if !set {
		accounts = nil
	}
	if b.ExpiresAt != nil && !b.ExpiresAt.After(now) {
		return nil, fieldError("expires_at", "value_error", "must be in the future")
	}
	var expires = b.ExpiresAt
	if expires != nil {
		utc := expires.UTC().Truncate(time.Microsecond)
		expires = &utc
	}
	minted, err := apikey.New(p.project.Environment == store.EnvironmentProduction)
	if err != nil {
		return nil, fmt.Errorf("mint api key: %w", err)
	}
	key, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{
		ProjectID:           p.projectID,
		OrganizationID:      p.organizationID,
		CreatedBy:           p.account.User.ID,
		Name:                strings.TrimSpace(b.Name),
		Prefix:              minted.Display,
		SecretHash:          minted.Hash,
		Scopes:              scopes,
		PinterestAccountIDs: accounts,
		ExpiresAt:           expires,
		Now:                 now,
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateAPIKey201JSONResponse(apiKeyCreated(key, minted.Plaintext)), nil
}

// ListAPIKeys lists the active project's keys, newest first, revoked ones included.
func (s *Server) ListAPIKeys(ctx context.Context, _ gen.ListAPIKeysRequestObject) (gen.ListAPIKeysResponseObject, error) {
	keys, err := s.store.APIKeys(ctx, principalFrom(ctx).projectID)
	if err != nil {
		return nil, err
	}
	out := make(gen.ListAPIKeys200JSONResponse, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiKey(k))
	}
	return out, nil
}

// UpdateAPIKey renames or re-scopes a key of the caller's organization.
func (s *Server) UpdateAPIKey(ctx context.Context, req gen.UpdateAPIKeyRequestObject) (gen.UpdateAPIKeyResponseObject, error) {
	p := principalFrom(ctx)
	b := req.Body
	var patch store.APIKeyPatch
	if b.Name != nil {
		name := strings.TrimSpace(*b.Name)
		patch.Name = &name
	}
	if b.Scopes != nil {
		scopes := scopeStrings(*b.Scopes)
		patch.Scopes = &scopes
	}
	if b.PinterestAccountIds.IsSpecified() {
		// The limit is checked against the key's own project, so look the key up first.
		k, err := s.keyOfOrganization(ctx, p.organizationID, req.KeyID.String())
		if err != nil {
			return nil, err
		}
		accounts, set, err := s.accountLimit(ctx, k.ProjectID, b.PinterestAccountIds)
		if err != nil {
			return nil, err
		}
		patch.SetAccounts = true
		if set {
			patch.PinterestAccountIDs = accounts
		}
	}
	k, err := s.store.UpdateAPIKey(ctx, p.organizationID, req.KeyID.String(), patch, s.now())
	if err != nil {
		return nil, notFoundAs(err, errNotFound("API key"))
	}
	return gen.UpdateAPIKey200JSONResponse(apiKey(k)), nil
}

// RevokeAPIKey revokes a key of the caller's organization; revoking twice is harmless.
func (s *Server) RevokeAPIKey(ctx context.Context, req gen.RevokeAPIKeyRequestObject) (gen.RevokeAPIKeyResponseObject, error) {
	k, err := s.store.RevokeAPIKey(ctx, principalFrom(ctx).organizationID, req.KeyID.String(), s.now())
	if err != nil {
		return nil, notFoundAs(err, errNotFound("API key"))
	}
	return gen.RevokeAPIKey200JSONResponse(apiKey(k)), nil
}

func (s *Server) keyOfOrganization(ctx context.Context, orgID, keyID string) (store.APIKey, error) {
	k, err := s.store.APIKeyInOrganization(ctx, orgID, keyID)
	return k, notFoundAs(err, errNotFound("API key"))
}

// accountLimit validates a pinterest_account_ids value against the project's accounts. set is
// false when the value means "all accounts" (omitted or null).
func (s *Server) accountLimit(ctx context.Context, projectID string, v nullable.Nullable[gen.PinterestAccountIDs]) (*[]string, bool, error) {
	if !v.IsSpecified() || v.IsNull() {
		return nil, false, nil
	}
	uuids := v.MustGet()
	ids := make([]string, 0, len(uuids))
	for _, id := range uuids {
		ids = append(ids, id.String())
	}
	n, err := s.store.CountPinterestAccounts(ctx, projectID, ids)
	if err != nil {
		return nil, false, err
	}
	if n != len(ids) {
		return nil, false, fieldError("pinterest_account_ids", "value_error", "every id must be a Pinterest account of the key's project")
	}
	return &ids, true, nil
}

func scopeStrings(scopes []gen.APIKeyScope) []string {
	// Kept in canonical order, whatever order the caller sent.
	out := make([]string, 0, len(scopes))
	for _, want := range allScopes {
		for _, sc := range scopes {
			if string(sc) == want {
				out = append(out, want)
				break
			}
		}
	}
	return out
}
