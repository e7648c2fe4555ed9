package server

import (
	"context"
	"time"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// GetServiceInfo names the service and its docs.
func (s *Server) GetServiceInfo(context.Context, gen.GetServiceInfoRequestObject) (gen.GetServiceInfoResponseObject, error) {
	return gen.GetServiceInfo200JSONResponse{Service: "pinbridge-auth", Version: s.version, Docs: "/docs"}, nil
}

// GetHealth is the liveness probe: it answers while the process can serve, without the database.
func (s *Server) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	hashing := "ok"
	if s.hasher.Waiting() > 0 {
		hashing = "busy"
	}
	return gen.GetHealth200JSONResponse{
		Status:      "ok",
		Version:     s.version,
		Environment: gen.DeploymentEnvironment(s.cfg.Env),
		Checks:      map[string]string{"server": "ok", "password_hashing": hashing},
	}, nil
}

// GetReadiness answers 200 when the database answers within two seconds, else 503.
func (s *Server) GetReadiness(ctx context.Context, _ gen.GetReadinessRequestObject) (gen.GetReadinessResponseObject, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	body := gen.Readiness{Version: s.version, Environment: gen.DeploymentEnvironment(s.cfg.Env)}
	if err := s.store.Ping(ctx); err != nil {
		body.Status, body.Database = gen.ReadinessStatusUnavailable, gen.Unreachable
		return gen.GetReadiness503JSONResponse{Body: body, Headers: gen.GetReadiness503ResponseHeaders{RetryAfter: ptr(5)}}, nil
	}
	body.Status, body.Database = gen.ReadinessStatusReady, gen.Ok
	return gen.GetReadiness200JSONResponse(body), nil
}

func ptr[T any](v T) *T { return &v }
