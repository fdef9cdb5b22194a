package hl7v2

import (
	"log/slog"
	"strings"

	"github.com/wholecare/wholecare/internal/registry"
)

// ADT is what Wholecare reads from one ADT message. Text values are
// decoded; the explicit null `""` reads as empty.
type ADT struct {
	Trigger         string // MSH-9.2 (EVN-1 when MSH-9 has none), e.g. "A01"
	Structure       string // MSH-9.3 when sent, e.g. "ADT_A01"
	ControlID       string // MSH-10
	SendingApp      string // MSH-3 namespace id (universal id when that is empty)
	SendingFacility string // MSH-4, likewise
	MessageTime     DTM    // MSH-7
	EventTime       DTM    // EVN-6 (when the event happened), else EVN-2 (when it was recorded)

	Patient Patient
	Visit   *Visit // PV1; nil when the message has none

	// Merges are the patient groups of an A40 (or A34): each PID with the
	// MRG that follows it. Patient is the first group's PID.
	Merges []PatientMerge
}

// Patient is what the PID (and PD1) say about the person.
type Patient struct {
	Identifiers []Identifier // PID-3, every repetition with an id
	NHSNumber   string       // the first NHS number among Identifiers, spaces removed; "" when none
	NHSStatus   string       // NHS number status indicator from PID-32, "01" (verified) to "08"; "" when not sent (see nhsStatus)
	FamilyName  string       // PID-5.1.1 of the first repetition
	GivenName   string       // PID-5.2
	BirthDate   DTM          // PID-7
	SexCode     string       // PID-8 as sent
	Sex         registry.Sex // PID-8 mapped: M male, F female, O and A other, U and N unknown; "" when not sent
	Postcode    string       // PID-11.5 of the first address
	Ethnicity   string       // PID-22.1 when it is an NHS ethnic category code, else ""
	DeathTime   DTM          // PID-29
	Deceased    string       // PID-30 as sent: "Y", "N" or ""
	PracticeID  string       // PD1-3, the registered GP practice: XON-10, else XON-3
}

// Identifier is one PID-3 (or MRG-1) repetition.
type Identifier struct {
	ID          string // CX-1
	Authority   string // CX-4.1, the assigning authority's namespace id
	AuthorityID string // CX-4.2, its universal id (an OID)
	Type        string // CX-5, identifier type code
	NHS         bool   // this is an NHS number
}

// Visit is what the PV1 says about the encounter.
type Visit struct {
	Class           string   // PV1-2 patient class as sent: E, I, O, P, R, B, ...
	Location        Location // PV1-3
	AdmissionType   string   // PV1-4
	HospitalService string   // PV1-10
	VisitNumber     string   // PV1-19.1, the encounter's key at the source
	Disposition     string   // PV1-36 discharge disposition as sent
	AdmitTime       DTM      // PV1-44
	DischargeTime   DTM      // PV1-45 (first repetition)
}

// Location is a PL: where the patient is.
type Location struct {
	PointOfCare, Room, Bed, Facility string
}

// Prior is an MRG: the identifiers a patient was known by before a merge.
type Prior struct {
	Identifiers []Identifier // MRG-1
	VisitNumber string       // MRG-5
}

// PatientMerge is one patient group of an A40.
type PatientMerge struct {
	Survivor Patient
	Prior    Prior
}

// LogValue logs what identifies the message, never the patient.
func (a *ADT) LogValue() slog.Value {
	if a == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("trigger", a.Trigger), slog.String("control_id", a.ControlID))
}

// LogValue logs nothing of the patient.
func (p Patient) LogValue() slog.Value { return slog.StringValue("<patient>") }

// adtTrigger says what a supported trigger event needs.
type adtTrigger struct {
	pv1         bool // PV1 required
	mrg         bool // MRG required
	demographic bool // the message is about the person's details: always a Person item
}

var adtTriggers = map[string]adtTrigger{
	"A01": {pv1: true, demographic: true}, // admit
	"A02": {pv1: true},                    // transfer
	"A03": {pv1: true},                    // discharge
	"A04": {pv1: true, demographic: true}, // register (outpatient, A&E)
	"A05": {pv1: true, demographic: true}, // pre-admit
	"A08": {pv1: true, demographic: true}, // update patient information
	"A11": {pv1: true},                    // cancel admit or registration
	"A12": {pv1: true},                    // cancel transfer
	"A13": {pv1: true},                    // cancel discharge
	"A28": {demographic: true},            // add person information
	"A31": {demographic: true},            // update person information
	"A34": {mrg: true},                    // merge patient information, patient id only (before v2.3.1; read as A40)
	"A40": {mrg: true},                    // merge patient identifier list
}

// Supported reports whether ParseADT reads this trigger event. A receiver
// may acknowledge other ADT events (A60 allergies, say) without reading
// them.
func Supported(trigger string) bool {
	_, ok := adtTriggers[trigger]
	return ok
}

