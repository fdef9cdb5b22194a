// Package audit is Wholecare's tamper-evident audit log: one append-only,
// hash-chained entry for every read of person-identifiable data and every
// change, so that a person can see who looked at their record and why, and a
// privacy officer can prove the log is whole.
//
// # The chain
//
// Every entry carries the hash of the entry before it (Prev) and its own hash
// (Hash), computed over Prev and every other field (see Event.ComputeHash for
// the exact, length-prefixed encoding). The first entry's Prev is
// GenesisHash. A one-row head (the last seq and its hash) is stored beside the
// entries and moved in the same transaction as every append. Verify walks the
// entries in seq order, recomputes every hash and compares the end with the
// head, so it finds:
//
//   - an edited entry: its content no longer gives its hash;
//   - a removed entry: a gap in the seqs;
//   - reordered or replaced entries: an entry that does not link to the one
//     before it;
//   - a truncated log: entries missing at the end, compared with the head;
//   - entries added outside the log: entries beyond the head.
//
// # What it does not protect against
//
// The hash is a public function of the entries, not a secret: someone with
// write access to the database who rewrites every entry from some point on,
// recomputes the chain and moves the head leaves a log that verifies. The
// chain makes tampering evident only to whoever holds an earlier head. So
// `wholecare audit verify` prints the head (seq and hash) for the operator
// to record somewhere the database's writers cannot reach (a ticket, a
// printed report, another organisation), and `--expect-head SEQ:HASH` checks
// that the log still contains that entry unchanged, i.e. that today's chain
// extends the recorded one. The store also refuses UPDATE and DELETE on the
// entries with triggers, which stops accidents and bugs but not a database
// owner, who can drop them.
//
// # Rules
//
// Entries never hold person data beyond the person's id: Detail is a route
// pattern or a count, never a value; Reason is the typed break-glass reason,
// shown only to the person and to privacy officers. The package must never
// log an entry's Reason or Detail, and must never import database or HTTP
// packages: the store implements AppendStore and Source.
package audit

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Outcomes of an audited action.
const (
	OutcomeAllowed = "allowed"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

// Actions Wholecare records. The set is open: any short lower-case token is
// accepted, so a new surface does not need a change here.
const (
	ActionRead       = "read"
	ActionSearch     = "search"
	ActionCreate     = "create"
	ActionUpdate     = "update"
	ActionDelete     = "delete"
	ActionExport     = "export"
	ActionSignIn     = "sign-in"
	ActionSignOut    = "sign-out"
	ActionBreakGlass = "break-glass"
	ActionConsent    = "consent"
	ActionDenied     = "denied"
)

// Purposes of use (open set, as for actions).
const (
	PurposeDirectCare     = "direct-care"
	PurposeBreakGlass     = "break-glass"
	PurposeAdministration = "administration"
	PurposeSelf           = "self" // a person looking at their own record, or their carer
	PurposeAnalytics      = "analytics"
)

// Bases: why the access was allowed (open set, as for actions).
const (
	BasisCareTeam    = "care-team"
	BasisPractice    = "practice"
	BasisSelf        = "self"
	BasisCarer       = "carer"
	BasisSystemScope = "system-scope"
	BasisBreakGlass  = "break-glass"
	BasisNone        = "none" // denied, or nothing about a person was reached
)

// Length limits, in bytes. They keep one entry small and the canonical
// encoding's lengths far from overflow.
const (
	maxName   = 128
	maxToken  = 64
	maxReason = 1000
	maxDetail = 500
)

// Event is one audit log entry. Seq, Prev and Hash are assigned when the
// entry is appended (see Chain); At is kept to the microsecond in UTC, the
// precision both stores hold.
type Event struct {
	Seq          int64
	At           time.Time
	UserID       int64 // 0 when nobody was signed in (a failed sign-in)
	UserName     string
	Role         string
	OrgID        string
	PersonID     int64  // 0 = not about one person, e.g. a sign-in or a bulk export
	Action       string // read, search, create, update, delete, export, sign-in, …
	ResourceType string // what was touched: a FHIR type or a Wholecare noun
	Purpose      string // direct-care, break-glass, administration, …
	Basis        string // why it was allowed: care-team, practice, self, carer, system-scope, break-glass, none
	Outcome      string // allowed, denied or failed
	Reason       string // the typed break-glass reason; may be empty
	Detail       string // a route pattern or a count, never person data
	Prev, Hash   string // lower-case hex SHA-256
}

// LogValue logs an entry by seq, action, outcome and ids only: Reason and
// Detail never reach a log.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("seq", e.Seq), slog.String("action", e.Action), slog.String("outcome", e.Outcome),
		slog.Int64("user", e.UserID), slog.Int64("person", e.PersonID))
}

