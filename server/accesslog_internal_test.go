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
// line) exactly when a key or value is not plain or of a kind it does not write, and never declines
// a line of plain ones.
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
		// The access line's attributes, some of them optional, with random values and keys.
		attrs := []slog.Attr{slog.String("request_id", word(plainOnly)), slog.String("method", word(plainOnly)),
			slog.String("route", word(plainOnly)), slog.Int("status", rng.IntN(600)),
			slog.Float64("duration_ms", durations[rng.IntN(len(durations))]), slog.Int64("bytes_out", rng.Int64N(1<<40)),
			slog.String("client_ip", word(plainOnly))}
		if rng.IntN(5) == 0 {
			attrs[4] = slog.Float64("duration_ms", float64(rng.Int64N(10_000_000_000))/1000)
		}
		if rng.IntN(2) == 0 {
			attrs = append(attrs, slog.String("error_code", word(plainOnly)))
		}
		if rng.IntN(4) == 0 {
			attrs = append(attrs, slog.Bool("undelivered", true))
		}
		if rng.IntN(2) == 0 {
			attrs = append(attrs, slog.String("user_id", word(plainOnly)), slog.String(word(plainOnly), word(plainOnly)))
		}
		if rng.IntN(20) == 0 {
			attrs = append(attrs, slog.Duration("elapsed", time.Second)) // a kind the line does not write
		}
		writes := true // the line is written here: every key and value plain, every kind one it writes
		for _, a := range attrs {
			switch v := a.Value; v.Kind() {
			case slog.KindString:
				writes = writes && plain(a.Key) && plain(v.String())
			case slog.KindFloat64:
				f := v.Float64()
				writes = writes && plain(a.Key) && (f == 0 || f >= 1e-6 && f < 1e21)
			case slog.KindInt64, slog.KindBool:
				writes = writes && plain(a.Key)
			default:
				writes = false
			}
		}
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
		for _, json := range []bool{true, false} {
			var want bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&want, nil)
			if json {
				h = slog.NewJSONHandler(&want, nil)
			}
			r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			r.AddAttrs(attrs...)
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			got, ok := appendAccessLine(nil, json, at, attrs)
			if ok != writes {
				t.Fatalf("#%d json=%v: accepted %v, want %v for %v", i, json, ok, writes, attrs)
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
