package server

import (
	"context"
	"errors"
	"fmt"
)

// Shutdown stops the background work within ctx's deadline, for a process on its way out; call it
// once the HTTP server has drained, with what is left of the same deadline. The mail sender begins
// no further message and abandons an attempt still in flight shortly before the deadline (a hung
// SMTP server cannot hold the process; the message stays queued for a retry). Background jobs and
// the last flush of API-key usage get the time that is left, and are left behind at the deadline.
// The error says what was left behind. Only the first call (of Shutdown and Close) does anything;
// the others return nil at once.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() { err = s.shutdown(ctx) })
	return err
}

func (s *Server) shutdown(ctx context.Context) error {
	rest := make(chan struct{})
	go func() {
		defer close(rest)
		s.jobsWG.Wait()
		s.usage.close()
	}()
	err := s.mailer.Shutdown(ctx)
	select {
	case <-rest:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("background jobs and key usage: %w", ctx.Err()))
	}
	s.hasher.Close()
	return err
}
