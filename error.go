package leadmailer

import (
	"errors"
	"fmt"
)

// Error codes. They say what kind of failure happened so that the edges (CLI exit status,
// HTTP status) can answer it without matching error text.
const (
	EINVALID  = "invalid"   // the input is wrong; the message says what to fix
	ENOTFOUND = "not_found" // the thing asked for does not exist
	ECONFLICT = "conflict"  // the request conflicts with the current state
	EINTERNAL = "internal"  // a bug or an outside failure; details are logged
)

// Error is an error a user can act on: Message is written for them.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}
