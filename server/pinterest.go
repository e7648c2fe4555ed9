package server

import (
	"context"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// ListPinterestAccounts is specified; it is served once Pinterest accounts land.
func (s *Server) ListPinterestAccounts(context.Context, gen.ListPinterestAccountsRequestObject) (gen.ListPinterestAccountsResponseObject, error) {
	return nil, errNotImplemented
}
