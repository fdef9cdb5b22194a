package fhir

import (
	"github.com/wholecare/wholecare/internal/record"
)

// Activity costs and social care packages are not mapped: costs are not part
// of a clinical bulk export, and a later issue may export them as
// Claim/ChargeItem resources.

// EncounterFrom maps an encounter. The FHIR class is the coarse v3 ActCode
// setting that every receiver understands; Wholecare's finer class goes in
// type so that nothing is lost on the way back in.
func EncounterFrom(e record.Encounter) Encounter {
	class, priority := encounterSetting(e.Class)
	enc := Encounter{
		ResourceType:    TypeEncounter,
		ID:              encounterID(e.PersonID, e.ID),
		Meta:            metaFrom(e.Source, e.ReceivedAt),
		Identifier:      sourceIdentifiers(e.Provenance),
		Status:          "finished",
		Class:           class,
		Priority:        priority,
		Subject:         patientRef(e.PersonID),
		Period:          Period{Start: DateTime(e.Start), End: DateTime(e.End)},
		ServiceProvider: orgRef(e.OrgID),
	}
	if e.End.IsZero() {
		enc.Status = "in-progress"
	}
	if e.Class != "" {
		enc.Type = []CodeableConcept{concept(CSEncounterClass, string(e.Class), encounterClassDisplay(e.Class))}
	}
	if dx := conceptFrom(e.Diagnosis); len(dx.Coding) > 0 || dx.Text != "" {
		enc.ReasonCode = []CodeableConcept{dx}
	}
	if e.Class.Admission() && !e.End.IsZero() {
		enc.Hospitalization.DischargeDisposition = dischargeDisposition(e.Discharge)
	}
	return enc
}

// encounterSetting maps a Wholecare class to the v3 ActCode class and, where
// the class says it, the ActPriority. Community, mental health and social
// care contacts are AMB: the record does not say which were home visits, and
// HH would claim it. Admission source is not exported: the record knows an
// admission was emergency or elective (priority), not where it came from.
func encounterSetting(c record.EncounterClass) (class Coding, priority CodeableConcept) {
	amb := Coding{System: CSActCode, Code: "AMB", Display: "ambulatory"}
	emergency := concept(CSActPriority, "EM", "emergency")
	switch c {
	case record.AE:
		return Coding{System: CSActCode, Code: "EMER", Display: "emergency"}, emergency
	case record.EmergencyAdmission:
		return Coding{System: CSActCode, Code: "IMP", Display: "inpatient encounter"}, emergency
	case record.ElectiveAdmission:
		return Coding{System: CSActCode, Code: "IMP", Display: "inpatient encounter"}, concept(CSActPriority, "EL", "elective")
	}
	return amb, CodeableConcept{}
}

func encounterClassDisplay(c record.EncounterClass) string {
	switch c {
	case record.PrimaryCare:
		return "Primary care"
	case record.AE:
		return "Accident and emergency"
	case record.EmergencyAdmission:
		return "Emergency admission"
	case record.ElectiveAdmission:
		return "Elective admission"
	case record.Outpatient:
		return "Outpatient"
	case record.Community:
		return "Community"
	case record.MentalHealth:
		return "Mental health"
	case record.SocialCareContact:
		return "Social care"
	}
	return ""
}

// dischargeDisposition maps the record's discharge destination to the HL7
// discharge-disposition codes. A care home is "long" (long-term care): "snf"
// would claim nursing care, which a residential home does not give. An
// unknown destination is kept as text rather than guessed.
func dischargeDisposition(d string) CodeableConcept {
	switch d {
	case "":
		return CodeableConcept{}
	case "home":
		return concept(CSDischargeDisp, "home", "Home")
	case "care_home":
		return concept(CSDischargeDisp, "long", "Long-term care")
	case "died":
		return concept(CSDischargeDisp, "exp", "Expired")
	case "transfer":
		return concept(CSDischargeDisp, "other-hcf", "Other healthcare facility")
	case "other":
		return concept(CSDischargeDisp, "oth", "Other")
	}
	return CodeableConcept{Text: d}
}

