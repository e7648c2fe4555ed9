package server

import (
	"context"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/account"
)

// ListActivityLogs answers a page of the caller's organization's activity log, newest first: for a
// member with can_view_reports, or an API key with the read scope.
func (s *Server) ListActivityLogs(ctx context.Context, req gen.ListActivityLogsRequestObject) (gen.ListActivityLogsResponseObject, error) {
	p := principalFrom(ctx)
	r := account.ActivityReader{OrganizationID: p.organizationID, APIKey: p.key != nil}
	if p.account != nil {
		r.Role, r.Plan = account.Role(p.account.Role), p.account.Production().Plan
	}
	page, err := s.accounts.ActivityLogs(ctx, r, activityQuery(req.Params))
	if err != nil {
		return nil, err
	}
	return gen.ListActivityLogs200JSONResponse(apiActivityPage(page)), nil
}
