package server

import (
	"context"

	"github.com/pinbridge/pinbridge-auth/gen"
)

// ListProjects is specified; it is served once projects land.
func (s *Server) ListProjects(context.Context, gen.ListProjectsRequestObject) (gen.ListProjectsResponseObject, error) {
	return nil, errNotImplemented
}

// CreateSandboxProject is specified; it is served once projects land.
func (s *Server) CreateSandboxProject(context.Context, gen.CreateSandboxProjectRequestObject) (gen.CreateSandboxProjectResponseObject, error) {
	return nil, errNotImplemented
}

// ResetSandboxProject is specified; it is served once projects land.
func (s *Server) ResetSandboxProject(context.Context, gen.ResetSandboxProjectRequestObject) (gen.ResetSandboxProjectResponseObject, error) {
	return nil, errNotImplemented
}

// SwitchProject is specified; it is served once projects land.
func (s *Server) SwitchProject(context.Context, gen.SwitchProjectRequestObject) (gen.SwitchProjectResponseObject, error) {
	return nil, errNotImplemented
}
