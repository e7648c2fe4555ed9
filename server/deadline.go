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

// withDeadline gives each request a deadline PINBRIDGE_REQUEST_TIMEOUT from now. Its context carries
// it to the database, where a query still running then is cancelled (see store.Open). A failure
// after the deadline that would otherwise be a 500, whichever layer reported it, answers 503
// unavailable with Retry-After: the request ran out of time, it did not hit a bug. The deadline is
// shorter than the HTTP write timeout (configuration refuses otherwise), so that answer still
// reaches the client and the access log records what the client got.
func (s *Server) withDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	timeout := s.cfg.HTTP.RequestTimeout
	if timeout <= 0 {
		return next
	}
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeoutCause(c.Request().Context(), timeout, errRequestDeadline)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if err != nil && errors.Is(context.Cause(ctx), errRequestDeadline) && s.classify(err).status == http.StatusInternalServerError {
			return errUnavailable(fmt.Errorf("%w: %w", errRequestDeadline, err))
		}
		return err
	}
}
