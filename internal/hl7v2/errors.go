package hl7v2

import (
	"errors"
	"fmt"

	"github.com/wholecare/wholecare/internal/apperr"
)

// ErrorCode is an HL7 message error condition code (HL7 table 0357). It is
// what an ACK carries in ERR-3; errors from this package carry one, read by
// CodeOf.
type ErrorCode int

// The codes of table 0357 that Wholecare uses.
const (
	CodeSegmentSequence        ErrorCode = 100 // segments out of order or a required segment missing
	CodeRequiredFieldMissing   ErrorCode = 101
	CodeDataType               ErrorCode = 102 // a value is not of its data type (a malformed date, say)
	CodeTableValueNotFound     ErrorCode = 103
	CodeUnsupportedMessageType ErrorCode = 200
	CodeUnsupportedEvent       ErrorCode = 201
	CodeUnsupportedProcessing  ErrorCode = 202
	CodeUnsupportedVersion     ErrorCode = 203
	CodeUnknownKey             ErrorCode = 204
	CodeDuplicateKey           ErrorCode = 205
	CodeRecordLocked           ErrorCode = 206
	CodeInternal               ErrorCode = 207 // application internal error
)

// Text is the code's description from table 0357.
func (c ErrorCode) Text() string {
	switch c {
	case CodeSegmentSequence:
		return "Segment sequence error"
	case CodeRequiredFieldMissing:
		return "Required field missing"
	case CodeDataType:
		return "Data type error"
	case CodeTableValueNotFound:
		return "Table value not found"
	case CodeUnsupportedMessageType:
		return "Unsupported message type"
	case CodeUnsupportedEvent:
		return "Unsupported event code"
	case CodeUnsupportedProcessing:
		return "Unsupported processing id"
	case CodeUnsupportedVersion:
		return "Unsupported version id"
	case CodeUnknownKey:
		return "Unknown key identifier"
	case CodeDuplicateKey:
		return "Duplicate key identifier"
	case CodeRecordLocked:
		return "Application record locked"
	default:
		return "Application internal error"
	}
}

// codedError is an apperr error with the table 0357 code an ACK should
// carry for it. Its text is the apperr error's alone.
type codedError struct {
	code ErrorCode
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// CodeOf is the HL7 error code an error carries; CodeInternal when it
// carries none (an error from outside this package, say).
func CodeOf(err error) ErrorCode {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return CodeInternal
}

// WithCode attaches an HL7 error code to err (keeping its apperr kind), for
// callers that refuse a message for their own reasons, such as a store that
// does not know an A40's prior identifier (CodeUnknownKey).
func WithCode(err error, code ErrorCode) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// invalid makes an Invalid error with an HL7 code. The format and its
// arguments must never carry field contents.
func invalid(code ErrorCode, format string, args ...any) error {
	return &codedError{code: code, err: apperr.E(apperr.Invalid, fmt.Sprintf(format, args...))}
}

// token returns s when it is a short code made of letters, digits and '_'
// (a segment name, a trigger event, a message type), which is safe to put
// in an error; otherwise a placeholder. It keeps sender content that might
// be person data out of errors.
func token(s string) string {
	if s == "" {
		return "(empty)"
	}
	if len(s) > 8 {
		return "(unrecognised)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "(unrecognised)"
		}
	}
	return s
}
