package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Operations of a Request.
const (
	OpStatus        = "status"
	OpConnections   = "connections"
	OpAddAddress    = "add_address"
	OpRemoveAddress = "remove_address"
	OpSetOption     = "set_option"
	OpCreateSubflow = "create_subflow"
	OpWatch         = "watch"
)

// Limits of the protocol.
const (
	// MaxRequestSize bounds one request line, in bytes.
	MaxRequestSize = 64 << 10
	// MinWatchInterval and MaxWatchInterval bound the period of a
	// watch stream.
	MinWatchInterval = 50 * time.Millisecond
	MaxWatchInterval = time.Minute
)

// Request is one request line.
type Request struct {
	Op string `json:"op"`
	// Address is the local address of add_address and remove_address.
	Address string `json:"address,omitempty"`
	// Key and Value are the option of set_option.
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
	// Subflow is the subflow of create_subflow.
	Subflow *SubflowRequest `json:"subflow,omitempty"`
	// IntervalMs is the period of a watch stream in milliseconds.
	IntervalMs int64 `json:"interval_ms,omitempty"`
}

// Response is one response line. Exactly one of Error and the result
// fields is set.
type Response struct {
	Error       *Error       `json:"error,omitempty"`
	Status      *Status      `json:"status,omitempty"`
	Connections []Connection `json:"connections,omitempty"`
	Update      *Update      `json:"update,omitempty"`
	OK          bool         `json:"ok,omitempty"`
}

// Error codes of a failed request.
const (
	CodeInvalid     = "invalid_request"   // malformed or invalid request
	CodeDenied      = "permission_denied" // peer is not root or the daemon's user
	CodeNotFound    = "not_found"         // unknown connection, address or option
	CodeUnsupported = "unsupported"       // the daemon cannot do this in its mode
	CodeFailed      = "failed"            // the kernel or daemon failed
)

// Sentinel errors that a Handler wraps to choose the error code, and that
// Client errors match with errors.Is.
var (
	ErrInvalid     = errors.New("invalid request")
	ErrDenied      = errors.New("permission denied")
	ErrNotFound    = errors.New("not found")
	ErrUnsupported = errors.New("unsupported")
)

// Error is a failed request as sent on the wire.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel error of e's code.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case CodeInvalid:
		return target == ErrInvalid
	case CodeDenied:
		return target == ErrDenied
	case CodeNotFound:
		return target == ErrNotFound
	case CodeUnsupported:
		return target == ErrUnsupported
	}
	return false
}

// toError converts a handler error into a wire error.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	code := CodeFailed
	switch {
	case errors.Is(err, ErrInvalid):
		code = CodeInvalid
	case errors.Is(err, ErrDenied):
		code = CodeDenied
	case errors.Is(err, ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, ErrUnsupported):
		code = CodeUnsupported
	}
	return &Error{Code: code, Message: err.Error()}
}

func invalidf(format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// decodeRequest parses one request line and rejects unknown fields, so
// that a typo in a field name fails instead of being ignored.
func decodeRequest(line []byte) (Request, *Error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, invalidf("malformed request: %v: send one JSON object per line, such as {\"op\":\"status\"}", err)
	}
	if dec.More() {
		return req, invalidf("malformed request: data after the JSON object: send one object per line")
	}
	if req.Op == "" {
		return req, invalidf("invalid request: missing \"op\"")
	}
	return req, nil
}