// ConditionFrom maps a condition as a confirmed problem-list item.
func ConditionFrom(c record.Condition) Condition {
	return Condition{
		ResourceType:       TypeCondition,
		ID:                 personRowID("c", c.PersonID, c.ID),
		Meta:               metaFrom(c.Source, c.ReceivedAt),
		Identifier:         sourceIdentifiers(c.Provenance),
		ClinicalStatus:     conditionClinicalStatus(c),
		VerificationStatus: concept(CSConditionVerStatus, "confirmed", "Confirmed"),
		Category:           []CodeableConcept{concept(CSConditionCategory, "problem-list-item", "Problem List Item")},
		Code:               conceptFrom(c.Code),
		Subject:            patientRef(c.PersonID),
		OnsetDateTime:      DateTime(c.Onset),
		AbatementDateTime:  DateTime(c.Abatement),
		// The record does not keep when the source first recorded the
		// condition; when Wholecare received it is the latest it can have been.
		RecordedDate: DateTime(c.ReceivedAt),
	}
}

// conditionClinicalStatus follows FHIR invariant con-4: a condition with an
// abatement date is not active, whatever the status field says.
func conditionClinicalStatus(c record.Condition) CodeableConcept {
	status := c.Status
	switch {
	case !c.Abatement.IsZero() && (status == record.ConditionActive || status == ""):
		status = record.ConditionResolved
	case status == "":
		status = record.ConditionActive
	}
	switch status {
	case record.ConditionActive:
		return concept(CSConditionClinical, "active", "Active")
	case record.ConditionInactive:
		return concept(CSConditionClinical, "inactive", "Inactive")
	case record.ConditionResolved:
		return concept(CSConditionClinical, "resolved", "Resolved")
	}
	return CodeableConcept{Text: string(status)}
}

// ObservationFrom maps an observation with a numeric (Quantity) or coded
// value. A number FHIR cannot write (NaN, ±Inf) becomes a dataAbsentReason
// of "error" rather than a made-up value.
func ObservationFrom(o record.Observation) Observation {
	obs := Observation{
		ResourceType:      TypeObservation,
		ID:                personRowID("o", o.PersonID, o.ID),
		Meta:              metaFrom(o.Source, o.ReceivedAt),
		Identifier:        sourceIdentifiers(o.Provenance),
		Status:            "final",
		Code:              conceptFrom(o.Code),
		Subject:           patientRef(o.PersonID),
		Encounter:         encounterRef(o.PersonID, o.EncounterID),
		EffectiveDateTime: DateTime(o.Effective),
	}
	if cat := observationCategory(o.Code); cat != "" {
		obs.Category = []CodeableConcept{concept(CSObservationCategory, cat, observationCategoryDisplay(cat))}
	}
	switch {
	case o.Value != nil:
		v, ok := DecimalFromFloat(*o.Value)
		if !ok {
			obs.DataAbsentReason = &CodeableConcept{Coding: []Coding{{System: CSDataAbsentReason, Code: "error", Display: "Error"}}}
			break
		}
		q := &Quantity{Value: v}
		if o.Unit != "" {
			q.Unit, q.System, q.Code = o.Unit, SystemUCUM, o.Unit
		}
		obs.ValueQuantity = q
	case o.ValueCode.Code != "":
		cc := conceptFrom(o.ValueCode)
		obs.ValueCodeableConcept = &cc
	}
	return obs
}

// observationCategory places the codes Wholecare's code lists use for
// observations. An unknown code gets no category: category is optional, and
// a wrong one (vital-signs) would bind the resource to a profile it breaks.
func observationCategory(c record.Coding) string {
	return observationCategories[categoryKey{c.System, c.Code}]
}

type categoryKey struct{ system, code string }

