package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// validator is a request body that can say what is wrong with it, field by
// field.
type validator interface {
	Valid(ctx context.Context) map[string]string
}

// invalid turns field problems into one Invalid error naming each field.
func invalid(problems map[string]string) error {
	keys := make([]string, 0, len(problems))
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + problems[k]
	}
	return apperr.E(apperr.Invalid, strings.Join(parts, "; "))
}

// decode reads a JSON body into v, refusing unknown fields, trailing data
// and bodies over the server's limit, then validates it.
func decode(r *http.Request, v validator) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apperr.E(apperr.Invalid, "send the body as application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return apperr.Ef(apperr.Invalid, "the request body is over %d bytes", tooBig.Limit)
		case errors.Is(err, io.EOF):
			return apperr.E(apperr.Invalid, "the request body is empty: send JSON")
		}
		return apperr.Ef(apperr.Invalid, "the request body is not valid JSON for this request: %s", jsonProblem(err))
	}
	if dec.More() {
		return apperr.E(apperr.Invalid, "the request body has data after the JSON value")
	}
	if p := v.Valid(r.Context()); len(p) > 0 {
		return invalid(p)
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed"
}
