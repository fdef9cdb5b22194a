package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"

	"github.com/wholecare/wholecare/internal/record"
)

// National and HL7 identifier systems, code systems and extensions. These are
// fixed by their owners; the UK Core ones were checked against the UK Core
// STU2 examples.
const (
	SystemNHSNumber  = "https://fhir.nhs.uk/Id/nhs-number"
	SystemODSOrgCode = "https://fhir.nhs.uk/Id/ods-organization-code"
	SystemGMC        = "https://fhir.hl7.org.uk/Id/gmc-number"
	SystemNMC        = "https://fhir.hl7.org.uk/Id/nmc-number"
	SystemGPhC       = "https://fhir.hl7.org.uk/Id/gphc-number"

	ExtNHSNumberVerificationStatus = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	CSNHSNumberVerificationStatus  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
	ExtEthnicCategory              = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
	CSEthnicCategory               = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"

	ExtAdmissionMethod     = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod"
	CSAdmissionMethod      = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
	CSDischargeDestination = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland"

	CSActCode             = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	CSActPriority         = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
	CSDischargeDisp       = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
	CSAdmitSource         = "http://terminology.hl7.org/CodeSystem/admit-source"
	CSConditionClinical   = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	CSConditionVerStatus  = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	CSConditionCategory   = "http://terminology.hl7.org/CodeSystem/condition-category"
	CSObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	CSDataAbsentReason    = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
	SystemUCUM            = "http://unitsofmeasure.org"
)

// Wholecare's own URLs. They live under one base so that when the project
// has a canonical domain they change in one place, and every one of them is
// here so the ingest path can recognise what export wrote.
const (
	wholecareBase = "https://wholecare.example/fhir/"

	ExtIMDDecile = wholecareBase + "StructureDefinition/imd-decile"

	CSOrgKind        = wholecareBase + "CodeSystem/organisation-kind"
	CSEncounterClass = wholecareBase + "CodeSystem/encounter-class"
	CSProfession     = wholecareBase + "CodeSystem/profession"
	CSCareTeamKind   = wholecareBase + "CodeSystem/care-team-kind"
	CSCareTeamRole   = wholecareBase + "CodeSystem/care-team-role"
	CSLocalCode      = wholecareBase + "CodeSystem/local"

	// SystemLocalOrganisation holds the directory's local codes for
	// organisations that have no ODS code.
	SystemLocalOrganisation = wholecareBase + "Id/local-organisation"
	// SystemProfessionalRegistration holds registration numbers of registers
	// UK Core has no identifier system for (Social Work England, HCPC).
	SystemProfessionalRegistration = wholecareBase + "Id/professional-registration"
	// SystemInvalidNHSNumber carries a number that fails the NHS number check
	// digit. It is kept as data, as the registry keeps it, but never under the
	// NHS number system, where a receiver could link records on it.
	SystemInvalidNHSNumber = wholecareBase + "Id/invalid-nhs-number"

	// sourceURNPrefix + a source token ("synth", "hl7v2:RXR") names a
	// sending system: identifier.system for its local ids, and meta.source.
	sourceURNPrefix = "urn:wholecare:source:"
)

// SourceURI is the URI that names a Wholecare source token, used as the
// identifier system of the source's local ids and as meta.source.
func SourceURI(source string) string {
	if source == "" {
		return ""
	}
	return sourceURNPrefix + url.PathEscape(source)
}

// SystemURI maps a record code-system token to its FHIR system URI. An
// unknown token maps to a Wholecare system so the code still round-trips.
//
// TODO: switch to codes.SystemURI when internal/codes exports it.
func SystemURI(token string) string {
	switch token {
	case record.SNOMED:
		return "http://snomed.info/sct"
	case record.ICD10:
		return "http://hl7.org/fhir/sid/icd-10"
	case record.OPCS4:
		return "http://hl7.org/fhir/sid/opcs-4"
	case record.DMD:
		return "https://dmd.nhs.uk"
	case record.LOINC:
		return "http://loinc.org"
	case record.RxNorm:
		return "http://www.nlm.nih.gov/research/umls/rxnorm"
	case record.CVX:
		return "http://hl7.org/fhir/sid/cvx"
	case "", record.Local:
		return CSLocalCode
	}
	return CSLocalCode + "/" + url.PathEscape(token)
}

// validID reports whether s is a FHIR id: 1–64 of [A-Za-z0-9-.].
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// safeID returns s when it is a valid FHIR id, else a stable id derived from
// its hash. Organisation ids are ODS codes, which are always valid, but the
// directory also allows local codes, and a reference must never be invalid.
func safeID(prefix, s string) string {
	if validID(prefix + s) {
		return prefix + s
	}
	sum := sha256.Sum256([]byte(s))
	return prefix + "h" + hex.EncodeToString(sum[:12])
}
