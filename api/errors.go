package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadmailer/leadmailer"
)

// Error codes of the API's own refusals. The other codes an error can carry are the domain's
// (leadmailer.EINVALID and the rest), so a client sees the same code the CLI acts on.
const (
	CodeUnauthorized = "unauthorized" // no token, or one not known, revoked or expired: 401
	CodeForbidden    = "forbidden"    // the token's role does not allow the call: 403
	CodeRateLimited  = "rate_limited" // too many calls with the token: 429
	CodeTooLarge     = "too_large"    // the body is larger than Options.MaxBody: 413
	// CodeMethodNotAllowed is a path the API has, called with a method it does not take: 405.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeSendFailed is a test message the transport did not take: 502, with the relay's
	// answer in the message.
	CodeSendFailed = "send_failed"
)

// errorBody is the one shape of every error the API answers:
// {"error": {"code": "...", "message": "...", "field": "..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the input at fault: a JSON field ("leads[3].email"), a query parameter
	// or a header. Empty when the error is not about one.
	Field string `json:"field,omitempty"`
}

// apiError is an error with its own status and code, for refusals that are not the
// domain's, and for the domain's errors about one field.
type apiError struct {
	status int
	code   string
	msg    string
	field  string
}

func (e *apiError) Error() string { return e.msg }

func errUnauthorized(msg string) error {
	return &apiError{status: http.StatusUnauthorized, code: CodeUnauthorized, msg: msg}
}

// fieldErrorf is an EINVALID error about one field of the input.
func fieldErrorf(field, format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: leadmailer.EINVALID, msg: fmt.Sprintf(format, args...), field: field}
}

// describe maps an error to its status and body: the one table that does.
func describe(err error) (int, errorDetail) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, errorDetail{Code: ae.code, Message: ae.msg, Field: ae.field}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, errorDetail{Code: CodeTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes; send fewer leads per call", mbe.Limit)}
	}
	code := leadmailer.ErrorCode(err)
	d := errorDetail{Code: code, Message: err.Error()}
	switch code {
	case leadmailer.EINVALID:
		return http.StatusBadRequest, d
	case leadmailer.ENOTFOUND:
		return http.StatusNotFound, d
	case leadmailer.ECONFLICT:
		return http.StatusConflict, d
	}
	d.Code, d.Message = leadmailer.EINTERNAL, "something went wrong on the server; the error was logged"
	return http.StatusInternalServerError, d
}

// writeError answers a failed call. Internal errors are logged, and the client learns only
// that something went wrong.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, d := describe(err)
	if status == http.StatusInternalServerError {
		s.opts.Logger.Error("API call failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	writeJSON(w, status, errorBody{Error: d})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"the answer could not be encoded"}}`)
	}
	writeBody(w, status, append(body, '\n'))
}

// writeBody answers with body, its length declared: a flushed answer without one is sent
// chunked, and the client then waits for the last chunk, which net/http sends only when
// the handler returns, after the call's audit entry.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// decodeJSON reads one JSON value from r into v, refusing fields v does not have and
// anything after the value. A refusal names the field at fault, prefixed with prefix
// ("leads[3]") when v is part of a larger document.
func decodeJSON(r io.Reader, v any, prefix string) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, prefix)
	}
	if dec.More() {
		return fieldErrorf(prefix, "the body holds more than one JSON value")
	}
	return nil
}

// jsonError turns a decoding error into one that names the field at fault.
func jsonError(err error, prefix string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	join := func(name string) string {
		switch {
		case prefix == "":
			return name
		case name == "":
			return prefix
		}
		return prefix + "." + name
	}
	// encoding/json has no error type for an unknown field; its message is
	// `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return fieldErrorf(join(name), "unknown field %q: see /api/v1/openapi.yaml for the fields this call takes", name)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fieldErrorf(join(te.Field), "%s must be a JSON %s, not %s", fieldLabel(join(te.Field)), jsonType(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fieldErrorf(prefix, "the body is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) {
		return fieldErrorf(prefix, "the body is empty; send a JSON object")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fieldErrorf(prefix, "the body ends in the middle of its JSON")
	}
	return fieldErrorf(prefix, "the body could not be read as JSON: %v", err)
}

func fieldLabel(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

// jsonType names a Go kind as JSON calls it.
func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}
