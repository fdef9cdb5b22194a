package fhir

import (
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
)

// The mappings to record rows, one per resource type Wholecare stores.
// Each fills it from r, or says why not.

func (m *mapper) condition(r *Resource, prov record.Provenance, it *ingest.Item) error {
	root := r.Root()
	switch codeIn(root.Member("verificationStatus"), CSConditionVerStatus) {
	case "entered-in-error", "refuted":
		return notStored(r, "verification status entered-in-error or refuted")
	}
	c := record.Condition{Provenance: prov}
	var err error
	if c.Code, err = codeOf(r, root.Member("code"), "code"); err != nil {
		return err
	}
	if c.Onset, _, err = startOf(r, "onset"); err != nil {
		return err
	}
	typ, _ := root.Choice("abatement")
	switch typ {
	case "DateTime":
		c.Abatement, err = dateOf(r, root, "abatementDateTime")
	case "Period":
		var s, e time.Time
		s, e, err = startOf(r, "abatement")
		c.Abatement = e
		if e.IsZero() {
			c.Abatement = s
		}
	}
	if err != nil {
		return err
	}
	switch codeIn(root.Member("clinicalStatus"), "") {
	case "active", "recurrence", "relapse":
		c.Status = record.ConditionActive
	case "inactive":
		c.Status = record.ConditionInactive
	case "remission", "resolved":
		c.Status = record.ConditionResolved
	}
	it.Rows.Conditions = append(it.Rows.Conditions, c)
	return nil
}

// Blood pressure component codes: a panel with these components becomes
// one observation per component.
var (
	systolicCodes  = map[string]bool{"8480-6": true, "271649006": true, "72313002": true, "163030003": true, "314438006": true, "413606001": true}
	diastolicCodes = map[string]bool{"8462-4": true, "271650006": true, "1091811000000102": true, "163031004": true, "314439003": true, "413605002": true}
)

func (m *mapper) observation(r *Resource, prov record.Provenance, it *ingest.Item) error {
	root := r.Root()
	switch root.Member("status").Str() {
	case "registered", "cancelled", "entered-in-error":
		return notStored(r, "status registered, cancelled or entered-in-error: no result")
	}
	code, err := codeOf(r, root.Member("code"), "code")
	if err != nil {
		return err
	}
	effective, _, err := startOf(r, "effective")
	if err != nil {
		return err
	}
	if effective.IsZero() {
		if effective, err = dateOf(r, root, "issued"); err != nil {
			return err
		}
	}
	if effective.IsZero() {
		return fail(r, "effective[x]", "missing (a stored observation needs its time)")
	}
	for i, comp := range root.Member("component").Items() {
		cc := pickCoding(comp.Member("code"))
		suffix := ""
		switch {
		case systolicCodes[cc.Code]:
			suffix = "#systolic"
		case diastolicCodes[cc.Code]:
			suffix = "#diastolic"
		default:
			continue
		}
		o := record.Observation{Code: cc, Effective: effective, Provenance: prov}
		o.SourceRef += suffix
		if err := observationValue(r, comp, "component["+strconv.Itoa(i)+"].", &o); err != nil {
			return err
		}
		if o.Value != nil {
			it.Rows.Observations = append(it.Rows.Observations, o)
		}
	}
	if len(it.Rows.Observations) > 0 {
		return nil
	}
	o := record.Observation{Code: code, Effective: effective, Provenance: prov}
	if err := observationValue(r, root, "", &o); err != nil {
		return err
	}
	it.Rows.Observations = append(it.Rows.Observations, o)
	return nil
}

// observationValue reads value[x] of an Observation or a component: a
// Quantity (its UCUM code as the unit, else its unit text) or integer as
// Value, a CodeableConcept as ValueCode. Other value types are not kept.
func observationValue(r *Resource, v Value, path string, o *record.Observation) error {
	typ, val := v.Choice("value")
	switch typ {
	case "Quantity":
		if d, ok := val.Member("value").Decimal(); ok {
			f, err := d.Float64()
			if err != nil {
				return fail(r, path+"valueQuantity.value", "out of range")
			}
			o.Value = &f
		}
		o.Unit = val.Member("unit").Str()
		if val.Member("system").Str() == SystemUCUM && val.Member("code").Str() != "" {
			o.Unit = val.Member("code").Str()
		}
	case "Integer":
		if n, ok := val.Int(); ok {
			f := float64(n)
			o.Value = &f
		}
	case "CodeableConcept":
		o.ValueCode = pickCoding(val)
	}
	return nil
}

