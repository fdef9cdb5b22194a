// Package query holds the search criteria the FHIR REST API (fhir/rest)
// asks its store for, already translated from FHIR search parameters into
// the store's terms: code-system tokens rather than URIs, record encounter
// classes rather than ActCodes, person ids rather than references. It is a
// package of its own so that the store (sqlstore) can implement the REST
// API's Store interface without importing an HTTP package. It holds value
// types only, and must never import anything but the standard library and
// the domain packages.
package query

import "time"

// Field names what a Filter tests.
type Field uint8

const (
	// People.
	Identifier Field = iota + 1 // System: IdentifierNHS, IdentifierInvalidNHS, a source token, or AnySystem; Value: the id
	Name                        // Value: a case-insensitive prefix of the given or the family name
	Family                      // Value: a case-insensitive prefix of the family name
	Given                       // Value: a case-insensitive prefix of the given name
	BirthDate                   // Date
	Gender                      // Value: female, male, other or unknown

	// Rows of the record.
	Code     // System: a code-system token ("" for codes without one) or AnySystem; Value: the code, "" for any code of System
	Date     // Date, against the row's main date (see Rows)
	Status   // Value: a FHIR status code as the export writes it (see Rows)
	Class    // Value: a record encounter class ("primary_care", "ae", …)
	Category // unused by stores: the REST API expands it into Code filters
)

// Identifier systems for people, besides source tokens.
const (
	IdentifierNHS        = "\x00nhs"         // the NHS number (verified or not, never an invalid one)
	IdentifierInvalidNHS = "\x00invalid-nhs" // a number kept although it fails the check digit
)

// Filter is one test. For Identifier and Code, AnySystem ignores System.
type Filter struct {
	Field     Field
	System    string
	AnySystem bool
	Value     string
	Date      DateRange
}

// Clause is satisfied when any of its filters is (a FHIR parameter with
// comma-separated values); a query's clauses must all be (repeated
// parameters, and different ones).
type Clause []Filter

// Prefix is a FHIR date search prefix.
type Prefix uint8

const (
	Eq Prefix = iota
	Ge
	Gt
	Le
	Lt
)

// DateRange is a date search value: the prefix and the range the value
// stands for, [From, To) (2021 stands for the whole year). The value
// matches a row's date as FHIR says for the prefix:
//
//	eq  From ≤ date < To          ge  date ≥ From     gt  date ≥ To
//	le  date < To                 lt  date < From
//
// A period (an encounter's start and end) matches eq when it lies within
// [From, To), and the others when it overlaps the half-line they name; an
// encounter with no end is ongoing. Rows without the date never match.
type DateRange struct {
	Prefix   Prefix
	From, To time.Time
}

// People asks for people, in person id order.
type People struct {
	Where  []Clause
	Offset int
	Limit  int // 0: no limit
}

// Rows asks for rows of one kind of the record, in (person, id) order.
//
// Type is the FHIR resource type the rows export as (Condition,
// Observation, Encounter, MedicationRequest, Immunization, Procedure).
// Date is a Condition's onset, an Observation's effective time, an
// Encounter's period, a MedicationRequest's authoredOn (the course start),
// an Immunization's occurrence and a Procedure's performed date. Status is
// a Condition's clinical status (active, inactive, resolved; one with an
// abatement date is resolved whatever its stored status), an Encounter's
// status (in-progress while it has no end, else finished), a
// MedicationRequest's (active, completed, stopped, unknown) and an
// Immunization's (completed, not-done).
type Rows struct {
	Type   string
	People []int64 // nil: everyone; empty: no one
	Where  []Clause
	Offset int
	Limit  int // 0: no limit
}

// Scores asks for stored risk scores (RiskAssessment), ordered by person,
// then newest as-of day first, then model version. Where holds Date
// clauses only, tested against the as-of day.
type Scores struct {
	People []int64 // nil: everyone; empty: no one
	Where  []Clause
	Offset int
	Limit  int // 0: no limit
}
