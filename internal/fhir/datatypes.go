package fhir

import (
	"math"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// The datatypes below model only the elements Wholecare uses. Optional
// elements are omitted when empty (FHIR forbids empty strings, arrays and
// objects); struct-valued ones use omitzero so that no pointer has to be
// allocated per resource on the export path.

// Coding is a code in a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept as one or more codings and/or text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	Extension []Extension `json:"extension,omitempty"`
	Use       string      `json:"use,omitempty"`
	System    string      `json:"system,omitempty"`
	Value     string      `json:"value,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// Address is a postal address; Wholecare holds only the postcode.
type Address struct {
	Use        string `json:"use,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
}

// Reference points at another resource, as "Type/id".
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// Period is a time range; an empty End means ongoing.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a measured amount, in UCUM when System is SystemUCUM.
type Quantity struct {
	Value  Decimal `json:"value,omitzero"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

// Meta is resource metadata.
type Meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Source      string   `json:"source,omitempty"`
	Profile     []string `json:"profile,omitempty"`
}

// Extension is an extension with one of the value types Wholecare uses.
// Exactly one value should be set.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueCoding          *Coding          `json:"valueCoding,omitempty"`
	ValueInteger         *int             `json:"valueInteger,omitempty"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
}

// Decimal is a FHIR decimal held as its literal text, so that precision
// survives: "7.10" is written as 7.10, never re-rendered through a float.
// The zero Decimal is absent and is omitted by omitzero.
type Decimal struct{ lit string }

// ParseDecimal accepts the FHIR decimal grammar (a JSON number).
func ParseDecimal(s string) (Decimal, error) {
	if !decimalLiteral(s) {
		return Decimal{}, apperr.Ef(apperr.Invalid, "fhir: %q is not a decimal", s)
	}
	return Decimal{lit: s}, nil
}

// DecimalFromFloat renders v with the fewest decimal places (at most 9) that
// give back v to within float noise, so 7.1000000000000005 becomes 7.1 and
// 72.35 stays 72.35. A stored float no longer knows its source precision, so
// the value itself is the only honest guide. ok is false for NaN and ±Inf,
// which FHIR cannot represent.
func DecimalFromFloat(v float64) (d Decimal, ok bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Decimal{}, false
	}
	tol := 1e-9 * math.Max(1, math.Abs(v))
	for places := 0; places <= 9; places++ {
		s := strconv.FormatFloat(v, 'f', places, 64)
		if back, _ := strconv.ParseFloat(s, 64); math.Abs(back-v) <= tol {
			return Decimal{lit: normaliseZero(s)}, true
		}
	}
	return Decimal{lit: normaliseZero(strconv.FormatFloat(v, 'f', -1, 64))}, true
}

// normaliseZero turns "-0" and "-0.00" into their unsigned forms: a value
// that rounds to zero has no sign worth reporting.
func normaliseZero(s string) string {
	if len(s) > 1 && s[0] == '-' {
		for i := 1; i < len(s); i++ {
			if s[i] != '0' && s[i] != '.' {
				return s
			}
		}
		return s[1:]
	}
	return s
}

func (d Decimal) String() string { return d.lit }

// IsZero reports whether d is absent (not whether it equals 0).
func (d Decimal) IsZero() bool { return d.lit == "" }

// Float64 is d as a float, for arithmetic; it may lose precision.
func (d Decimal) Float64() (float64, error) { return strconv.ParseFloat(d.lit, 64) }

// MarshalJSON writes the literal as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d.lit == "" {
		return nil, apperr.E(apperr.Internal, "fhir: absent decimal marshalled (missing omitzero)")
	}
	return []byte(d.lit), nil
}

// UnmarshalJSON keeps the number's literal text. FHIR requires decimals to
// be JSON numbers, so a quoted string is refused.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if !decimalLiteral(s) {
		return apperr.Ef(apperr.Invalid, "fhir: decimal must be a JSON number, got %.20s", s)
	}
	d.lit = s
	return nil
}

// decimalLiteral matches -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// the FHIR (and JSON) number grammar.
func decimalLiteral(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// Dates. Wholecare keeps times in UTC; FHIR dateTime and instant values are
// written in UTC with "Z".

// Date renders t as a FHIR date, "" when zero.
func Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// DateTime renders t as a FHIR dateTime, "" when zero. A UTC midnight is
// written as a bare date: the record keeps day-precision facts (onsets,
// birth dates, immunisation days) as UTC midnights, and "2021-03-04" says
// what is known where "2021-03-04T00:00:00Z" would invent a time.
func DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// Instant renders t as a FHIR instant, "" when zero.
func Instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
