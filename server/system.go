package server

import (
	"context"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/store"
)

// GetServiceInfo names the service and its docs.
func (s *Server) GetServiceInfo(context.Context, gen.GetServiceInfoRequestObject) (gen.GetServiceInfoResponseObject, error) {
	return gen.GetServiceInfo200JSONResponse{Service: "pinbridge-auth", Version: s.version, Docs: "/docs"}, nil
}

// GetHealth is the liveness probe: it answers while the process can serve, without the database.
func (s *Server) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	if s.hasher.Waiting() > 0 {
		return s.healthBusy, nil
	}
	return s.healthOK, nil
}

// readinessWait bounds each step of the readiness check: the ping through the pool, and the one on a
// connection of its own when the pool has no connection free in time.
const readinessWait = time.Second

// GetReadiness answers 200 when the database answers, 503 when it does not. A pool saturated by slow
// queries is not an outage: when no pooled connection answers in time but a connection of its own
// does, the answer is 200 with database "saturated". The process and the database are up and every
// request sheds load by itself (503 at its deadline); taking every saturated instance out of a load
// balancer at once would turn a slowdown into an outage.
func (s *Server) GetReadiness(ctx context.Context, _ gen.GetReadinessRequestObject) (gen.GetReadinessResponseObject, error) {
	body := gen.Readiness{Version: s.version, Environment: gen.DeploymentEnvironment(s.cfg.Env)}
	switch health, _ := s.store.Health(ctx, readinessWait); health {
	case store.HealthOK:
		body.Status, body.Database = gen.ReadinessStatusReady, gen.Ok
	case store.HealthSaturated:
		body.Status, body.Database = gen.ReadinessStatusReady, gen.Saturated
	default:
		body.Status, body.Database = gen.ReadinessStatusUnavailable, gen.Unreachable
		return gen.GetReadiness503JSONResponse{Body: body, Headers: gen.GetReadiness503ResponseHeaders{RetryAfter: ptr(5)}}, nil
	}
	return gen.GetReadiness200JSONResponse(body), nil
}

func ptr[T any](v T) *T { return &v }
