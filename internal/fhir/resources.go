package fhir

// Resource type names, as they appear in resourceType, in references and in
// the NDJSON file names.
const (
	TypePatient           = "Patient"
	TypeOrganization      = "Organization"
	TypePractitioner      = "Practitioner"
	TypePractitionerRole  = "PractitionerRole"
	TypeCareTeam          = "CareTeam"
	TypeEncounter         = "Encounter"
	TypeCondition         = "Condition"
	TypeObservation       = "Observation"
	TypeMedicationRequest = "MedicationRequest"
	TypeImmunization      = "Immunization"
	TypeProcedure         = "Procedure"
)

// ExportTypes lists the resource types the NDJSON export writes, in the
// order a loader should read them (referenced resources first).
func ExportTypes() []string {
	return []string{
		TypeOrganization, TypePractitioner, TypePractitionerRole, TypePatient, TypeCareTeam,
		TypeEncounter, TypeCondition, TypeObservation, TypeMedicationRequest, TypeImmunization, TypeProcedure,
	}
}

// Patient is an R4 Patient.
type Patient struct {
	ResourceType        string       `json:"resourceType"`
	ID                  string       `json:"id,omitempty"`
	Meta                Meta         `json:"meta,omitzero"`
	Extension           []Extension  `json:"extension,omitempty"`
	Identifier          []Identifier `json:"identifier,omitempty"`
	Name                []HumanName  `json:"name,omitempty"`
	Gender              string       `json:"gender,omitempty"`
	BirthDate           string       `json:"birthDate,omitempty"`
	DeceasedDateTime    string       `json:"deceasedDateTime,omitempty"`
	Address             []Address    `json:"address,omitempty"`
	GeneralPractitioner []Reference  `json:"generalPractitioner,omitempty"`
}

// Organization is an R4 Organization.
type Organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         Meta              `json:"meta,omitzero"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name,omitempty"`
	Address      []Address         `json:"address,omitempty"`
	PartOf       Reference         `json:"partOf,omitzero"`
}

// Practitioner is an R4 Practitioner.
type Practitioner struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         Meta         `json:"meta,omitzero"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Name         []HumanName  `json:"name,omitempty"`
}

// PractitionerRole is an R4 PractitionerRole: a practitioner's profession
// at one organisation.
type PractitionerRole struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         Meta              `json:"meta,omitzero"`
	Practitioner Reference         `json:"practitioner,omitzero"`
	Organization Reference         `json:"organization,omitzero"`
	Code         []CodeableConcept `json:"code,omitempty"`
}

// CareTeam is an R4 CareTeam: either a directory team (no subject) or a
// person's placement under one (subject set, the team as participant).
type CareTeam struct {
	ResourceType         string                `json:"resourceType"`
	ID                   string                `json:"id,omitempty"`
	Meta                 Meta                  `json:"meta,omitzero"`
	Status               string                `json:"status,omitempty"`
	Category             []CodeableConcept     `json:"category,omitempty"`
	Name                 string                `json:"name,omitempty"`
	Subject              Reference             `json:"subject,omitzero"`
	Period               Period                `json:"period,omitzero"`
	Participant          []CareTeamParticipant `json:"participant,omitempty"`
	ManagingOrganization []Reference           `json:"managingOrganization,omitempty"`
}

// CareTeamParticipant is one member of a CareTeam.
type CareTeamParticipant struct {
	Role       []CodeableConcept `json:"role,omitempty"`
	Member     Reference         `json:"member,omitzero"`
	OnBehalfOf Reference         `json:"onBehalfOf,omitzero"`
	Period     Period            `json:"period,omitzero"`
}

// Encounter is an R4 Encounter.
type Encounter struct {
	ResourceType    string                   `json:"resourceType"`
	ID              string                   `json:"id,omitempty"`
	Meta            Meta                     `json:"meta,omitzero"`
	Identifier      []Identifier             `json:"identifier,omitempty"`
	Status          string                   `json:"status"`
	Class           Coding                   `json:"class"`
	Type            []CodeableConcept        `json:"type,omitempty"`
	Priority        CodeableConcept          `json:"priority,omitzero"`
	Subject         Reference                `json:"subject,omitzero"`
	Period          Period                   `json:"period,omitzero"`
	ReasonCode      []CodeableConcept        `json:"reasonCode,omitempty"`
	Hospitalization EncounterHospitalization `json:"hospitalization,omitzero"`
	ServiceProvider Reference                `json:"serviceProvider,omitzero"`
}

// EncounterHospitalization holds the admission details of a stay.
type EncounterHospitalization struct {
	AdmitSource          CodeableConcept `json:"admitSource,omitzero"`
	DischargeDisposition CodeableConcept `json:"dischargeDisposition,omitzero"`
}

// Condition is an R4 Condition.
type Condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	Meta               Meta              `json:"meta,omitzero"`
	Identifier         []Identifier      `json:"identifier,omitempty"`
	ClinicalStatus     CodeableConcept   `json:"clinicalStatus,omitzero"`
	VerificationStatus CodeableConcept   `json:"verificationStatus,omitzero"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               CodeableConcept   `json:"code,omitzero"`
	Subject            Reference         `json:"subject"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	AbatementDateTime  string            `json:"abatementDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
}

