// Package apperr gives every error in Wholecare a kind, so that the edge
// (HTTP, FHIR, HL7 v2, the CLI) can decide how to report it without domain
// code knowing about status codes. It must never import anything but the
// standard library.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the edge that reports it.
type Kind uint8

const (
	Internal        Kind = iota // a bug or an unexpected failure; logged, never shown in detail
	Invalid                     // the caller sent something wrong; the message says what
	NotFound                    // the thing asked for does not exist (or is hidden)
	Conflict                    // the request clashes with the current state
	Forbidden                   // the caller may not do this
	Unavailable                 // a dependency is down or busy; retrying may help
	Unauthenticated             // the caller has not said who they are, or the proof failed
	TooMany                     // the caller is sending too much; they may retry later
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Forbidden:
		return "forbidden"
	case Unavailable:
		return "unavailable"
	case Unauthenticated:
		return "unauthenticated"
	case TooMany:
		return "too many requests"
	default:
		return "internal"
	}
}

// Error is an error with a kind and a message that is safe to show to the
// caller (for every kind but Internal).
type Error struct {
	Kind Kind
	Msg  string
	Err  error // the underlying cause, if any; never shown to a client
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Kind.String()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// E makes an error of kind k with a message.
func E(k Kind, msg string) error { return &Error{Kind: k, Msg: msg} }

// Ef makes an error of kind k with a formatted message. A %w verb wraps its
// operand as the cause.
func Ef(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// Wrap attaches kind k and a message to err. Wrap of nil is nil.
func Wrap(k Kind, err error, msg string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Msg: msg, Err: err}
}

// KindOf reports the kind of the first *Error in err's chain, Internal when
// there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Message is what may be shown to a client: the message of the outermost
// *Error for every kind but Internal, a generic text otherwise.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Error()
	}
	return "internal error"
}
