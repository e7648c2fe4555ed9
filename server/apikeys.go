package server

import (
	"context"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
	"github.com/pinbridge/pinbridge-auth/store"
)

// CreateAPIKey mints a key for the caller's active project and returns its plaintext, once.
func (s *Server) CreateAPIKey(ctx context.Context, req gen.CreateAPIKeyRequestObject) (gen.CreateAPIKeyResponseObject, error) {
	p := principalFrom(ctx)
	if err := s.limitAccount(ctx, limitKeyCreateOrg, p.organizationID, limitKeyCreateIP); err != nil {
		return nil, err
	}
	b := req.Body
	k := account.NewKey{Name: b.Name, PinterestAccountIDs: accountIDs(b.PinterestAccountIds).Value, ExpiresAt: b.ExpiresAt}
	if b.Scopes != nil {
		k.Scopes = scopeStrings(*b.Scopes)
	}
	key, plaintext, err := s.accounts.CreateKey(ctx, callerOf(ctx), k)
	if err != nil {
		return nil, err
	}
	return gen.CreateAPIKey201JSONResponse(apiKeyCreated(key, plaintext)), nil
}

// ListAPIKeys lists the active project's keys, newest first, revoked ones included.
func (s *Server) ListAPIKeys(ctx context.Context, _ gen.ListAPIKeysRequestObject) (gen.ListAPIKeysResponseObject, error) {
	keys, err := s.accounts.Keys(ctx, callerOf(ctx))
	if err != nil {
		return nil, err
	}
	out := make(gen.ListAPIKeys200JSONResponse, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiKey(k))
	}
	return out, nil
}

// UpdateAPIKey renames, re-scopes or re-limits a key of the caller's organization.
func (s *Server) UpdateAPIKey(ctx context.Context, req gen.UpdateAPIKeyRequestObject) (gen.UpdateAPIKeyResponseObject, error) {
	b := req.Body
	patch := store.APIKeyPatch{Name: b.Name, PinterestAccountIDs: accountIDs(b.PinterestAccountIds)}
	if b.Scopes != nil {
		patch.Scopes = new(scopeStrings(*b.Scopes))
	}
	k, err := s.accounts.UpdateKey(ctx, callerOf(ctx), req.KeyID.String(), patch)
	if err != nil {
		return nil, err
	}
	return gen.UpdateAPIKey200JSONResponse(apiKey(k)), nil
}

// RevokeAPIKey revokes a key of the caller's organization; revoking twice is harmless.
func (s *Server) RevokeAPIKey(ctx context.Context, req gen.RevokeAPIKeyRequestObject) (gen.RevokeAPIKeyResponseObject, error) {
	k, err := s.accounts.RevokeKey(ctx, callerOf(ctx), req.KeyID.String())
	if err != nil {
		return nil, err
	}
	return gen.RevokeAPIKey200JSONResponse(apiKey(k)), nil
}

// accountIDs reads a pinterest_account_ids value: unset when omitted, a nil Value (every account)
// when null.
func accountIDs(v nullable.Nullable[gen.PinterestAccountIDs]) store.Change[[]string] {
	if !v.IsSpecified() {
		return store.Change[[]string]{}
	}
	if v.IsNull() {
		return store.SetTo[[]string](nil)
	}
	ids := make([]string, 0, len(v.MustGet()))
	for _, id := range v.MustGet() {
		ids = append(ids, uuid.UUID(id).String())
	}
	return store.SetTo(&ids)
}

func scopeStrings(scopes []gen.APIKeyScope) []string {
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		out = append(out, string(sc))
	}
	return out
}
