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
// line here costs a fraction of that. A line with a value outside the plain form appendPlain
// writes goes through the Logger instead, so every line stays exactly what slog writes.
type AccessLog struct {
	Out  io.Writer
	JSON bool
}

// accessEntry is one access log line's fields, in the order they are written.
type accessEntry struct {
	requestID, method, route string
	status                   int
	durationMS               float64
	bytesOut                 int64
	clientIP                 string
	errorCode                string // "" when the answer was no error
	undelivered              bool
	userID, orgID            string // "" when the caller is not known
}

// attrs is the entry as slog attributes, in the order appendAccessLine writes them.
func (a *accessEntry) attrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.String("request_id", a.requestID),
		slog.String("method", a.method),
		slog.String("route", a.route),
		slog.Int("status", a.status),
		slog.Float64("duration_ms", a.durationMS),
		slog.Int64("bytes_out", a.bytesOut),
		slog.String("client_ip", a.clientIP),
	}
	if a.errorCode != "" {
		attrs = append(attrs, slog.String("error_code", a.errorCode))
	}
	if a.undelivered {
		attrs = append(attrs, slog.Bool("undelivered", true))
	}
	if a.userID != "" {
		attrs = append(attrs, slog.String("user_id", a.userID))
	}
	if a.orgID != "" {
		attrs = append(attrs, slog.String("organization_id", a.orgID))
	}
	return attrs
}

var accessLines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write writes the entry's line to Out as the handler would log it at level INFO with message
// "request" at time t; false (and nothing written) when a value is not in the plain form.
func (l *AccessLog) write(t time.Time, a *accessEntry) bool {
	buf := accessLines.Get().(*[]byte)
	defer accessLines.Put(buf)
	line, ok := appendAccessLine((*buf)[:0], l.JSON, t, a)
	if !ok {
		return false
	}
	*buf = line
	_, _ = l.Out.Write(line) // as slog's handlers, whose error the Logger drops
	return true
}

// appendAccessLine appends the line; false when a value is not in the plain form.
func appendAccessLine(b []byte, json bool, t time.Time, a *accessEntry) ([]byte, bool) {
	t = t.Round(0)
	if y := t.Year(); y < 0 || y >= 10000 {
		return b, false // the JSON handler notes an error in the line
	}
	d := a.durationMS
	if d != 0 && (d < 1e-6 || d >= 1e21) {
		return b, false // encoding/json writes these with an exponent
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
	ok := true
	str := func(key, v string) {
		b = appendKey(b, json, key)
		if !plain(v) {
			ok = false
			return
		}
		if json {
			b = append(b, '"')
			b = append(b, v...)
			b = append(b, '"')
		} else {
			b = append(b, v...)
		}
	}
	str("request_id", a.requestID)
	str("method", a.method)
	str("route", a.route)
	b = strconv.AppendInt(appendKey(b, json, "status"), int64(a.status), 10)
	b = appendKey(b, json, "duration_ms")
	if json {
		b = strconv.AppendFloat(b, d, 'f', -1, 64) // what encoding/json writes in this range
	} else {
		b = strconv.AppendFloat(b, d, 'g', -1, 64)
	}
	b = strconv.AppendInt(appendKey(b, json, "bytes_out"), a.bytesOut, 10)
	str("client_ip", a.clientIP)
	if a.errorCode != "" {
		str("error_code", a.errorCode)
	}
	if a.undelivered {
		b = append(appendKey(b, json, "undelivered"), "true"...)
	}
	if a.userID != "" {
		str("user_id", a.userID)
	}
	if a.orgID != "" {
		str("organization_id", a.orgID)
	}
	if json {
		b = append(b, '}')
	}
	return append(b, '\n'), ok
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
