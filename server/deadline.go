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

// deadlineErrors answers a failure after the request's deadline (withRequestState) that would
// otherwise be a 500, whichever layer reported it, with 503 unavailable and Retry-After: the request
// ran out of time, it did not hit a bug. The deadline is shorter than the HTTP write timeout
// (configuration refuses otherwise), so that answer still reaches the client and the access log
// records what the client got.
func (s *Server) deadlineErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		err := next(c)
		if err != nil && errors.Is(context.Cause(ctx), errRequestDeadline) && s.classify(err).status == http.StatusInternalServerError {
			return errUnavailable(fmt.Errorf("%w: %w", errRequestDeadline, err))
		}
		return err
	}
}
