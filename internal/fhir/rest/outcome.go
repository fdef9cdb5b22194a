package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
)

// OperationOutcome is an R4 OperationOutcome.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// statusError is an error whose HTTP status the apperr kinds do not say:
// 405, 406, 412, 413, 415, 422, 429. code is the IssueType.
type statusError struct {
	status int
	code   string
	msg    string
	err    error // the cause, if any; its element path, if any, is the expression
}

func (e *statusError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *statusError) Unwrap() error { return e.err }

// unprocessable is a 422: the request is well formed FHIR that Wholecare
// cannot act on (a resource it cannot map or does not store). The
// message of err, which names the entry and the element, is shown.
func unprocessable(err error) error {
	return &statusError{status: http.StatusUnprocessableEntity, code: "processing", msg: apperr.Message(err), err: err}
}

// outcomeOf turns an error into the status and OperationOutcome the
// client sees. Only the kinds' safe messages are shown; an Internal error
// says "internal error".
func outcomeOf(err error) (int, OperationOutcome) {
	status, code, msg := http.StatusInternalServerError, "exception", "internal error"
	var se *statusError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		status, code, msg = se.status, se.code, se.msg
	case errors.As(err, &mbe):
		status, code, msg = http.StatusRequestEntityTooLarge, "too-costly", "request body larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes"
	default:
		msg = apperr.Message(err)
		switch apperr.KindOf(err) {
		case apperr.Invalid:
			status, code = http.StatusBadRequest, "invalid"
		case apperr.NotFound:
			status, code = http.StatusNotFound, "not-found"
		case apperr.Conflict:
			status, code = http.StatusConflict, "conflict"
		case apperr.Forbidden:
			status, code = http.StatusForbidden, "forbidden"
		case apperr.Unavailable:
			status, code = http.StatusServiceUnavailable, "transient"
		}
	}
	issue := Issue{Severity: "error", Code: code, Diagnostics: msg}
	var ee *fhir.ElementError
	if status < 500 && errors.As(err, &ee) && ee.Path != "" {
		issue.Expression = []string{ee.Path}
	}
	return status, OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{issue}}
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve adapts a handlerFunc: an error becomes an OperationOutcome, and
// only Internal ones (status 500) are logged, by route and kind, with the
// cause (store and guard errors name ids and types, never person data).
func (h *Handler) serve(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, oo := outcomeOf(err)
	if status >= 500 && status != http.StatusServiceUnavailable {
		h.deps.Log.Error("fhir request failed", "route", r.Pattern, "method", r.Method, "err", err)
	}
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, status, &oo)
}

// contentType is what every JSON response is.
const contentType = "application/fhir+json; charset=utf-8"

// writeJSON encodes v whole before writing, so that an encoding failure
// can still be answered with a 500 and a response is never cut short.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, oo := outcomeOf(apperr.Wrap(apperr.Internal, err, "encoding a response"))
		b, _ = json.Marshal(&oo)
		writeRaw(w, status, b)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
