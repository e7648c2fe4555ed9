package server

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestAccessLineIsSlogs: for random entries, the line appendAccessLine writes is byte for byte what
// slog's JSON and text handlers write for the same record; it declines (and the Logger writes the
// line) exactly when a value is not plain, and never declines an entry of plain values.
func TestAccessLineIsSlogs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const plainChars = "abcXYZ0189-_.:/{}[]()*+,;<>&!#$%'?@^`|~"
	word := func(plainOnly bool) string {
		if !plainOnly && rng.IntN(8) == 0 {
			return []string{"", " ", "a b", `say "hi"`, `back\\slash`, "k=v", "tab\there", "new\nline", "é", "\x00", "\xff", "\u2028", "<script>"}[rng.IntN(13)]
		}
		var b strings.Builder
		for range 1 + rng.IntN(40) {
			b.WriteByte(plainChars[rng.IntN(len(plainChars))])
		}
		return b.String()
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", -7*3600), time.FixedZone("", 5*3600+1800), time.Local}
	durations := []float64{0, 0.001, 0.5, 1, 12.345, 999.999, 1234567.891, 1e20, 1e21, 5e-7}
	accepted := 0
	for i := range 20000 {
		plainOnly := i%2 == 0
		a := accessEntry{
			requestID: word(plainOnly), method: word(plainOnly), route: word(plainOnly), status: rng.IntN(600),
			durationMS: durations[rng.IntN(len(durations))], bytesOut: rng.Int64N(1 << 40), clientIP: word(plainOnly),
			undelivered: rng.IntN(4) == 0,
		}
		if rng.IntN(2) == 0 {
			a.errorCode = word(plainOnly)
		}
		if rng.IntN(2) == 0 {
			a.userID, a.orgID = word(plainOnly), word(plainOnly)
		}
		if rng.IntN(5) == 0 {
			a.durationMS = float64(rng.Int64N(10_000_000_000)) / 1000
		}
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
		for _, json := range []bool{true, false} {
			var want bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&want, nil)
			if json {
				h = slog.NewJSONHandler(&want, nil)
			}
			r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			r.AddAttrs(a.attrs()...)
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			got, ok := appendAccessLine(nil, json, at, &a)
			allPlain := plain(a.requestID) && plain(a.method) && plain(a.route) && plain(a.clientIP) &&
				(a.errorCode == "" || plain(a.errorCode)) && (a.userID == "" || plain(a.userID)) && (a.orgID == "" || plain(a.orgID))
			inRange := a.durationMS == 0 || (a.durationMS >= 1e-6 && a.durationMS < 1e21)
			if ok != (allPlain && inRange) {
				t.Fatalf("#%d json=%v: accepted %v, want %v for %+v", i, json, ok, allPlain && inRange, a)
			}
			if !ok {
				continue
			}
			accepted++
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("#%d json=%v:\ngot  %s\nslog %s", i, json, got, want.Bytes())
			}
		}
	}
	if accepted < 10000 {
		t.Fatalf("only %d lines written here; the plain entries are half of 40,000", accepted)
	}
}
