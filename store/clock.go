package store

import "time"

// Clock returns a time source whose readings are what both engines keep: UTC, whole microseconds,
// so what is stored, compared and shown agrees. nil means time.Now.
func Clock(now func() time.Time) func() time.Time {
	if now == nil {
		now = time.Now
	}
	return func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}