// observationCategories is a table (not a switch) so that the REST API's
// category search can list the codes of a category.
var observationCategories = func() map[categoryKey]string {
	m := make(map[categoryKey]string)
	add := func(system, cat string, codes ...string) {
		for _, c := range codes {
			m[categoryKey{system, c}] = cat
		}
	}
	add(record.SNOMED, "vital-signs",
		"72313002", "163030003", "271649006", "314438006", "413606001", // systolic BP
		"1091811000000102", "163031004", "271650006", "314439003", "413605002", // diastolic BP
		"75367002", "163020007", // blood pressure
		"60621009",              // BMI
		"431314004",             // SpO2
		"364075005", "78564009", // heart rate, pulse
		"86290005",  // respiratory rate
		"276885007", // core temperature
		"27113001",  // weight
		"50373000")  // height
	add(record.SNOMED, "laboratory",
		"999791000000106", "1049301000000100", "1049321000000109", // HbA1c
		"1011481000000105", "1020291000000106", "80274001", // eGFR
		"1023491000000104",                    // urine ACR
		"1005671000000105", "850981000000101") // cholesterol
	add(record.SNOMED, "survey", "391120009", "391123006", "391124000")                                // MRC breathlessness grades
	add(record.SNOMED, "social-history", "365980008", "365981007", "77176002", "8517006", "266919005") // smoking
	add(record.SNOMED, "exam", "313193002")                                                            // peak flow
	add(record.LOINC, "vital-signs", "8480-6", "8462-4", "85354-9", "39156-5", "59408-5", "2708-6", "8867-4",
		"9279-1", "8310-5", "8331-1", "29463-7", "8302-2")
	add(record.LOINC, "laboratory", "4548-4", "33914-3", "62238-1", "9318-7", "14959-1", "2093-3", "18262-6", "2085-9")
	add(record.LOINC, "social-history", "72166-2")
	add(record.LOINC, "exam", "19926-5")
	return m
}()

func observationCategoryDisplay(cat string) string {
	switch cat {
	case "vital-signs":
		return "Vital Signs"
	case "laboratory":
		return "Laboratory"
	case "survey":
		return "Survey"
	case "social-history":
		return "Social History"
	case "exam":
		return "Exam"
	}
	return ""
}

// MedicationRequestFrom maps a prescribed course. The course's end is the end
// of dispenseRequest.validityPeriod: the time the prescription may be
// dispensed in, which is what a course's end means for a repeat.
func MedicationRequestFrom(m record.Medication) MedicationRequest {
	mr := MedicationRequest{
		ResourceType:              TypeMedicationRequest,
		ID:                        personRowID("m", m.PersonID, m.ID),
		Meta:                      metaFrom(m.Source, m.ReceivedAt),
		Identifier:                sourceIdentifiers(m.Provenance),
		Status:                    medicationStatus(m.Status),
		Intent:                    "order",
		MedicationCodeableConcept: conceptFrom(m.Code),
		Subject:                   patientRef(m.PersonID),
		AuthoredOn:                DateTime(m.Start),
	}
	if !m.End.IsZero() {
		mr.DispenseRequest.ValidityPeriod = Period{Start: DateTime(m.Start), End: DateTime(m.End)}
	}
	return mr
}

func medicationStatus(s record.MedicationStatus) string {
	switch s {
	case record.MedicationActive:
		return "active"
	case record.MedicationCompleted:
		return "completed"
	case record.MedicationStopped:
		return "stopped"
	}
	return "unknown"
}

// ImmunizationFrom maps a vaccination, or a declined one as not-done.
// primarySource is true: Wholecare's sources are the records of the
// services that gave the vaccine. An importer of second-hand reports will
// need a field in the record to say otherwise.
func ImmunizationFrom(i record.Immunisation) Immunization {
	primary := true
	im := Immunization{
		ResourceType:       TypeImmunization,
		ID:                 personRowID("i", i.PersonID, i.ID),
		Meta:               metaFrom(i.Source, i.ReceivedAt),
		Identifier:         sourceIdentifiers(i.Provenance),
		Status:             "completed",
		VaccineCode:        conceptFrom(i.Code),
		Patient:            patientRef(i.PersonID),
		OccurrenceDateTime: DateTime(i.Date),
		PrimarySource:      &primary,
	}
	if i.NotGiven {
		im.Status = "not-done"
	}
	return im
}

// ProcedureFrom maps a completed procedure.
func ProcedureFrom(p record.Procedure) Procedure {
	return Procedure{
		ResourceType:      TypeProcedure,
		ID:                personRowID("pc", p.PersonID, p.ID),
		Meta:              metaFrom(p.Source, p.ReceivedAt),
		Identifier:        sourceIdentifiers(p.Provenance),
		Status:            "completed",
		Code:              conceptFrom(p.Code),
		Subject:           patientRef(p.PersonID),
		Encounter:         encounterRef(p.PersonID, p.EncounterID),
		PerformedDateTime: DateTime(p.Date),
	}
}