// ParseADT reads an ADT message. Segments a trigger requires (PID always,
// PV1 for visit events, MRG for A40) must be there, and the date/times used
// must be well formed; errors are apperr Invalid with an HL7 error code and
// name the segment and field, never the value.
func ParseADT(m *Message) (*ADT, error) {
	if m == nil || m.Len() == 0 {
		return nil, invalid(CodeSegmentSequence, "hl7v2: no message")
	}
	msh := m.Segment("MSH")
	code, trigger, structure := m.Type()
	if code != "ADT" {
		return nil, invalid(CodeUnsupportedMessageType, "hl7v2: message type %s is not ADT", token(code))
	}
	if trigger == "" {
		trigger = m.Segment("EVN").Field(1).String()
	}
	spec, ok := adtTriggers[trigger]
	if !ok {
		return nil, invalid(CodeUnsupportedEvent, "hl7v2: ADT^%s is not supported", token(trigger))
	}
	a := &ADT{
		Trigger:         trigger,
		Structure:       structure,
		ControlID:       text(msh.Field(10).String()),
		SendingApp:      hd(msh.Field(3)),
		SendingFacility: hd(msh.Field(4)),
	}
	var err error
	if a.MessageTime, err = dtm(msh.Field(7).String(), trigger, "MSH-7 message time"); err != nil {
		return nil, err
	}
	if evn := m.Segment("EVN"); evn != nil {
		if a.EventTime, err = dtm(evn.Field(6).String(), trigger, "EVN-6 event time"); err != nil {
			return nil, err
		}
		if a.EventTime.IsZero() {
			if a.EventTime, err = dtm(evn.Field(2).String(), trigger, "EVN-2 recorded time"); err != nil {
				return nil, err
			}
		}
	}

	if spec.mrg {
		if err := a.readMerges(m); err != nil {
			return nil, err
		}
		return a, nil
	}

	pid := m.Segment("PID")
	if pid == nil {
		return nil, invalid(CodeSegmentSequence, "hl7v2: %s has no PID segment", trigger)
	}
	if a.Patient, err = readPatient(pid, m.Segment("PD1"), trigger); err != nil {
		return nil, err
	}
	pv1 := m.Segment("PV1")
	if pv1 == nil && spec.pv1 {
		return nil, invalid(CodeSegmentSequence, "hl7v2: %s has no PV1 segment", trigger)
	}
	if pv1 != nil {
		if a.Visit, err = readVisit(pv1, trigger); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// readMerges reads the PID, MRG pairs of an A40 (or A34).
func (a *ADT) readMerges(m *Message) error {
	var cur *PatientMerge
	curIndex := 0
	for _, s := range m.All() {
		switch s.Name() {
		case "PID":
			if cur != nil && cur.Prior.Identifiers == nil {
				return invalid(CodeSegmentSequence, "hl7v2: %s segment %d: PID has no MRG segment after it", a.Trigger, curIndex)
			}
			curIndex = s.Index()
			p, err := readPatient(s, nil, a.Trigger)
			if err != nil {
				return err
			}
			a.Merges = append(a.Merges, PatientMerge{Survivor: p})
			cur = &a.Merges[len(a.Merges)-1]
		case "MRG":
			if cur == nil {
				return invalid(CodeSegmentSequence, "hl7v2: %s segment %d: MRG before any PID", a.Trigger, s.Index())
			}
			if cur.Prior.Identifiers != nil {
				return invalid(CodeSegmentSequence, "hl7v2: %s segment %d: a second MRG for one PID", a.Trigger, s.Index())
			}
			cur.Prior = Prior{Identifiers: identifiers(s.Field(1)), VisitNumber: text(s.Field(5).Component(1))}
			if cur.Prior.Identifiers == nil {
				return invalid(CodeRequiredFieldMissing, "hl7v2: %s segment %d: MRG-1 has no prior identifier", a.Trigger, s.Index())
			}
		}
	}
	switch {
	case len(a.Merges) == 0:
		return invalid(CodeSegmentSequence, "hl7v2: %s has no PID segment", a.Trigger)
	case a.Merges[len(a.Merges)-1].Prior.Identifiers == nil:
		return invalid(CodeSegmentSequence, "hl7v2: %s has no MRG segment", a.Trigger)
	}
	a.Patient = a.Merges[0].Survivor
	return nil
}

func readPatient(pid, pd1 *Segment, trigger string) (Patient, error) {
	p := Patient{
		Identifiers: identifiers(pid.Field(3)),
		NHSStatus:   nhsStatus(pid.Field(32)),
		FamilyName:  text(pid.Field(5).Sub(1, 1)),
		GivenName:   text(pid.Field(5).Component(2)),
		SexCode:     text(pid.Field(8).String()),
		Postcode:    strings.TrimSpace(text(pid.Field(11).Component(5))),
		Deceased:    text(pid.Field(30).String()),
	}
	for _, id := range p.Identifiers {
		if id.NHS {
			p.NHSNumber = strings.ReplaceAll(id.ID, " ", "")
			break
		}
	}
	p.Sex = sex(p.SexCode)
	if e := text(pid.Field(22).String()); nhsEthnicCategory(e) {
		p.Ethnicity = e
	}
	var err error
	if p.BirthDate, err = dtm(pid.Field(7).String(), trigger, "PID-7 birth date"); err != nil {
		return p, err
	}
	if p.DeathTime, err = dtm(pid.Field(29).String(), trigger, "PID-29 death date"); err != nil {
		return p, err
	}
	if pd1 != nil {
		org := pd1.Field(3)
		if p.PracticeID = text(org.Component(10)); p.PracticeID == "" {
			p.PracticeID = text(org.Component(3))
		}
	}
	return p, nil
}

func readVisit(pv1 *Segment, trigger string) (*Visit, error) {
	loc := pv1.Field(3)
	v := &Visit{
		Class:           strings.ToUpper(text(pv1.Field(2).String())),
		Location:        Location{PointOfCare: text(loc.Component(1)), Room: text(loc.Component(2)), Bed: text(loc.Component(3)), Facility: text(loc.Component(4))},
		AdmissionType:   strings.ToUpper(text(pv1.Field(4).String())),
		HospitalService: text(pv1.Field(10).String()),
		VisitNumber:     strings.TrimSpace(text(pv1.Field(19).Component(1))),
		Disposition:     text(pv1.Field(36).String()),
	}
	var err error
	if v.AdmitTime, err = dtm(pv1.Field(44).String(), trigger, "PV1-44 admit time"); err != nil {
		return nil, err
	}
	if v.DischargeTime, err = dtm(pv1.Field(45).String(), trigger, "PV1-45 discharge time"); err != nil {
		return nil, err
	}
	return v, nil
}

// maxIdentifiers bounds the PID-3 or MRG-1 repetitions read: a patient has
// a handful of identifiers, and a message crafted with thousands must not
// cost memory in proportion.
const maxIdentifiers = 50

// identifiers reads a CX field's repetitions, skipping those with no id.
func identifiers(f Field) []Identifier {
	var out []Identifier
	for i, r := range f.Reps() {
		if i > maxIdentifiers {
			break
		}
		id := Identifier{
			ID:          strings.TrimSpace(text(r.Component(1))),
			Authority:   text(r.Sub(4, 1)),
			AuthorityID: text(r.Sub(4, 2)),
			Type:        text(r.Component(5)),
		}
		if id.ID == "" {
			continue
		}
		id.NHS = isNHSIdentifier(id)
		out = append(out, id)
	}
	return out
}

// nhsNumberOID is the NHS number's identifier system OID.
const nhsNumberOID = "2.16.840.1.113883.2.1.4.1"

// isNHSIdentifier recognises an NHS number by identifier type NH (NHS
// England's HL7 v2 guidance), assigning authority NHS or the NHS number
// OID, and the NHSNMBR / NHSNBR codes Simulated Hospital and some PAS
// feeds use.
func isNHSIdentifier(id Identifier) bool {
	switch strings.ToUpper(id.Type) {
	case "NH", "NHSNMBR", "NHSNBR":
		return true
	}
	switch strings.ToUpper(id.Authority) {
	case "NHS", "NHSNBR", "NHSNMBR", nhsNumberOID:
		return true
	}
	return id.AuthorityID == nhsNumberOID
}

// nhsStatus reads the NHS number status indicator from PID-32 (identity
// reliability code, repeating): NHS England's ADT specification codes it
// NSTS01 to NSTS08 in table 0445; some feeds send the bare 01 to 08.
func nhsStatus(f Field) string {
	for _, r := range f.Reps() {
		c := strings.TrimPrefix(strings.ToUpper(r.String()), "NSTS")
		if len(c) == 2 && c[0] == '0' && c[1] >= '1' && c[1] <= '8' {
			return c
		}
	}
	return ""
}

// sex maps PID-8 (HL7 table 0001) to the registry's codes.
func sex(code string) registry.Sex {
	switch strings.ToUpper(code) {
	case "":
		return ""
	case "M":
		return registry.Male
	case "F":
		return registry.Female
	case "O", "A":
		return registry.Other
	default: // U, N and anything unrecognised
		return registry.Unknown
	}
}

// nhsEthnicCategory reports whether c is an NHS Data Dictionary ethnic
// category code.
func nhsEthnicCategory(c string) bool {
	return len(c) == 1 && strings.Contains("ABCDEFGHJKLMNPRSZ", c)
}

// hd reads an HD (hierarchic designator) field: its namespace id, else its
// universal id.
func hd(f Field) string {
	if v := text(f.Component(1)); v != "" {
		return v
	}
	return text(f.Component(2))
}

// text reads the explicit null `""` as empty.
func text(s string) string {
	if s == `""` {
		return ""
	}
	return s
}

// dtm parses a date/time field, naming it (never its value) on error.
func dtm(s, trigger, what string) (DTM, error) {
	d, err := ParseDTM(s)
	if err != nil {
		return DTM{}, invalid(CodeDataType, "hl7v2: %s %s is not an HL7 date/time", trigger, what)
	}
	return d, nil
}

// validNHSNumber reports whether s is ten digits with a correct modulus 11
// check digit.
func validNHSNumber(s string) bool {
	if len(s) != 10 || !allDigits(s) {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(s[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}
