package server

import (
	"context"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// CreateAPIKey is specified; it is served once API keys land.
func (s *Server) CreateAPIKey(context.Context, gen.CreateAPIKeyRequestObject) (gen.CreateAPIKeyResponseObject, error) {
	return nil, errNotImplemented
}

// ListAPIKeys is specified; it is served once API keys land.
func (s *Server) ListAPIKeys(context.Context, gen.ListAPIKeysRequestObject) (gen.ListAPIKeysResponseObject, error) {
	return nil, errNotImplemented
}

// UpdateAPIKey is specified; it is served once API keys land.
func (s *Server) UpdateAPIKey(context.Context, gen.UpdateAPIKeyRequestObject) (gen.UpdateAPIKeyResponseObject, error) {
	return nil, errNotImplemented
}

// RevokeAPIKey is specified; it is served once API keys land.
func (s *Server) RevokeAPIKey(context.Context, gen.RevokeAPIKeyRequestObject) (gen.RevokeAPIKeyResponseObject, error) {
	return nil, errNotImplemented
}
