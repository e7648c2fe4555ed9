package server

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// AccessLog lets the server write its access log lines itself, byte for byte as the process's
// slog handler would: slog's JSON handler (JSON) or text handler on Out, with no ReplaceAttr, group
// or preset attribute. Those handlers format any value generically (each attribute through a
// type switch, a float through encoding/json) and cost a seventh of the cheapest request; the
// line here costs a fraction of that. A line with a value outside the plain form (appendAccessLine)
// goes through the Logger instead, so every line stays exactly what slog writes.
type AccessLog struct {
	Out  io.Writer
	JSON bool
}

var accessLines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write writes the line the handler would log at level INFO with message "request" and attrs at
// time t; false (and nothing written) when a key or value is not in the plain form.
func (l *AccessLog) write(t time.Time, attrs []slog.Attr) bool {
	buf := accessLines.Get().(*[]byte)
	defer accessLines.Put(buf)
	line, ok := appendAccessLine((*buf)[:0], l.JSON, t, attrs)
	if !ok {
		return false
	}
	*buf = line
	_, _ = l.Out.Write(line) // as slog's handlers, whose error the Logger drops
	return true
}

// appendAccessLine appends the line; false when a key or value is not in the plain form: a string
// that is not plain, a float encoding/json would write with an exponent, a kind other than string,
// integer, float or bool.
func appendAccessLine(b []byte, json bool, t time.Time, attrs []slog.Attr) ([]byte, bool) {
	t = t.Round(0)
	if y := t.Year(); y < 0 || y >= 10000 {
		return b, false // the JSON handler notes an error in the line
	}
	if json {
		b = append(b, `{"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","level":"INFO","msg":"request"`...)
	} else {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, t)
		b = append(b, " level=INFO msg=request"...)
	}
	for _, a := range attrs {
		if !plain(a.Key) {
			return b, false
		}
		b = appendKey(b, json, a.Key)
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			s := v.String()
			if !plain(s) {
				return b, false
			}
			if json {
				b = append(append(append(b, '"'), s...), '"')
			} else {
				b = append(b, s...)
			}
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindFloat64:
			f := v.Float64()
			if !(f == 0 || f >= 1e-6 && f < 1e21) {
				return b, false // encoding/json writes these with an exponent, or refuses them
			}
			if json {
				b = strconv.AppendFloat(b, f, 'f', -1, 64) // what encoding/json writes in this range
			} else {
				b = strconv.AppendFloat(b, f, 'g', -1, 64)
			}
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		default:
			return b, false
		}
	}
	if json {
		b = append(b, '}')
	}
	return append(b, '\n'), true
}

func appendKey(b []byte, json bool, key string) []byte {
	if json {
		b = append(b, `,"`...)
		b = append(b, key...)
		return append(b, `":`...)
	}
	b = append(b, ' ')
	b = append(b, key...)
	return append(b, '=')
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
