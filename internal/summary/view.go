package summary

import (
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
)

// The summary is a read model made to be shown, so its types carry their
// JSON names: the API serves them as they are, and the page will render
// the same values. Dates are YYYY-MM-DD, instants RFC 3339 in UTC, and an
// unknown date is left out.

// Summary is one person as every source knows them.
type Summary struct {
	// PersonIDs are the registry records gathered: one, or every record
	// linked as the same person.
	PersonIDs    []int64       `json:"person_ids"`
	AsOf         time.Time     `json:"as_of"`
	Demographics Demographics  `json:"demographics"`
	Identities   []Identity    `json:"identities"`
	Practice     *Practice     `json:"registered_practice,omitempty"`
	CareTeams    []Team        `json:"care_teams"`
	Conditions   []Condition   `json:"active_conditions"`
	Encounters   []Encounter   `json:"recent_encounters"`
	Medications  []Medication  `json:"current_medications"`
	Observations []Observation `json:"key_observations"`
	Flags        []Flag        `json:"flags"`
}

// Provenance says which source supplied a value and when it arrived.
type Provenance struct {
	Source     string `json:"source"`
	ReceivedAt string `json:"received_at,omitempty"`
}

// Demographics are the person's details as last received.
type Demographics struct {
	PersonID        int64      `json:"person_id"`
	NHSNumber       string     `json:"nhs_number,omitempty"`
	NHSNumberStatus string     `json:"nhs_number_status"`
	GivenName       string     `json:"given_name"`
	FamilyName      string     `json:"family_name"`
	BirthDate       string     `json:"birth_date,omitempty"`
	Sex             string     `json:"sex"`
	Postcode        string     `json:"postcode,omitempty"`
	Ethnicity       string     `json:"ethnicity,omitempty"`
	DateOfDeath     string     `json:"date_of_death,omitempty"`
	Provenance      Provenance `json:"provenance"`
}

// Identity is one source's identifier for the person, and how Wholecare
// came to link it: "source" (the record it created), "nhs-number",
// "probabilistic" or "manual".
type Identity struct {
	PersonID   int64  `json:"person_id"`
	Source     string `json:"source"`
	LocalID    string `json:"local_id"`
	LinkedBy   string `json:"linked_by"`
	ReceivedAt string `json:"received_at,omitempty"`
}

// Practice is the registered GP practice; Name is empty when the directory
// does not know the ODS code.
type Practice struct {
	ODSCode string `json:"ods_code"`
	Name    string `json:"name,omitempty"`
}

// Team is a care team the person is under now.
type Team struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	OrgID   string   `json:"org_id"`
	OrgName string   `json:"org_name,omitempty"`
	Role    string   `json:"role"` // what the team is for this person
	Since   string   `json:"since,omitempty"`
	Source  string   `json:"source"`
	Members []Member `json:"members"`
}

// Member is a professional in a team now.
type Member struct {
	ProfessionalID int64  `json:"professional_id"`
	Name           string `json:"name"`
	Profession     string `json:"profession"`
	Role           string `json:"role"`
	Since          string `json:"since,omitempty"`
}

// Coding is a code as a source sent it.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Condition is one active condition across every source: Concept is ""
// for a code no concept lists, which then stands alone.
type Condition struct {
	Concept      string   `json:"concept,omitempty"`
	Name         string   `json:"name"`
	Codes        []Coding `json:"codes"`
	Sources      []string `json:"sources"`
	Onset        string   `json:"onset,omitempty"` // the earliest any source gives
	LastRecorded string   `json:"last_recorded"`   // when a source last sent it
}

// Medication is one current medicine across every source.
type Medication struct {
	Concept      string   `json:"concept,omitempty"`
	Name         string   `json:"name"`
	Codes        []Coding `json:"codes"`
	Sources      []string `json:"sources"`
	Start        string   `json:"start,omitempty"`
	LastRecorded string   `json:"last_recorded"`
}

// Encounter is a recent contact or stay.
type Encounter struct {
	Class        string  `json:"class"`
	Start        string  `json:"start"`
	End          string  `json:"end,omitempty"`
	ProviderID   string  `json:"provider_id,omitempty"`
	ProviderName string  `json:"provider_name,omitempty"`
	Diagnosis    *Coding `json:"diagnosis,omitempty"`
	Discharge    string  `json:"discharge,omitempty"`
	Source       string  `json:"source"`
}

// Observation is the latest reading of a key observation.
type Observation struct {
	Concept   string   `json:"concept"`
	Name      string   `json:"name"`
	Value     *float64 `json:"value,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	ValueCode *Coding  `json:"value_code,omitempty"`
	Effective string   `json:"effective"`
	Code      Coding   `json:"code"`
	Source    string   `json:"source"`
}

// FlagKind names what a flag warns of.
type FlagKind string

const (
	FlagDeceased         FlagKind = "deceased"
	FlagNHSInvalid       FlagKind = "nhs-number-invalid"
	FlagNHSUnverified    FlagKind = "nhs-number-unverified"
	FlagNHSAbsent        FlagKind = "nhs-number-absent"
	FlagConsentPermit    FlagKind = "consent-permit"
	FlagConsentDeny      FlagKind = "consent-deny"
	FlagConsentWithdrawn FlagKind = "consent-withdrawn"
)

// Flag is something a reader must know before reading on.
type Flag struct {
	Kind     FlagKind `json:"kind"`
	PersonID int64    `json:"person_id"`
	Date     string   `json:"date,omitempty"`
	Text     string   `json:"text"`
}

func codingOf(c record.Coding) Coding {
	sys := c.System
	if uri := codes.SystemURI(c.System); uri != "" {
		sys = uri
	}
	return Coding{System: sys, Code: c.Code, Display: c.Display}
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
