// Package logline is a slog.Handler that writes each record byte for byte as log/slog's own JSON
// or text handler would, faster. slog's handlers format any value generically (each attribute
// through a type switch, a float through encoding/json); on a server's access log that cost a
// seventh of the cheapest request. This handler writes a record itself when its message, keys and
// values are plain (see appendRecord) and hands any other record, and everything given WithAttrs or
// WithGroup, to slog's own handler on the same writer, so every line is exactly what slog writes.
package logline

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Handler writes records as slog.NewJSONHandler (json) or slog.NewTextHandler would on out.
type Handler struct {
	out  io.Writer
	json bool
	slog slog.Handler // slog's own handler on out, for the records this one does not write
}

// New returns the handler for out, which must be safe for concurrent use and take each line in
// one Write (as logbuf.Writer and *os.File do): slog's handlers serialise their writes with a lock
// of their own, which this one cannot share. With ReplaceAttr or AddSource set, it is slog's own
// handler.
func New(out io.Writer, json bool, opts *slog.HandlerOptions) slog.Handler {
	var h slog.Handler = slog.NewTextHandler(out, opts)
	if json {
		h = slog.NewJSONHandler(out, opts)
	}
	if opts != nil && (opts.ReplaceAttr != nil || opts.AddSource) {
		return h
	}
	return &Handler{out: out, json: json, slog: h}
}

func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.slog.Enabled(ctx, level)
}

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.slog.WithAttrs(attrs) }

func (h *Handler) WithGroup(name string) slog.Handler { return h.slog.WithGroup(name) }

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledLine bounds the buffers kept for the next line: a rare long one is not held for good.
const maxPooledLine = 16 << 10

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	buf := lines.Get().(*[]byte)
	line, ok := appendRecord((*buf)[:0], h.json, r)
	if cap(line) <= maxPooledLine {
		*buf = line
		defer lines.Put(buf)
	}
	if !ok {
		return h.slog.Handle(ctx, r)
	}
	_, err := h.out.Write(line)
	return err
}

// appendRecord appends r's line; false when its message, a key or a value is not in the plain
// form: a string that is not plain, a float encoding/json would write with an exponent (or not at
// all), a kind other than string, integer, float or bool.
func appendRecord(b []byte, json bool, r slog.Record) ([]byte, bool) {
	if !plain(r.Message) {
		return b, false
	}
	if json {
		b = append(b, '{')
	}
	sep := false
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false // the JSON handler notes an error in the line
		}
		b = appendKey(b, json, false, slog.TimeKey)
		if json {
			b = append(t.AppendFormat(append(b, '"'), time.RFC3339Nano), '"')
		} else {
			b = appendRFC3339Millis(b, t)
		}
		sep = true
	}
	b = appendString(appendKey(b, json, sep, slog.LevelKey), json, r.Level.String())
	b = appendString(appendKey(b, json, true, slog.MessageKey), json, r.Message)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if !plain(a.Key) {
			ok = false
			return false
		}
		b = appendKey(b, json, true, a.Key)
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			if ok = plain(v.String()); ok {
				b = appendString(b, json, v.String())
			}
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindFloat64:
			f := v.Float64()
			if ok = f == 0 || f >= 1e-6 && f < 1e21; !ok {
				break // encoding/json writes these with an exponent, or refuses them
			}
			if json {
				b = strconv.AppendFloat(b, f, 'f', -1, 64) // what encoding/json writes in this range
			} else {
				b = strconv.AppendFloat(b, f, 'g', -1, 64)
			}
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		default:
			ok = false
		}
		return ok
	})
	if !ok {
		return b, false
	}
	if json {
		b = append(b, '}')
	}
	return append(b, '\n'), true
}

// appendKey appends key (plain) and what joins it to its value, after a separator when sep.
func appendKey(b []byte, json, sep bool, key string) []byte {
	if json {
		if sep {
			b = append(b, ',')
		}
		return append(append(append(b, '"'), key...), `":`...)
	}
	if sep {
		b = append(b, ' ')
	}
	return append(append(b, key...), '=')
}

// appendString appends a plain string value: quoted in JSON, as it is in text.
func appendString(b []byte, json bool, s string) []byte {
	if json {
		return append(append(append(b, '"'), s...), '"')
	}
	return append(b, s...)
}

// plain reports whether both handlers write v as it is: in JSON inside quotes with nothing escaped,
// in text without quotes. That is a non-empty string of printable ASCII without space, '"', '\\'
// or '='.
func plain(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '=' {
			return false
		}
	}
	return true
}

// appendRFC3339Millis is the text handler's time: RFC 3339 with exactly three digits of
// milliseconds (log/slog's own function, BSD licence).
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}
