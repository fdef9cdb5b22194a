// Package record holds the clinical and care record of a person: conditions,
// observations, encounters, medications, immunisations, procedures, activity
// costs and social care packages. Every row belongs to one person (PersonID
// is part of its key), and carries the source that sent it and when it was
// received. Codes are kept as sent; concepts are derived from them by the
// codes package, never stored here. The package must never import database,
// HTTP or UI packages, and never logs clinical content.
package record

import (
	"time"

	"github.com/wholecare/wholecare/internal/registry"
)

// Code systems, by the short token the store keeps. codes.SystemURI maps
// them to and from FHIR system URIs.
const (
	SNOMED = "sct"
	ICD10  = "icd10"
	OPCS4  = "opcs4"
	DMD    = "dmd"
	LOINC  = "loinc"
	RxNorm = "rxnorm"
	CVX    = "cvx"
	Local  = "local"
)

// Coding is one code in one system.
type Coding struct {
	System  string // a short token: SNOMED, ICD10, ...
	Code    string
	Display string
}

// Provenance says where a row came from. Every clinical row has one.
type Provenance struct {
	Source     string    // the sending system, e.g. "synth", "fhir:gp-emis", "hl7v2:RXR"
	SourceRef  string    // the row's identifier in that system, "" when it has none
	ReceivedAt time.Time // when Wholecare received it
}

// ConditionStatus is the clinical status of a condition.
type ConditionStatus string

const (
	ConditionActive   ConditionStatus = "active"
	ConditionResolved ConditionStatus = "resolved"
	ConditionInactive ConditionStatus = "inactive"
)

// Condition is a diagnosis or problem.
type Condition struct {
	PersonID  int64
	ID        int64 // unique within the person
	Code      Coding
	Onset     time.Time
	Abatement time.Time // zero while unresolved
	Status    ConditionStatus
	Provenance
}

// Observation is a measurement or finding: a blood pressure reading, an
// HbA1c, a smoking status. Numeric results have Value; coded results have
// ValueCode. Blood pressure is two observations (systolic, diastolic).
type Observation struct {
	PersonID    int64
	ID          int64
	Code        Coding
	Value       *float64
	Unit        string // UCUM
	ValueCode   Coding // for coded results; zero otherwise
	Effective   time.Time
	EncounterID int64 // 0 when not tied to an encounter
	Provenance
}

// EncounterClass is the setting of an encounter.
type EncounterClass string

const (
	PrimaryCare        EncounterClass = "primary_care"
	AE                 EncounterClass = "ae"
	EmergencyAdmission EncounterClass = "emergency_admission"
	ElectiveAdmission  EncounterClass = "elective_admission"
	Outpatient         EncounterClass = "outpatient"
	Community          EncounterClass = "community"
	MentalHealth       EncounterClass = "mental_health"
	SocialCareContact  EncounterClass = "social_care"
)

// EncounterClasses lists every class, in a stable order.
var EncounterClasses = []EncounterClass{PrimaryCare, AE, EmergencyAdmission, ElectiveAdmission, Outpatient, Community, MentalHealth, SocialCareContact}

// Valid reports whether c is a known class.
func (c EncounterClass) Valid() bool {
	for _, k := range EncounterClasses {
		if c == k {
			return true
		}
	}
	return false
}

// Admission reports whether c is an inpatient stay.
func (c EncounterClass) Admission() bool { return c == EmergencyAdmission || c == ElectiveAdmission }

// Encounter is a contact or a stay. For admissions, End is the discharge
// time and Discharge says where the person went.
type Encounter struct {
	PersonID  int64
	ID        int64
	Class     EncounterClass
	Start     time.Time
	End       time.Time // zero while ongoing
	OrgID     string    // ODS code of the provider
	Diagnosis Coding    // primary diagnosis or reason, when known
	Discharge string    // discharge destination for admissions: "home", "care_home", "died", "transfer", "other"
	Provenance
}

// MedicationStatus is the status of a medication course.
type MedicationStatus string

const (
	MedicationActive    MedicationStatus = "active"
	MedicationCompleted MedicationStatus = "completed"
	MedicationStopped   MedicationStatus = "stopped"
)

// Medication is a prescribed course (a repeat or an acute issue).
type Medication struct {
	PersonID int64
	ID       int64
	Code     Coding
	Start    time.Time
	End      time.Time // zero while current
	Status   MedicationStatus
	Provenance
}

// Immunisation is a vaccine given (or recorded as declined).
type Immunisation struct {
	PersonID int64
	ID       int64
	Code     Coding
	Date     time.Time
	NotGiven bool // declined or contraindicated; Code is still the vaccine
	Provenance
}

// Procedure is something done to or for the person.
type Procedure struct {
	PersonID    int64
	ID          int64
	Code        Coding
	Date        time.Time
	EncounterID int64
	Provenance
}

// ActivityCost is the cost of one unit of activity, in pence, at reference
// cost-like unit prices.
type ActivityCost struct {
	PersonID    int64
	ID          int64
	EncounterID int64 // 0 for costs not tied to an encounter (e.g. prescribing)
	Date        time.Time
	Setting     string // an EncounterClass, or "prescribing", "social_care_package"
	ProviderID  string
	Pence       int64
	Provenance
}

// SocialCarePackage is a commissioned package of social care.
type SocialCarePackage struct {
	PersonID     int64
	ID           int64
	ProviderID   string
	Kind         string // "home_care", "reablement", "residential", "nursing", "day_care", "direct_payment"
	HoursPerWeek float64
	WeeklyPence  int64
	Start        time.Time
	End          time.Time // zero while current
	Provenance
}

// Batch is a set of whole people with all their rows, written to the store
// in one transaction by the bulk path. A batch never holds part of a person.
type Batch struct {
	People        []registry.Person
	Identities    []registry.SourceIdentity
	TeamLinks     []registry.CareTeamLink
	Conditions    []Condition
	Observations  []Observation
	Encounters    []Encounter
	Medications   []Medication
	Immunisations []Immunisation
	Procedures    []Procedure
	Costs         []ActivityCost
	Packages      []SocialCarePackage
}

// Rows counts every row in the batch.
func (b *Batch) Rows() int {
	return len(b.People) + len(b.Identities) + len(b.TeamLinks) + len(b.Conditions) + len(b.Observations) +
		len(b.Encounters) + len(b.Medications) + len(b.Immunisations) + len(b.Procedures) + len(b.Costs) + len(b.Packages)
}

// Reset empties the batch, keeping its capacity.
func (b *Batch) Reset() {
	b.People = b.People[:0]
	b.Identities = b.Identities[:0]
	b.TeamLinks = b.TeamLinks[:0]
	b.Conditions = b.Conditions[:0]
	b.Observations = b.Observations[:0]
	b.Encounters = b.Encounters[:0]
	b.Medications = b.Medications[:0]
	b.Immunisations = b.Immunisations[:0]
	b.Procedures = b.Procedures[:0]
	b.Costs = b.Costs[:0]
	b.Packages = b.Packages[:0]
}