func (m *mapper) encounter(r *Resource, prov record.Provenance, it *ingest.Item) error {
	root := r.Root()
	switch root.Member("status").Str() {
	case "entered-in-error", "cancelled":
		it.Cancel = &ingest.Cancel{Table: "encounters", SourceRef: prov.SourceRef}
		return nil
	case "planned":
		return notStored(r, "status planned")
	}
	e := record.Encounter{Provenance: prov}
	var err error
	if e.Start, err = dateOf(r, root, "period.start"); err != nil {
		return err
	}
	if e.End, err = dateOf(r, root, "period.end"); err != nil {
		return err
	}
	if e.Start.IsZero() {
		return fail(r, "period.start", "missing (a stored encounter needs its start)")
	}
	if e.Class, err = encounterClass(r); err != nil {
		return err
	}
	e.OrgID = m.orgCode(root.Member("serviceProvider"))
	for _, rc := range root.Member("reasonCode").Items() {
		if c := pickCoding(rc); c.Code != "" || c.Display != "" {
			e.Diagnosis = c
			break
		}
	}
	if e.Class.Admission() {
		e.Discharge = discharge(root.Get("hospitalization.dischargeDisposition"))
	}
	it.Rows.Encounters = append(it.Rows.Encounters, e)
	return nil
}

// encounterClass finds the Wholecare setting: Wholecare's own class in
// type when the export wrote it; else from the v3 ActCode class. AMB and VR
// are primary care (the record has no finer ambulatory setting to take from
// a v3 code: an outpatient clinic sent as AMB is read as primary care), HH
// and FLD community, EMER and OBSENC A&E, PRENC outpatient. IMP, ACUTE,
// NONAC and SS are admissions: emergency when the priority is
// emergency-like (EM, UR, S, A), the UK Core admission method is an
// emergency one (2x), or the admit source is the emergency department;
// else elective.
func encounterClass(r *Resource) (record.EncounterClass, error) {
	root := r.Root()
	for _, t := range root.Member("type").Items() {
		if c := record.EncounterClass(codeIn(t, CSEncounterClass)); c.Valid() {
			return c, nil
		}
	}
	class := root.Member("class")
	if sys := class.Member("system").Str(); sys != "" && sys != CSActCode {
		return "", fail(r, "class.system", "not the v3 ActCode system")
	}
	switch class.Member("code").Str() {
	case "AMB", "VR":
		return record.PrimaryCare, nil
	case "HH", "FLD":
		return record.Community, nil
	case "EMER", "OBSENC":
		return record.AE, nil
	case "PRENC":
		return record.Outpatient, nil
	case "IMP", "ACUTE", "NONAC", "SS":
		if emergencyAdmission(root) {
			return record.EmergencyAdmission, nil
		}
		return record.ElectiveAdmission, nil
	case "":
		return "", fail(r, "class.code", "missing")
	}
	return "", fail(r, "class.code", "not a class Wholecare maps to a setting")
}

func emergencyAdmission(root Value) bool {
	switch codeIn(root.Member("priority"), CSActPriority) {
	case "EM", "UR", "S", "A":
		return true
	}
	for _, ext := range root.Get("hospitalization.extension").Items() {
		if ext.Member("url").Str() == ExtAdmissionMethod && strings.HasPrefix(codeIn(ext.Member("valueCodeableConcept"), CSAdmissionMethod), "2") {
			return true
		}
	}
	return codeIn(root.Get("hospitalization.admitSource"), CSAdmitSource) == "emd"
}

// discharge maps a discharge disposition (HL7 or the UK Core discharge
// destination) to the record's destination; a concept with text only keeps
// its text, as the export writes an unknown destination.
func discharge(cc Value) string {
	if !cc.Exists() {
		return ""
	}
	switch codeIn(cc, CSDischargeDisp) {
	case "home":
		return "home"
	case "long", "snf":
		return "care_home"
	case "exp":
		return "died"
	case "other-hcf", "hosp", "psy", "rehab":
		return "transfer"
	case "":
	default:
		return "other"
	}
	switch c := codeIn(cc, CSDischargeDestination); c {
	case "19", "29":
		return "home"
	case "54", "65", "85":
		return "care_home"
	case "79":
		return "died"
	case "30", "48", "49", "50", "51", "52", "53", "84", "87", "88":
		return "transfer"
	case "98":
		return ""
	case "":
	default:
		return "other"
	}
	if codeIn(cc, "") != "" {
		return "other"
	}
	return cc.Member("text").Str()
}

