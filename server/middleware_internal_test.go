package server

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// TestNewRequestIDIsRandomUUIDv4: every made request id is a canonical version 4 UUID that the
// request id check accepts, and none repeats.
func TestNewRequestIDIsRandomUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 20000 {
		id := newRequestID()
		u, err := uuid.Parse(id)
		if err != nil || u.String() != id || u.Version() != 4 || u.Variant() != uuid.RFC4122 || !validRequestID(id) {
			t.Fatalf("request id %q: %v, version %d, variant %v", id, err, u.Version(), u.Variant())
		}
		if seen[id] {
			t.Fatalf("request id %q made twice", id)
		}
		seen[id] = true
	}
}

// TestDeadlineOnlyWhereARequestWaits: a request's context carries the PINBRIDGE_REQUEST_TIMEOUT
// deadline on every route that may wait on the database or the password pool, readiness included,
// and none on the liveness probe, which answers from memory.
func TestDeadlineOnlyWhereARequestWaits(t *testing.T) {
	s := &Server{}
	s.cfg.HTTP.RequestTimeout = 7 * time.Second
	routes := echo.New()
	gen.RegisterHandlers(routes, gen.NewStrictHandler(s, nil))
	for path := range waitsOnNothing {
		if !slices.ContainsFunc(routes.Routes(), func(r *echo.Route) bool { return r.Path == path }) {
			t.Errorf("%q is not a route of the API", path)
		}
	}
	for path, want := range map[string]bool{"/healthz": false, "/readyz": true, "/v1/auth/me": true, "/v1/pinterest/accounts": true, "": true} {
		c := routes.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil), httptest.NewRecorder())
		c.SetPath(path)
		var got bool
		var left time.Duration
		err := s.withRequestState(func(c echo.Context) error {
			var at time.Time
			at, got = c.Request().Context().Deadline()
			left = time.Until(at)
			return nil
		})(c)
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		if got != want || (want && (left <= 0 || left > s.cfg.HTTP.RequestTimeout)) {
			t.Errorf("route %q: deadline %v (%v left), want %v within %v", path, got, left, want, s.cfg.HTTP.RequestTimeout)
		}
	}
}
