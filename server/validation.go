package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/pinbridge/pinbridge-auth/gen"
	"github.com/pinbridge/pinbridge-auth/internal/emailaddr"
)

func init() {
	// OpenAPI 3.0 leaves these formats unchecked unless a validator is defined.
	openapi3.DefineStringFormatValidator("email", openapi3.NewCallbackValidator(validEmail))
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewCallbackValidator(func(s string) error {
		if len(s) != 36 {
			return errors.New("not a UUID")
		}
		_, err := uuid.Parse(s)
		return err
	}))
}

// validEmail accepts a bare addr-spec (no display name, no comments) that has a canonical form
// (emailaddr.Canonical: a name for a domain, with a dot; an ASCII local part).
func validEmail(s string) error {
	canonical, err := emailaddr.Canonical(s)
	if err != nil {
		return err
	}
	addr, err := mail.ParseAddress(canonical)
	if err != nil || addr.Name != "" || addr.Address != canonical || strings.TrimSpace(s) != s {
		return errors.New("not a valid email address")
	}
	return nil
}

// requestValidator builds, for the route of one operation, the middleware that checks its requests
// against the embedded spec and answers 422 in the contract's shape, naming each offending field.
// Echo has already matched the route, so the operation is looked up once here instead of matched
// again on every request; an operation with no parameters and no body has nothing to check and gets
// no middleware at all. Authentication is ours, so the filter skips it.
func requestValidator(spec *openapi3.T) func(method, echoPath string) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         true,
		KeepValidatedValue: true,
	}
	return func(method, echoPath string) echo.MiddlewareFunc {
		path := specPath(echoPath)
		item := spec.Paths.Find(path)
		var op *openapi3.Operation
		if item != nil {
			op = item.GetOperation(method)
		}
		if op == nil {
			panic(fmt.Sprintf("server: %s %s is routed but not in the spec", method, path))
		}
		if len(item.Parameters) == 0 && len(op.Parameters) == 0 && op.RequestBody == nil {
			return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
		}
		route := &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}
		credential, hasCredential := credentialFields[op.OperationID]
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				err := openapi3filter.ValidateRequest(c.Request().Context(), &openapi3filter.RequestValidationInput{
					Request: c.Request(), PathParams: pathParams(c), Route: route, Options: opts,
				})
				if err != nil {
					issues := validationIssues(err)
					if hasCredential && concerns(issues, "body", credential.field) {
						return credential.refusal
					}
					return validationError(issues)
				}
				return next(c)
			}
		}
	}
}

// credentialFields are the body fields carrying a one-time credential that the contract answers as
// invalid, not as a malformed request, when it is missing or not of a credential's shape:
// reset-password's token ("reset token missing, wrong, expired or already used": 400
// invalid_reset_token), by operation id.
var credentialFields = map[string]struct {
	field   string
	refusal error
}{
	"resetPassword": {"token", errInvalidResetToken},
}

// concerns reports whether any issue is about the field at loc.
func concerns(issues []gen.ValidationIssue, loc ...string) bool {
	return slices.ContainsFunc(issues, func(i gen.ValidationIssue) bool { return slices.Equal(i.Loc, loc) })
}

