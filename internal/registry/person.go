// Package registry holds the service user registry: one record per person,
// the identities each source system knows them by, the golden record chosen
// field by field from every source's demographics (golden.go), and the
// rules of logical merges (merge.go). It must never import
// database, HTTP or UI packages, and it never logs person data: Person logs
// its ID only.
package registry

import (
	"log/slog"
	"time"
)

// Sex is administrative gender as FHIR R4 codes it.
type Sex string

const (
	Female  Sex = "female"
	Male    Sex = "male"
	Other   Sex = "other"
	Unknown Sex = "unknown"
)

// Valid reports whether s is one of the four FHIR codes.
func (s Sex) Valid() bool {
	switch s {
	case Female, Male, Other, Unknown:
		return true
	}
	return false
}

// NHSNumberStatus says how far an NHS number can be trusted. Only a
// verified number links records deterministically.
type NHSNumberStatus string

const (
	NHSAbsent     NHSNumberStatus = "absent"     // no number known
	NHSUnverified NHSNumberStatus = "unverified" // well formed, not traced against the spine
	NHSVerified   NHSNumberStatus = "verified"   // traced and verified (PDS status 01)
	NHSInvalid    NHSNumberStatus = "invalid"    // fails the check digit; kept as data, never linked on
)

// Person is one service user as the registry holds them. Dates are UTC
// midnights; a zero time means unknown (or, for DateOfDeath, alive).
type Person struct {
	ID              int64
	NHSNumber       string // ten digits, no spaces; "" when absent
	NHSNumberStatus NHSNumberStatus
	GivenName       string
	FamilyName      string
	BirthDate       time.Time
	Sex             Sex
	Postcode        string // as written, e.g. "LS1 4AP"
	IMDDecile       int    // Index of Multiple Deprivation decile, 1 most deprived .. 10 least; 0 unknown
	Ethnicity       string // NHS ethnic category code (Data Dictionary): A–H, J–N, P, R, S, Z
	PracticeID      string // ODS code of the registered GP practice; "" when not registered
	DateOfDeath     time.Time
	Source          string // the source that supplied this version of the demographics
	ReceivedAt      time.Time
}

// LogValue logs a person by ID only: no demographics ever reach a log.
func (p Person) LogValue() slog.Value { return slog.Int64Value(p.ID) }

// Dead reports whether the person had died by t.
func (p Person) Dead(t time.Time) bool { return !p.DateOfDeath.IsZero() && !p.DateOfDeath.After(t) }

// AgeAt is the person's age in whole years on day t, -1 when the birth
// date is unknown.
func (p Person) AgeAt(t time.Time) int {
	b := p.BirthDate
	if b.IsZero() {
		return -1
	}
	y := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		y--
	}
	return y
}

// SourceIdentity records that a source system knows a person under a local
// identifier (a hospital number, a Synthea UUID, a social care id).
type SourceIdentity struct {
	PersonID   int64
	Source     string // the sending system, e.g. "synth", "hl7v2:RXR", "fhir:gp-emis"
	LocalID    string
	ReceivedAt time.Time
	Provenance string // how the link was made: "source" (asserted), "nhs-number", "probabilistic", "manual"
}

// LogValue logs only the person ID and source.
func (s SourceIdentity) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("person", s.PersonID), slog.String("source", s.Source))
}

// CareTeamLink places a person under a care team (their GP practice team, a
// community matron team, a social work team) for a period.
type CareTeamLink struct {
	PersonID   int64
	TeamID     int64
	Role       string // e.g. "care-coordinator-team", "gp-practice-team", "social-work"
	Start      time.Time
	End        time.Time // zero while current
	Source     string
	ReceivedAt time.Time
}
