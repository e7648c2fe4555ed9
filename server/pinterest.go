package server

import (
	"context"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// ListPinterestAccounts lists the caller's project's accounts; an API key limited to some accounts
// sees only those. A key's accounts came with the key, in the same query.
func (s *Server) ListPinterestAccounts(ctx context.Context, _ gen.ListPinterestAccountsRequestObject) (gen.ListPinterestAccountsResponseObject, error) {
	p := principalFrom(ctx)
	accounts := p.keyAccounts
	if p.key == nil {
		var err error
		if accounts, err = s.store.PinterestAccounts(ctx, p.projectID); err != nil {
			return nil, err
		}
	}
	out := make(accountsAnswer, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, wirePinterestAccount(a))
	}
	return out, nil
}