// specPath turns an Echo route ("/v1/api-keys/:key_id") into its spec path ("/v1/api-keys/{key_id}").
func specPath(echoPath string) string {
	parts := strings.Split(echoPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// pathParams are the request's path parameters, decoded once: Echo routes on the escaped path (and
// leaves its values escaped) only when the request's path needed escaping.
func pathParams(c echo.Context) map[string]string {
	names := c.ParamNames()
	if len(names) == 0 {
		return nil
	}
	escaped := c.Request().URL.RawPath != ""
	out := make(map[string]string, len(names))
	for i, v := range c.ParamValues()[:len(names)] {
		if escaped {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
		}
		out[names[i]] = v
	}
	return out
}

// validationError is the 422 for a request the spec refuses with issues (415 for a body that is not
// JSON).
func validationError(issues []gen.ValidationIssue) error {
	if len(issues) > 0 {
		if unsupportedMedia(issues) {
			return errUnsupportedMedia
		}
		return errValidation(issues...)
	}
	return errValidation(gen.ValidationIssue{Loc: []string{"request"}, Msg: "request does not match the API schema", Type: "value_error"})
}

func unsupportedMedia(issues []gen.ValidationIssue) bool {
	for _, is := range issues {
		if is.Type != "unsupported_media_type" {
			return false
		}
	}
	return true
}

// validationIssues flattens kin-openapi's errors into the contract's {loc, msg, type} list. It reads
// only reasons and paths, never the offending values (which may be passwords).
func validationIssues(err error) []gen.ValidationIssue {
	var out []gen.ValidationIssue
	var walk func(base []string, err error)
	walk = func(base []string, err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(base, inner)
			}
		case *openapi3filter.RequestError:
			loc := base
			switch {
			case e.Parameter != nil:
				loc = []string{e.Parameter.In, e.Parameter.Name}
			case e.RequestBody != nil:
				loc = []string{"body"}
			}
			switch {
			case e.Err == nil:
				out = append(out, requestIssue(loc, e))
			case errors.Is(e.Err, openapi3filter.ErrInvalidRequired), errors.Is(e.Err, openapi3filter.ErrInvalidEmptyValue):
				out = append(out, gen.ValidationIssue{Loc: loc, Msg: "field required", Type: "missing"})
			default:
				walk(loc, e.Err)
			}
		case *openapi3.SchemaError:
			out = append(out, schemaIssue(base, e))
		case *openapi3filter.ParseError:
			if len(base) > 0 && base[0] == "body" {
				out = append(out, gen.ValidationIssue{Loc: base, Msg: "is not valid JSON", Type: "json_invalid"})
				return
			}
			out = append(out, gen.ValidationIssue{Loc: base, Msg: "could not be parsed: " + parseReason(e), Type: "value_error"})
		default:
			if unwrapped := errors.Unwrap(err); unwrapped != nil {
				walk(base, unwrapped)
				return
			}
			text := err.Error()
			switch {
			case strings.Contains(text, "unsupported content type"), strings.Contains(text, "header Content-Type"):
				out = append(out, gen.ValidationIssue{Loc: base, Msg: "Content-Type must be application/json", Type: "unsupported_media_type"})
			case strings.Contains(text, "invalid character"), strings.Contains(text, "unexpected end of JSON"), strings.Contains(text, "failed to decode"):
				out = append(out, gen.ValidationIssue{Loc: base, Msg: "is not valid JSON", Type: "json_invalid"})
			default:
				out = append(out, gen.ValidationIssue{Loc: base, Msg: "is invalid", Type: "value_error"})
			}
		}
	}
	walk([]string{"request"}, err)
	return out
}

func requestIssue(loc []string, re *openapi3filter.RequestError) gen.ValidationIssue {
	reason := re.Reason
	switch {
	case strings.Contains(reason, "header Content-Type has unexpected value"), strings.Contains(reason, "unsupported content type"):
		return gen.ValidationIssue{Loc: loc, Msg: "Content-Type must be application/json", Type: "unsupported_media_type"}
	case strings.Contains(reason, "value is required"), strings.Contains(reason, "must have a value"):
		return gen.ValidationIssue{Loc: loc, Msg: "field required", Type: "missing"}
	}
	return gen.ValidationIssue{Loc: loc, Msg: reason, Type: "value_error"}
}

func parseReason(pe *openapi3filter.ParseError) string {
	if pe.Reason != "" {
		return pe.Reason
	}
	return "invalid value"
}

var unsupportedProperty = regexp.MustCompile(`^property "(.+)" is unsupported$`)