// Observation is an R4 Observation with a Quantity or a coded value.
type Observation struct {
	ResourceType         string            `json:"resourceType"`
	ID                   string            `json:"id,omitempty"`
	Meta                 Meta              `json:"meta,omitzero"`
	Identifier           []Identifier      `json:"identifier,omitempty"`
	Status               string            `json:"status"`
	Category             []CodeableConcept `json:"category,omitempty"`
	Code                 CodeableConcept   `json:"code"`
	Subject              Reference         `json:"subject,omitzero"`
	Encounter            Reference         `json:"encounter,omitzero"`
	EffectiveDateTime    string            `json:"effectiveDateTime,omitempty"`
	ValueQuantity        *Quantity         `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *CodeableConcept  `json:"valueCodeableConcept,omitempty"`
	DataAbsentReason     *CodeableConcept  `json:"dataAbsentReason,omitempty"`
}

// MedicationRequest is an R4 MedicationRequest for a coded medicine.
type MedicationRequest struct {
	ResourceType              string                    `json:"resourceType"`
	ID                        string                    `json:"id,omitempty"`
	Meta                      Meta                      `json:"meta,omitzero"`
	Identifier                []Identifier              `json:"identifier,omitempty"`
	Status                    string                    `json:"status"`
	Intent                    string                    `json:"intent"`
	MedicationCodeableConcept CodeableConcept           `json:"medicationCodeableConcept,omitzero"`
	Subject                   Reference                 `json:"subject"`
	AuthoredOn                string                    `json:"authoredOn,omitempty"`
	DispenseRequest           MedicationRequestDispense `json:"dispenseRequest,omitzero"`
}

// MedicationRequestDispense is MedicationRequest.dispenseRequest.
type MedicationRequestDispense struct {
	ValidityPeriod Period `json:"validityPeriod,omitzero"`
}

// Immunization is an R4 Immunization.
type Immunization struct {
	ResourceType       string          `json:"resourceType"`
	ID                 string          `json:"id,omitempty"`
	Meta               Meta            `json:"meta,omitzero"`
	Identifier         []Identifier    `json:"identifier,omitempty"`
	Status             string          `json:"status"`
	VaccineCode        CodeableConcept `json:"vaccineCode"`
	Patient            Reference       `json:"patient"`
	OccurrenceDateTime string          `json:"occurrenceDateTime,omitempty"`
	PrimarySource      *bool           `json:"primarySource,omitempty"`
}

// Procedure is an R4 Procedure.
type Procedure struct {
	ResourceType      string          `json:"resourceType"`
	ID                string          `json:"id,omitempty"`
	Meta              Meta            `json:"meta,omitzero"`
	Identifier        []Identifier    `json:"identifier,omitempty"`
	Status            string          `json:"status"`
	Code              CodeableConcept `json:"code,omitzero"`
	Subject           Reference       `json:"subject"`
	Encounter         Reference       `json:"encounter,omitzero"`
	PerformedDateTime string          `json:"performedDateTime,omitempty"`
}
