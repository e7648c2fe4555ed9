package server

import (
	"context"

	"example.com/gen"
)

// Tests are not checked, however long.
func (s *Server) InTest(ctx context.Context, req gen.InTestRequestObject) (gen.InTestResponseObject, error) {
	s.step(ctx, 0)
	s.step(ctx, 1)
	s.step(ctx, 2)
	s.step(ctx, 3)
	s.step(ctx, 4)
	s.step(ctx, 5)
	s.step(ctx, 6)
	s.step(ctx, 7)
	s.step(ctx, 8)
	s.step(ctx, 9)
	s.step(ctx, 10)
	s.step(ctx, 11)
	s.step(ctx, 12)
	s.step(ctx, 13)
	s.step(ctx, 14)
	s.step(ctx, 15)
	s.step(ctx, 16)
	s.step(ctx, 17)
	s.step(ctx, 18)
	s.step(ctx, 19)
	s.step(ctx, 20)
	s.step(ctx, 21)
	s.step(ctx, 22)
	s.step(ctx, 23)
	s.step(ctx, 24)
	s.step(ctx, 25)
	s.step(ctx, 26)
	s.step(ctx, 27)
	s.step(ctx, 28)
	s.step(ctx, 29)
	s.step(ctx, 30)
	s.step(ctx, 31)
	s.step(ctx, 32)
	s.step(ctx, 33)
	s.step(ctx, 34)
	s.step(ctx, 35)
	s.step(ctx, 36)
	s.step(ctx, 37)
	s.step(ctx, 38)
	s.step(ctx, 39)
	s.step(ctx, 40)
	s.step(ctx, 41)
	s.step(ctx, 42)
	s.step(ctx, 43)
	s.step(ctx, 44)
	return nil, nil
}
