package logline

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestLinesAreSlogs: for random records (messages, levels, times with and without zones or none,
// attributes of every kind the handler writes and some it does not, keys and values plain or
// not), the handler writes byte for byte what slog's JSON and text handlers write; it writes a
// line itself exactly when the message, every key and every value are plain and of a kind it
// writes (otherwise slog does), and that is most of the plain ones.
func TestLinesAreSlogs(t *testing.T) {
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
	durations := []float64{0, 0.001, 0.5, 1, 12.345, 999.999, 1234567.891, 1e20, 1e21, 5e-7, -1, math.NaN(), math.Inf(1)}
	levels := []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelDebug, slog.LevelInfo + 2}
	written := 0
	for i := range 20000 {
		plainOnly := i%2 == 0
		// An access line's attributes, some of them optional, with random values and keys.
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
			attrs = append(attrs, slog.Duration("elapsed", time.Second)) // a kind the handler leaves to slog
		}
		msg := "request"
		if rng.IntN(4) == 0 {
			msg = word(plainOnly)
		}
		writes := plain(msg) // the line is written here: message, every key and value plain, every kind one it writes
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
		var at time.Time
		if rng.IntN(10) > 0 {
			at = time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
		}
		r := slog.NewRecord(at, levels[rng.IntN(len(levels))], msg, 0)
		r.AddAttrs(attrs...)
		for _, json := range []bool{true, false} {
			var want, got bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug})
			if json {
				h = slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := New(&got, json, &slog.HandlerOptions{Level: slog.LevelDebug}).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("#%d json=%v:\ngot  %s\nslog %s", i, json, got.Bytes(), want.Bytes())
			}
			got.Reset()
			fast := New(&got, json, &slog.HandlerOptions{Level: slog.LevelDebug}).(*Handler)
			if err := fast.HandleAttrs(context.Background(), r.Time, r.Level, msg, attrs); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("#%d json=%v, from its parts:\ngot  %s\nslog %s", i, json, got.Bytes(), want.Bytes())
			}
			if _, ok := appendLine(nil, json, r.Time, r.Level, msg, attrs); ok != writes {
				t.Fatalf("#%d json=%v: from its parts, written here %v, want %v for %q %v", i, json, ok, writes, msg, attrs)
			}
			_, ok := appendRecord(nil, json, r)
			if ok != writes {
				t.Fatalf("#%d json=%v: written here %v, want %v for %q %v", i, json, ok, writes, msg, attrs)
			}
			if ok {
				written++
			}
		}
	}
	if written < 10000 {
		t.Fatalf("only %d of 40,000 lines written here; the plain records are more than a third", written)
	}
}

// TestLevelsAndDerivedHandlers: Enabled is the options' level; a handler given attributes or a
// group, or options this one does not follow, is slog's own (its lines still exactly slog's).
func TestLevelsAndDerivedHandlers(t *testing.T) {
	var out bytes.Buffer
	h := New(&out, true, &slog.HandlerOptions{Level: slog.LevelWarn})
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("Enabled does not follow the options' level")
	}
	if _, ok := h.WithAttrs([]slog.Attr{slog.String("a", "b")}).(*Handler); ok {
		t.Error("WithAttrs kept the fast handler, which writes no preset attributes")
	}
	if _, ok := h.WithGroup("g").(*Handler); ok {
		t.Error("WithGroup kept the fast handler, which writes no groups")
	}
	replace := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return a }}
	if _, ok := New(&out, false, replace).(*Handler); ok {
		t.Error("New with ReplaceAttr made the fast handler, which does not call it")
	}
}
