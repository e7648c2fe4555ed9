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

// HandleAttrs writes what Handle writes for a record made at t of level, msg and attrs, without
// making the record: one holds five attributes and allocates room for any more, which a server's
// access line (seven to eleven) would pay on every request. The line goes to slog's own handler,
// in a record, when it is not plain.
func (h *Handler) HandleAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs []slog.Attr) error {
	buf := lines.Get().(*[]byte)
	line, ok := appendLine((*buf)[:0], h.json, t, level, msg, attrs)
	if cap(line) <= maxPooledLine {
		*buf = line
		defer lines.Put(buf)
	}
	if !ok {
		r := slog.NewRecord(t, level, msg, 0)
		r.AddAttrs(attrs...)
		return h.slog.Handle(ctx, r)
	}
	_, err := h.out.Write(line)
	return err
}

// appendRecord appends r's line; false when its message, a key or a value is not in the plain
// form: a string that is not plain, a float encoding/json would write with an exponent (or not at
// all), a kind other than string, integer, float or bool.
func appendRecord(b []byte, json bool, r slog.Record) ([]byte, bool) {
	b, ok := appendHead(b, json, r.Time, r.Level, r.Message)
	if !ok {
		return b, false
	}
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, json, a)
		return ok
	})
	if !ok {
		return b, false
	}
	return appendEnd(b, json), true
}

// appendLine is appendRecord of the record made at t of level, msg and attrs.
func appendLine(b []byte, json bool, t time.Time, level slog.Level, msg string, attrs []slog.Attr) ([]byte, bool) {
	b, ok := appendHead(b, json, t, level, msg)
	for i := 0; ok && i < len(attrs); i++ {
		b, ok = appendAttr(b, json, attrs[i])
	}
	if !ok {
		return b, false
	}
	return appendEnd(b, json), true
}

// appendHead appends a line's time (none when zero), level and message.
func appendHead(b []byte, json bool, at time.Time, level slog.Level, msg string) ([]byte, bool) {
	if !plain(msg) {
		return b, false
	}
	if json {
		b = append(b, '{')
	}
	sep := false
	if !at.IsZero() {
		t := at.Round(0)
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
	b = appendString(appendKey(b, json, sep, slog.LevelKey), json, level.String())
	return appendString(appendKey(b, json, true, slog.MessageKey), json, msg), true
}

// appendAttr appends one attribute after what came before it.
func appendAttr(b []byte, json bool, a slog.Attr) ([]byte, bool) {
	if !plain(a.Key) {
		return b, false
	}
	b = appendKey(b, json, true, a.Key)
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		if !plain(v.String()) {
			return b, false
		}
		return appendString(b, json, v.String()), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindFloat64:
		f := v.Float64()
		if !(f == 0 || f >= 1e-6 && f < 1e21) {
			return b, false // encoding/json writes these with an exponent, or refuses them
		}
		if json {
			return strconv.AppendFloat(b, f, 'f', -1, 64), true // what encoding/json writes in this range
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	}
	return b, false
}

// appendEnd ends a line.
func appendEnd(b []byte, json bool) []byte {
	if json {
		b = append(b, '}')
	}
	return append(b, '\n')
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