// Valid checks an entry before it is chained: required fields, known
// outcomes, bounded lengths, text a store can hold. Prev and Hash may be
// empty (not yet chained) or must look like hashes.
func (e Event) Valid() error {
	switch {
	case e.Seq < 0:
		return invalid("seq", "is negative")
	case e.At.IsZero():
		return invalid("at", "is missing")
	case e.At.UTC().Year() < 1970 || e.At.UTC().Year() > 9999:
		return invalid("at", "is outside the years 1970 to 9999")
	case e.UserID < 0:
		return invalid("user id", "is negative")
	case e.UserID == 0 && e.UserName == "":
		return invalid("user", "is missing: give a user id or a user name")
	case e.PersonID < 0:
		return invalid("person id", "is negative")
	}
	switch e.Outcome {
	case OutcomeAllowed, OutcomeDenied, OutcomeFailed:
	case "":
		return invalid("outcome", "is missing")
	default:
		return invalid("outcome", "must be allowed, denied or failed")
	}
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"action", e.Action, true},
		{"purpose", e.Purpose, e.PersonID != 0}, // why someone's record was touched
		{"basis", e.Basis, true},
	} {
		if f.v == "" && f.required {
			return invalid(f.name, "is missing")
		}
		if !token(f.v, false) {
			return invalid(f.name, fmt.Sprintf("must be at most %d lower-case letters, digits and hyphens", maxToken))
		}
	}
	if !token(e.ResourceType, true) {
		return invalid("resource type", fmt.Sprintf("must be at most %d letters, digits, hyphens, dots and underscores", maxToken))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"user name", e.UserName, maxName},
		{"role", e.Role, maxToken},
		{"org id", e.OrgID, maxToken},
		{"reason", e.Reason, maxReason},
		{"detail", e.Detail, maxDetail},
	} {
		if len(f.v) > f.max {
			return invalid(f.name, fmt.Sprintf("is longer than %d bytes", f.max))
		}
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return invalid(f.name, "is not valid text")
		}
	}
	if (e.Action == ActionBreakGlass || e.Purpose == PurposeBreakGlass || e.Basis == BasisBreakGlass) && strings.TrimSpace(e.Reason) == "" {
		return invalid("reason", "is required for break-glass")
	}
	if e.Prev != "" && !isHash(e.Prev) {
		return invalid("prev", "is not a hex SHA-256")
	}
	if e.Hash != "" && !isHash(e.Hash) {
		return invalid("hash", "is not a hex SHA-256")
	}
	return nil
}

// invalid names the field, never its value: the value may be person data.
func invalid(field, problem string) error {
	return apperr.Ef(apperr.Invalid, "audit: %s %s", field, problem)
}

// token reports whether s is a short identifier-like word. Wide also allows
// upper case, dots and underscores (FHIR resource type names).
func token(s string, wide bool) bool {
	if len(s) > maxToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		case wide && (c >= 'A' && c <= 'Z' || c == '.' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// isHash reports whether s is 64 lower-case hex digits.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Filter selects entries for a person's access log or a privacy officer's
// search. Zero fields do not filter.
type Filter struct {
	PersonID  int64
	UserID    int64
	Action    string
	From, To  time.Time // From inclusive, To exclusive
	AfterSeq  int64     // only entries after this seq: what is new since the last look
	BeforeSeq int64     // only entries before this seq: the next page, newest first
	Limit     int       // default DefaultLimit, at most MaxLimit
}

const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Normalised checks f and fills in the default limit.
func (f Filter) Normalised() (Filter, error) {
	switch {
	case f.PersonID < 0, f.UserID < 0, f.AfterSeq < 0, f.BeforeSeq < 0:
		return f, apperr.E(apperr.Invalid, "audit: ids and seqs in a filter may not be negative")
	case f.Limit < 0 || f.Limit > MaxLimit:
		return f, apperr.Ef(apperr.Invalid, "audit: limit must be from 1 to %d", MaxLimit)
	case !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To):
		return f, apperr.E(apperr.Invalid, "audit: the time range ends before it starts")
	case f.Action != "" && !token(f.Action, false):
		return f, apperr.E(apperr.Invalid, "audit: action must be lower-case letters, digits and hyphens")
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	return f, nil
}
