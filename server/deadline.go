package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// errRequestDeadline is the cause of a request context that ran out of time.
var errRequestDeadline = errors.New("request deadline (PINBRIDGE_REQUEST_TIMEOUT) exceeded")

// withRequestContext gives the request the context the layers below read, in one copy of the
// request: the caller's origin (withOrigin) and a deadline PINBRIDGE_REQUEST_TIMEOUT from now. The
// deadline is carried to the database, where a query still running then is cancelled (see
// store.Open). A failure after the deadline that would otherwise be a 500, whichever layer reported
// it, answers 503 unavailable with Retry-After: the request ran out of time, it did not hit a bug.
// The deadline is shorter than the HTTP write timeout (configuration refuses otherwise), so that
// answer still reaches the client and the access log records what the client got.
func (s *Server) withRequestContext(next echo.HandlerFunc) echo.HandlerFunc {
	timeout := s.cfg.HTTP.RequestTimeout
	return func(c echo.Context) error {
		r := c.Request()
		ctx := withOrigin(r.Context(), c)
		if timeout <= 0 {
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
		ctx, cancel := context.WithTimeoutCause(ctx, timeout, errRequestDeadline)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		err := next(c)
		if err != nil && errors.Is(context.Cause(ctx), errRequestDeadline) && s.classify(err).status == http.StatusInternalServerError {
			return errUnavailable(fmt.Errorf("%w: %w", errRequestDeadline, err))
		}
		return err
	}
}
