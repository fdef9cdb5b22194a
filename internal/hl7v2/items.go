package hl7v2

import (
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Source is the ingest source name of the message's sender: "hl7v2:" and
// the sending facility, or the sending application when no facility was
// sent.
func (a *ADT) Source() string {
	switch {
	case a == nil:
		return "hl7v2"
	case a.SendingFacility != "":
		return "hl7v2:" + a.SendingFacility
	case a.SendingApp != "":
		return "hl7v2:" + a.SendingApp
	}
	return "hl7v2"
}

// Items maps the message to what ingest applies. source names the sender
// ("" means a.Source()); received is when Wholecare received the message.
// Each item carries exactly one of Person, Rows or Cancel; a Person item
// comes first. Demographics are as sent: a field the message left empty is
// the zero value (Sex unknown, NHS number absent), never a guess.
//
// The subject is the patient's identifier at the sending system: the first
// PID-3 repetition that is not an NHS number, or the NHS number when there
// is nothing else. By trigger:
//
//	A01 A04 A08 A28 A31 A05  a Person item when the PID carries any demographics
//	A02 A03 A11 A12 A13      a Person item when the PID carries a name
//	A01 A02 A03 A04 A12 A13  an Encounter row keyed by the visit (see below); A08 too when its PV1 has a mappable class and a key
//	A11                      a Cancel of the encounter
//	A40 (and A34)            no items; the Merge (Into = PID-3 subject, From = MRG-1, preferring
//	                         the repetition of the same authority and type)
//	A05                      no encounter: a pre-admission has not happened and may never happen
//
// The encounter's key (Provenance.SourceRef) is the visit number PV1-19;
// without one it is the subject and the admit time PV1-44 ("id@time"),
// which every message about the visit repeats, unlike the control id of the
// message that opened it. With neither, the message is refused.
//
// Class, from PV1-2 patient class and PV1-4 admission type:
//
//	E (emergency)               A&E attendance; on an A01 (admitted from A&E) an emergency admission
//	I, B (obstetrics), P        an admission: emergency when PV1-4 is an emergency type (A, E, U, EM,
//	                            NHS admission methods 2x), otherwise elective (C, R, EL, 11-13, maternity,
//	                            and an absent or unknown type)
//	O, R (recurring)            outpatient
//	anything else               refused (HL7 error 103), except on A08 where the encounter is left out
//
// An unknown admission type is read as elective on purpose: emergency
// admissions drive alerts and risk scores, and a feed that never sends PV1-4
// should undercount them (visibly, in data-quality checks) rather than turn
// every day case into an emergency. A sender that keeps PV1-2 = E on the
// messages after an A01 will see the stay reclassified as an A&E
// attendance; standard feeds send I once admitted.
//
// Start is PV1-44; an A01 or A04 without it starts at EVN-6/EVN-2, else
// MSH-7; other events without it are refused, since their event time is
// not the start. End is PV1-45; an A03 without it ends at EVN-6/EVN-2, else
// MSH-7; an A13 clears End and the discharge destination. Discharge (for
// admissions) maps PV1-36 (see discharge); an A03 of a patient whom PID-29
// or PID-30 says has died, with no PV1-36, is "died". OrgID is the sending
// facility. Start and End are in UTC.
func (a *ADT) Items(source string, received time.Time) ([]ingest.Item, *ingest.Merge, error) {
	if a == nil {
		return nil, nil, invalid(CodeSegmentSequence, "hl7v2: no ADT message")
	}
	spec, ok := adtTriggers[a.Trigger]
	if !ok {
		return nil, nil, invalid(CodeUnsupportedEvent, "hl7v2: ADT^%s is not supported", token(a.Trigger))
	}
	if source == "" {
		source = a.Source()
	}
	at := "hl7v2 " + a.Trigger + " " + safeControlID(a.ControlID)

	if spec.mrg {
		m, err := a.merge(source, at)
		return nil, m, err
	}

	subject, ok := subjectOf(a.Patient.Identifiers, nil)
	if !ok {
		return nil, nil, invalid(CodeRequiredFieldMissing, "hl7v2: %s PID-3 has no patient identifier", a.Trigger)
	}
	var items []ingest.Item
	p := &a.Patient
	named := p.FamilyName != "" || p.GivenName != ""
	if spec.demographic && (named || p.hasDemographics()) || !spec.demographic && named {
		items = append(items, ingest.Item{Source: source, Subject: subject, At: at, Person: a.person(source, received)})
	}

	switch a.Trigger {
	case "A11":
		key, ok := a.visitKey(subject)
		if !ok {
			return nil, nil, invalid(CodeRequiredFieldMissing, "hl7v2: A11 PV1 has neither a visit number (PV1-19) nor an admit time (PV1-44)")
		}
		items = append(items, ingest.Item{Source: source, Subject: subject, At: at, Cancel: &ingest.Cancel{Table: "encounters", SourceRef: key}})
	case "A01", "A02", "A03", "A04", "A08", "A12", "A13":
		enc, err := a.encounter(source, subject, received)
		if err != nil {
			if a.Trigger == "A08" && apperr.Is(err, apperr.Invalid) {
				break // an update about the person with no usable visit
			}
			return nil, nil, err
		}
		items = append(items, ingest.Item{Source: source, Subject: subject, At: at, Rows: record.Batch{Encounters: []record.Encounter{enc}}})
	}
	return items, nil, nil
}

func (a *ADT) merge(source, at string) (*ingest.Merge, error) {
	if len(a.Merges) != 1 {
		return nil, invalid(CodeSegmentSequence, "hl7v2: %s with %d patient groups: send one merge per message", a.Trigger, len(a.Merges))
	}
	g := a.Merges[0]
	into, ok := subjectOf(g.Survivor.Identifiers, nil)
	if !ok {
		return nil, invalid(CodeRequiredFieldMissing, "hl7v2: %s PID-3 has no patient identifier", a.Trigger)
	}
	var like *Identifier
	for i := range g.Survivor.Identifiers {
		if g.Survivor.Identifiers[i].ID == into {
			like = &g.Survivor.Identifiers[i]
			break
		}
	}
	from, ok := subjectOf(g.Prior.Identifiers, like)
	if !ok {
		return nil, invalid(CodeRequiredFieldMissing, "hl7v2: %s MRG-1 has no prior identifier", a.Trigger)
	}
	if from == into {
		return nil, invalid(CodeDuplicateKey, "hl7v2: %s MRG-1 is the same identifier as PID-3", a.Trigger)
	}
	return &ingest.Merge{Source: source, Into: into, From: from, At: at}, nil
}

// subjectOf picks the source's own identifier: the first that is not an
// NHS number (of the same authority and type as like, when there is one
// and like is given), else the first NHS number.
func subjectOf(ids []Identifier, like *Identifier) (string, bool) {
	if like != nil {
		for _, id := range ids {
			if !id.NHS && id.Authority == like.Authority && id.Type == like.Type {
				return id.ID, true
			}
		}
	}
	for _, id := range ids {
		if !id.NHS {
			return id.ID, true
		}
	}
	for _, id := range ids {
		if id.NHS {
			return strings.ReplaceAll(id.ID, " ", ""), true
		}
	}
	return "", false
}

func (p *Patient) hasDemographics() bool {
	return p.FamilyName != "" || p.GivenName != "" || !p.BirthDate.IsZero() || p.Sex != "" ||
		p.Postcode != "" || p.NHSNumber != "" || !p.DeathTime.IsZero()
}

// person is the registry's view of the PID. Dates are calendar dates as
// written (a birth date coarser than a day is left unknown); an NHS number
// failing its check digit is kept as invalid; PID-32 "01" marks it verified.
func (a *ADT) person(source string, received time.Time) *registry.Person {
	p := &a.Patient
	out := &registry.Person{
		NHSNumber:       p.NHSNumber,
		NHSNumberStatus: registry.NHSAbsent,
		GivenName:       p.GivenName,
		FamilyName:      p.FamilyName,
		BirthDate:       p.BirthDate.Date(),
		Sex:             p.Sex,
		Postcode:        p.Postcode,
		Ethnicity:       p.Ethnicity,
		PracticeID:      p.PracticeID,
		DateOfDeath:     p.DeathTime.Date(),
		Source:          source,
		ReceivedAt:      received,
	}
	if out.Sex == "" {
		out.Sex = registry.Unknown
	}
	switch {
	case p.NHSNumber == "":
	case !validNHSNumber(p.NHSNumber):
		out.NHSNumberStatus = registry.NHSInvalid
	case p.NHSStatus == "01":
		out.NHSNumberStatus = registry.NHSVerified
	default:
		out.NHSNumberStatus = registry.NHSUnverified
	}
	return out
}

// visitKey is the encounter's key at the source (see Items).
func (a *ADT) visitKey(subject string) (string, bool) {
	v := a.Visit
	switch {
	case v == nil:
		return "", false
	case v.VisitNumber != "":
		return v.VisitNumber, true
	case !v.AdmitTime.IsZero():
		return subject + "@" + v.AdmitTime.Time.UTC().Format("20060102T150405.999999999Z"), true
	}
	return "", false
}

func (a *ADT) encounter(source, subject string, received time.Time) (record.Encounter, error) {
	v := a.Visit
	if v == nil {
		return record.Encounter{}, invalid(CodeSegmentSequence, "hl7v2: %s has no PV1 segment", a.Trigger)
	}
	class, ok := encounterClass(a.Trigger, v)
	if !ok {
		if v.Class == "" {
			return record.Encounter{}, invalid(CodeRequiredFieldMissing, "hl7v2: %s PV1-2 patient class is missing", a.Trigger)
		}
		return record.Encounter{}, invalid(CodeTableValueNotFound, "hl7v2: %s PV1-2 patient class %s is not one Wholecare maps (E, I, O, P, R, B)", a.Trigger, token(v.Class))
	}
	key, ok := a.visitKey(subject)
	if !ok {
		return record.Encounter{}, invalid(CodeRequiredFieldMissing, "hl7v2: %s PV1 has neither a visit number (PV1-19) nor an admit time (PV1-44)", a.Trigger)
	}
	start := v.AdmitTime
	if start.IsZero() && (a.Trigger == "A01" || a.Trigger == "A04") {
		start = a.eventOrMessageTime()
	}
	if start.IsZero() {
		return record.Encounter{}, invalid(CodeRequiredFieldMissing, "hl7v2: %s PV1-44 admit time is missing", a.Trigger)
	}
	var end DTM
	switch {
	case a.Trigger == "A13":
	case !v.DischargeTime.IsZero():
		end = v.DischargeTime
	case a.Trigger == "A03":
		end = a.eventOrMessageTime()
		if end.IsZero() {
			return record.Encounter{}, invalid(CodeRequiredFieldMissing, "hl7v2: A03 has no discharge time (PV1-45, EVN or MSH-7)")
		}
	}
	if !end.IsZero() && end.Time.Before(start.Time) {
		return record.Encounter{}, invalid(CodeDataType, "hl7v2: %s discharge time is before the admit time", a.Trigger)
	}
	enc := record.Encounter{
		Class: class,
		Start: start.Time.UTC(),
		OrgID: a.SendingFacility,
		Provenance: record.Provenance{
			Source:     source,
			SourceRef:  key,
			ReceivedAt: received,
		},
	}
	if !end.IsZero() {
		enc.End = end.Time.UTC()
	}
	if class.Admission() && a.Trigger != "A13" {
		enc.Discharge = discharge(v.Disposition)
		if enc.Discharge == "" && a.Trigger == "A03" && (a.Patient.Deceased == "Y" || !a.Patient.DeathTime.IsZero()) {
			enc.Discharge = "died"
		}
	}
	return enc, nil
}

func (a *ADT) eventOrMessageTime() DTM {
	if !a.EventTime.IsZero() {
		return a.EventTime
	}
	return a.MessageTime
}

// encounterClass maps PV1-2 and PV1-4 (see Items).
func encounterClass(trigger string, v *Visit) (record.EncounterClass, bool) {
	switch v.Class {
	case "E":
		if trigger == "A01" {
			return record.EmergencyAdmission, true
		}
		return record.AE, true
	case "I", "B", "P":
		if emergencyAdmissionType(v.AdmissionType) {
			return record.EmergencyAdmission, true
		}
		return record.ElectiveAdmission, true
	case "O", "R":
		return record.Outpatient, true
	}
	return "", false
}

// emergencyAdmissionType recognises emergency admission types: HL7 table
// 0007 A (accident), E (emergency), U (urgent); EM and EMER; and NHS Data
// Dictionary admission methods 21-28 and 2A-2D (some feeds add a suffix,
// as Simulated Hospital's "28b").
func emergencyAdmissionType(t string) bool {
	switch t {
	case "A", "E", "U", "EM", "EMER", "EMERGENCY":
		return true
	}
	return len(t) >= 2 && len(t) <= 3 && t[0] == '2' && (t[1] >= '1' && t[1] <= '8' || t[1] >= 'A' && t[1] <= 'D')
}

// discharge maps PV1-36 to the record's discharge destinations. NHS Data
// Dictionary discharge destination codes come first (Wholecare is a UK
// system); HL7 table 0112 (US) codes that do not clash with them, and a
// few words, are read too. Unknown (99) and not applicable (98) are "";
// anything else unrecognised is "other".
func discharge(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	switch c {
	case "":
		return ""
	case "98", "99":
		return ""
	// NHS: usual or temporary place of residence; US: home, home health.
	case "19", "29", "01", "1", "06", "HOME", "H":
		return "home"
	// NHS: NHS-run care home, local authority residential, non-NHS care home;
	// US: skilled nursing, intermediate care, nursing facility.
	case "54", "65", "85", "03", "04", "64", "CARE HOME", "NURSING HOME":
		return "care_home"
	// NHS: died, stillbirth; US: expired.
	case "79", "20", "40", "41", "42", "DIED", "DECEASED", "EXPIRED":
		return "died"
	// NHS: other hospital providers, secure units, hospices; US: short-term
	// hospital, other facility, federal hospital, rehabilitation, long-term
	// care.
	case "48", "49", "50", "51", "52", "53", "84", "87", "88", "02", "05", "43", "62", "63", "TRANSFER":
		return "transfer"
	}
	return "other"
}

// safeControlID is the control id when it is plainly an identifier (it
// goes into ingest's At, which may be shown and logged), else a
// placeholder.
func safeControlID(id string) string {
	if len(id) > 64 || !plainID([]byte(id)) {
		return "(control id not shown)"
	}
	return id
}