func (m *mapper) medication(r *Resource, prov record.Provenance, it *ingest.Item) error {
	root := r.Root()
	med := record.Medication{Provenance: prov}
	status := root.Member("status").Str()
	switch status {
	case "active", "on-hold", "draft", "intended":
		med.Status = record.MedicationActive
	case "completed":
		med.Status = record.MedicationCompleted
	case "stopped", "cancelled":
		med.Status = record.MedicationStopped
	case "entered-in-error":
		return notStored(r, "status entered-in-error")
	case "not-taken":
		return notStored(r, "status not-taken")
	}
	var err error
	if med.Code, err = m.medicationCode(r); err != nil {
		return err
	}
	if r.Type() == TypeMedicationRequest {
		if med.Start, err = dateOf(r, root, "authoredOn"); err != nil {
			return err
		}
		vstart, err := dateOf(r, root, "dispenseRequest.validityPeriod.start")
		if err != nil {
			return err
		}
		if med.End, err = dateOf(r, root, "dispenseRequest.validityPeriod.end"); err != nil {
			return err
		}
		if med.Start.IsZero() {
			med.Start = vstart
		}
	} else {
		if med.Start, med.End, err = startOf(r, "effective"); err != nil {
			return err
		}
		if med.Start.IsZero() {
			if med.Start, err = dateOf(r, root, "dateAsserted"); err != nil {
				return err
			}
		}
	}
	it.Rows.Medications = append(it.Rows.Medications, med)
	return nil
}

// medicationCode reads medication[x]: the concept, or the code of the
// Medication a reference names (contained, "#id", or a bundle entry).
func (m *mapper) medicationCode(r *Resource) (record.Coding, error) {
	root := r.Root()
	typ, v := root.Choice("medication")
	switch typ {
	case "CodeableConcept":
		return codeOf(r, v, "medicationCodeableConcept")
	case "Reference":
		ref := v.Member("reference").Str()
		var target *Resource
		if id, ok := strings.CutPrefix(ref, "#"); ok {
			for _, c := range root.Member("contained").Items() {
				if res := c.Resource(); res != nil && res.ID() == id {
					target = res
				}
			}
		} else {
			target = m.refs[ref]
		}
		if target == nil || target.Type() != "Medication" {
			return record.Coding{}, fail(r, "medicationReference.reference", "does not resolve to a contained or bundled Medication")
		}
		return codeOf(r, target.Root().Member("code"), "medicationReference(Medication).code")
	}
	return record.Coding{}, fail(r, "medication[x]", "missing")
}

func (m *mapper) immunization(r *Resource, prov record.Provenance, it *ingest.Item) error {
	root := r.Root()
	im := record.Immunisation{Provenance: prov}
	switch root.Member("status").Str() {
	case "entered-in-error":
		return notStored(r, "status entered-in-error")
	case "not-done":
		im.NotGiven = true
	}
	var err error
	if im.Code, err = codeOf(r, root.Member("vaccineCode"), "vaccineCode"); err != nil {
		return err
	}
	if im.Date, _, err = startOf(r, "occurrence"); err != nil {
		return err
	}
	if im.Date.IsZero() {
		return fail(r, "occurrence[x]", "no date (occurrenceDateTime is needed to store an immunisation)")
	}
	it.Rows.Immunisations = append(it.Rows.Immunisations, im)
	return nil
}

func (m *mapper) procedure(r *Resource, prov record.Provenance, it *ingest.Item) error {
	root := r.Root()
	switch root.Member("status").Str() {
	case "not-done", "entered-in-error", "preparation":
		return notStored(r, "status not-done, entered-in-error or preparation")
	}
	p := record.Procedure{Provenance: prov}
	var err error
	if p.Code, err = codeOf(r, root.Member("code"), "code"); err != nil {
		return err
	}
	if p.Date, _, err = startOf(r, "performed"); err != nil {
		return err
	}
	if p.Date.IsZero() {
		return fail(r, "performed[x]", "no date (performedDateTime or performedPeriod is needed to store a procedure)")
	}
	it.Rows.Procedures = append(it.Rows.Procedures, p)
	return nil
}