func schemaIssue(base []string, se *openapi3.SchemaError) gen.ValidationIssue {
	loc := append(append([]string{}, base...), se.JSONPointer()...)
	kind := se.SchemaField
	msg := se.Reason
	switch se.SchemaField {
	case "required":
		kind, msg = "missing", "field required"
	case "additionalProperties", "properties":
		if m := unsupportedProperty.FindStringSubmatch(se.Reason); m != nil {
			loc = append(loc, shortName(m[1]))
			kind, msg = "extra_forbidden", "extra fields not permitted"
		}
	case "minLength":
		kind = "string_too_short"
		if se.Schema != nil {
			msg = fmt.Sprintf("must be at least %d characters", se.Schema.MinLength)
		}
	case "maxLength":
		kind = "string_too_long"
		if se.Schema != nil && se.Schema.MaxLength != nil {
			msg = fmt.Sprintf("must be at most %d characters", *se.Schema.MaxLength)
		}
	case "pattern":
		kind, msg = "string_pattern_mismatch", "must not be blank"
	case "format":
		kind = "value_error"
		if se.Schema != nil {
			msg = "must be a valid " + se.Schema.Format
		}
	case "type":
		kind = "type_error"
		if se.Schema != nil && se.Schema.Type != nil {
			msg = "must be of type " + strings.Join(se.Schema.Type.Slice(), " or ")
		}
	case "enum":
		kind = "enum"
		if se.Schema != nil {
			vals := make([]string, 0, len(se.Schema.Enum))
			for _, v := range se.Schema.Enum {
				vals = append(vals, fmt.Sprint(v))
			}
			msg = "must be one of " + strings.Join(vals, ", ")
		}
	case "nullable":
		kind, msg = "type_error", "must not be null"
	case "minItems", "minProperties":
		kind = "too_short"
	case "maxItems", "maxProperties":
		kind = "too_long"
	case "uniqueItems":
		kind = "unique_items"
	case "minimum":
		kind = "greater_than_equal"
	case "maximum":
		kind = "less_than_equal"
	}
	return gen.ValidationIssue{Loc: loc, Msg: msg, Type: kind}
}

// refuseNUL answers 422, naming the field, for a NUL character (U+0000) in any string of the JSON
// body or in a query parameter: PostgreSQL cannot store one in text, and no field of the API has a
// use for it. The common case (no `\u0000` escape in the body) costs one scan. It also holds a
// JSON body to exactly one JSON value in UTF-8: trailing data after it is 422 json_invalid (the
// decoders behind it would read the first value and ignore the rest), another charset 415.
func refuseNUL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.Contains(r.URL.RawQuery, "%00") { // parsed only then: most requests have no query
			for name, values := range r.URL.Query() {
				for _, v := range values {
					if strings.ContainsRune(v, 0) {
						return errValidation(nulIssue([]string{"query", name}))
					}
				}
			}
		}
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			return next(c)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err // the body limit's 413, or a broken connection
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		// The raw body, for handlers that verify a signature over it (leak reports).
		r = r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, body))
		c.SetRequest(r)
		if media, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); err == nil && media == echo.MIMEApplicationJSON {
			if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
				return errUnsupportedMedia
			}
			if len(body) > 0 && !json.Valid(body) {
				return errValidation(gen.ValidationIssue{Loc: []string{"body"}, Msg: "is not valid JSON", Type: "json_invalid"})
			}
		}
		if !bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
			return next(c)
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return next(c) // not JSON: the validator says so
		}
		if loc := nulPath([]string{"body"}, v); loc != nil {
			return errValidation(nulIssue(loc))
		}
		return next(c)
	}
}

type rawBodyKey struct{}

// rawBody is the request's body as it arrived (nil when it had none).
func rawBody(ctx context.Context) []byte {
	b, _ := ctx.Value(rawBodyKey{}).([]byte)
	return b
}

func nulIssue(loc []string) gen.ValidationIssue {
	return gen.ValidationIssue{Loc: loc, Msg: "must not contain a NUL character (U+0000)", Type: "value_error"}
}

// nulPath is the path of the first string (or object key) in v that holds a NUL, or nil.
func nulPath(base []string, v any) []string {
	switch t := v.(type) {
	case string:
		if strings.ContainsRune(t, 0) {
			return base
		}
	case []any:
		for i, item := range t {
			if loc := nulPath(append(base[:len(base):len(base)], strconv.Itoa(i)), item); loc != nil {
				return loc
			}
		}
	case map[string]any:
		for k, item := range t {
			loc := append(base[:len(base):len(base)], k)
			if strings.ContainsRune(k, 0) {
				return loc
			}
			if loc := nulPath(loc, item); loc != nil {
				return loc
			}
		}
	}
	return nil
}

// shortName keeps a name the caller chose (an unknown property) short in an error: an answer must
// not echo a large body back, several times over.
func shortName(name string) string {
	const max = 64
	if r := []rune(name); len(r) > max {
		return string(r[:max]) + "…"
	}
	return name
}
