// Package linkage finds the records that belong to the same person when no
// shared identifier says so: probabilistic record linkage in the
// Fellegi–Sunter model. Records are compared field by field into levels of
// agreement (exact, a nickname, Jaro–Winkler ≥ 0.92, the same NYSIIS code,
// day and month transposed, the same postcode sector, …); how much each
// level says about a match (the m and u probabilities) is estimated by EM
// from the data itself, with no labelled pairs; blocking rules keep the
// work proportional to the candidate pairs, not to n².
//
// Dedupe finds the duplicates within one list and LinkLists the same
// people in two; both stream scored pairs with an outcome (link, review,
// no link), and a Linker explains each pair field by field for a
// reviewer. Two kinds of pair are never linked on probability alone: valid
// NHS numbers that differ, and possible twins. Cluster turns the links of
// a deduplication into entities without chaining strangers together.
//
// The package holds person data in memory and must never log it, never
// put it in an error message, and never import database/sql or net/http.
// It keeps no global state.
package linkage

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/registry"
)

// Record is one person record as a source holds it. Every field but ID may
// be empty; a missing value is no evidence either way.
type Record struct {
	ID         string // the source's record id: used only to report pairs
	GivenName  string
	FamilyName string
	BirthDate  Date
	Sex        registry.Sex // "" or Unknown when not known
	Postcode   string       // as written; UK postcodes also compare by sector and district
	Address    string       // every address line, in any layout
	NHSNumber  string       // used only when it passes the check digit
	// NHSVerified says the NHS number was traced against the spine. Two
	// verified numbers that agree are one person whatever else differs;
	// an unverified one agreeing is strong evidence, weighed like any
	// other. (A batch Linker links on any valid number that agrees.)
	NHSVerified bool
	// LocalID is another identifier the sources share but do not guarantee
	// (a hospital number, a social care id, a benefits number). It is
	// compared like any other field, never trusted on its own.
	LocalID string
}

// LogValue logs a record by its source id only.
func (r Record) LogValue() slog.Value { return slog.StringValue(r.ID) }

// Date is a date of birth as written, digit by digit. It need not be on
// the calendar: a typed 1955-11-92 is still worth comparing with
// 1955-11-29. The zero Date is unknown.
type Date struct{ Year, Month, Day int }

// IsZero reports whether the date is unknown.
func (d Date) IsZero() bool { return d == Date{} }

// Real reports whether the date is on the calendar.
func (d Date) Real() bool {
	if d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[d.Month]
	if d.Month == 2 && d.Year%4 == 0 && (d.Year%100 != 0 || d.Year%400 == 0) {
		days = 29
	}
	return d.Day <= days
}

// String writes the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// digits is the date as the eight digits YYYYMMDD.
func (d Date) digits() string { return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day) }

// ParseDate reads a date of birth written as YYYYMMDD, YYYY-MM-DD (a time
// after it is ignored), YYYY/MM/DD, DD/MM/YYYY or DD-MM-YYYY. A date that is
// digit-shaped but not on the calendar is returned (see Real); one that is
// not a date at all, or whose year is before 1800 or after 2199, is an
// Invalid error. The empty string is the zero Date.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	if i := strings.IndexByte(s, 'T'); i == 10 {
		s = s[:i]
	}
	var y, m, d string
	switch {
	case len(s) == 8 && allDigits(s):
		y, m, d = s[:4], s[4:6], s[6:]
	case len(s) == 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4]:
		y, m, d = s[:4], s[5:7], s[8:]
	case len(s) == 10 && (s[2] == '/' || s[2] == '-') && s[5] == s[2]:
		d, m, y = s[:2], s[3:5], s[6:]
	default:
		return Date{}, apperr.E(apperr.Invalid, "not a date: use YYYYMMDD, YYYY-MM-DD or DD/MM/YYYY")
	}
	if !allDigits(y) || !allDigits(m) || !allDigits(d) {
		return Date{}, apperr.E(apperr.Invalid, "not a date: use YYYYMMDD, YYYY-MM-DD or DD/MM/YYYY")
	}
	yy, _ := strconv.Atoi(y)
	mm, _ := strconv.Atoi(m)
	dd, _ := strconv.Atoi(d)
	if yy < 1800 || yy > 2199 {
		return Date{}, apperr.E(apperr.Invalid, "year out of range 1800–2199")
	}
	return Date{yy, mm, dd}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Outcome is what a scored pair calls for.
type Outcome uint8

const (
	NoLink Outcome = iota // not the same person, as far as the evidence goes
	Review                // a person should look: the evidence is mixed
	Link                  // the same person
)

func (o Outcome) String() string {
	switch o {
	case Link:
		return "link"
	case Review:
		return "review"
	}
	return "no-link"
}

// Pair is one scored candidate pair.
type Pair struct {
	// A and B index the records: both into the one list of a
	// deduplication (A < B), or into the first and the second list of a
	// link.
	A, B int
	// Weight is the total match weight in bits: the sum over fields of
	// log2(m/u) for the level the pair reached, term-frequency adjusted.
	Weight float64
	// Probability is the posterior probability of a match among the
	// candidate pairs, from Weight and the fitted proportion of matches.
	Probability float64
	Outcome     Outcome
	// Caution, when set, says why a pair probable enough to link was put
	// up for review instead (CautionNHSNumbers, CautionTwins).
	Caution string
	levels  levels
}

// FieldEvidence is what one field says about a pair.
type FieldEvidence struct {
	Field  string  // e.g. "family_name"
	Level  string  // e.g. "exact", "jw>=0.92", "null" (a value missing: no evidence)
	Weight float64 // log2(m/u) in bits; 0 for null; term-frequency adjusted for exact agreement on a name or postcode
}
