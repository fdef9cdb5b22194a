package fhir

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// The import mapping: decoded resources to ingest items. It inverts the
// export mapping (map_*.go), so that what Wholecare exports imports back to
// the same rows, and reads the shapes UK Core and Synthea send.
//
// Subject is the source's id for the Patient: the Patient's own id, or the
// id in a subject/patient reference ("Patient/123", or an absolute URL
// ending in Patient/123). Inside a bundle a reference is first looked up
// among the entries' fullUrls ("urn:uuid:..."), and resolves to that
// Patient entry's id, or, when the entry has no id, to the id part of its
// fullUrl (the uuid of a urn:uuid:); the Patient entry's own item uses the
// same rule, so the two meet. A resource without an id takes its fullUrl's
// id part in the same way.

// ErrNotStored marks a resource that decodes but that Wholecare does not
// store: a type it does not keep yet (Organization, Practitioner,
// AllergyIntolerance, CarePlan, ...; Organization and Practitioner belong
// to the directory, which has its own load path), or a record that says
// nothing happened (a procedure not done, an observation cancelled or
// entered in error). Errors wrapping it have kind apperr.Invalid; an
// importer counts them as skipped, not failed: errors.Is(err,
// ErrNotStored).
var ErrNotStored = errors.New("not stored")

// notStoredError says which resource was not stored, and why.
type notStoredError struct{ typ, why string }

func (e *notStoredError) Error() string        { return e.typ + ": not stored (" + e.why + ")" }
func (e *notStoredError) Is(target error) bool { return target == ErrNotStored }

// ToItem maps a resource to what it says about one person. References
// between resources are resolved as described above, without a bundle.
// Errors have kind apperr.Invalid and name the element path; resources not
// stored give an error wrapping ErrNotStored.
func ToItem(r *Resource, source string, received time.Time) (ingest.Item, error) {
	m := mapper{source: source, received: received}
	return m.item(r, "")
}

// Items maps every entry of the bundle in order, resolving references
// between entries by fullUrl. Entries that failed to decode, cannot be
// mapped or are not stored give errors, in entry order; entries with no
// resource (a DELETE) give nothing.
func (b *Bundle) Items(source string, received time.Time) (items []ingest.Item, errs []error) {
	m := mapper{source: source, received: received, refs: make(map[string]*Resource)}
	for _, e := range b.Entries {
		if e.Resource != nil && e.FullURL != "" {
			m.refs[e.FullURL] = e.Resource
		}
	}
	for _, e := range b.Entries {
		switch {
		case e.Err != nil:
			errs = append(errs, e.Err)
		case e.Resource != nil:
			it, err := m.item(e.Resource, e.FullURL)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			items = append(items, it)
		}
	}
	return items, errs
}

const typeMedicationStatement = "MedicationStatement"

type mapper struct {
	source   string
	received time.Time
	refs     map[string]*Resource // a bundle's entries by fullUrl; nil outside one
}

// fail makes a mapping error for the element at path (below the resource).
func fail(r *Resource, path, msg string) error {
	return &apperr.Error{Kind: apperr.Invalid, Msg: r.Pos(), Err: &ElementError{Path: r.Type() + "." + path, Msg: msg}}
}

func notStored(r *Resource, why string) error {
	return &apperr.Error{Kind: apperr.Invalid, Msg: r.Pos(), Err: &notStoredError{r.Type(), why}}
}

func (m *mapper) item(r *Resource, fullURL string) (ingest.Item, error) {
	it := ingest.Item{Source: m.source, At: r.Pos()}
	switch r.Type() {
	case TypePatient:
		return m.patient(r, fullURL)
	case TypeCondition, TypeObservation, TypeEncounter, TypeMedicationRequest, typeMedicationStatement, TypeImmunization, TypeProcedure:
	default:
		return it, notStored(r, "Wholecare does not keep this type yet")
	}
	id := r.ID()
	if id == "" {
		id = idFromURL(fullURL)
	}
	if id == "" {
		return it, fail(r, "id", "missing (the resource's id is what recognises it when it is sent again)")
	}
	prov := record.Provenance{Source: m.source, SourceRef: id, ReceivedAt: m.received}
	subjectElem := "subject"
	if r.Type() == TypeImmunization {
		subjectElem = "patient"
	}
	subject, err := m.patientRef(r, subjectElem)
	if err != nil {
		return it, err
	}
	it.Subject = subject
	switch r.Type() {
	case TypeCondition:
		err = m.condition(r, prov, &it)
	case TypeObservation:
		err = m.observation(r, prov, &it)
	case TypeEncounter:
		err = m.encounter(r, prov, &it)
	case TypeMedicationRequest, typeMedicationStatement:
		err = m.medication(r, prov, &it)
	case TypeImmunization:
		err = m.immunization(r, prov, &it)
	case TypeProcedure:
		err = m.procedure(r, prov, &it)
	}
	return it, err
}

// patient maps a Patient to the person's demographics.
func (m *mapper) patient(r *Resource, fullURL string) (ingest.Item, error) {
	it := ingest.Item{Source: m.source, At: r.Pos()}
	it.Subject = r.ID()
	if it.Subject == "" {
		it.Subject = idFromURL(fullURL)
	}
	if it.Subject == "" {
		return it, fail(r, "id", "missing (a Patient's id is the source's id for the person)")
	}
	p := registry.Person{Source: m.source, ReceivedAt: m.received, NHSNumberStatus: registry.NHSAbsent}
	root := r.Root()

	for _, id := range root.Member("identifier").Items() {
		system := id.Member("system").Str()
		if system == SystemNHSNumber {
			p.NHSNumber = registry.NormaliseNHSNumber(id.Member("value").Str())
			p.NHSNumberStatus = nhsStatus(id)
			break
		}
		if system == SystemInvalidNHSNumber && p.NHSNumber == "" {
			p.NHSNumber, p.NHSNumberStatus = id.Member("value").Str(), registry.NHSInvalid
		}
	}
	switch {
	case p.NHSNumber == "":
		p.NHSNumberStatus = registry.NHSAbsent
	case !registry.ValidNHSNumber(p.NHSNumber):
		p.NHSNumberStatus = registry.NHSInvalid
	}

	if n := pickName(root.Member("name")); n.Exists() {
		p.FamilyName = n.Member("family").Str()
		var given []string
		for _, g := range n.Member("given").Items() {
			if s := g.Str(); s != "" {
				given = append(given, s)
			}
		}
		p.GivenName = strings.Join(given, " ")
	}
	if s := registry.Sex(root.Member("gender").Str()); s.Valid() {
		p.Sex = s
	}
	var err error
	if p.BirthDate, err = dateOf(r, root, "birthDate"); err != nil {
		return it, err
	}
	// deceasedBoolean true says the person died but not when; the registry
	// keeps only a date of death, so it is not kept.
	if p.DateOfDeath, err = dateOf(r, root, "deceasedDateTime"); err != nil {
		return it, err
	}
	p.Postcode = pickPostcode(root.Member("address"))
	for _, gp := range root.Member("generalPractitioner").Items() {
		if ods := m.orgCode(gp); ods != "" {
			p.PracticeID = ods
			break
		}
	}
	for _, ext := range root.Member("extension").Items() {
		switch ext.Member("url").Str() {
		case ExtEthnicCategory:
			for _, c := range ext.Get("valueCodeableConcept.coding").Items() {
				if c.Member("system").Str() == CSEthnicCategory {
					p.Ethnicity = c.Member("code").Str()
				}
			}
		case ExtIMDDecile:
			if n, ok := ext.Member("valueInteger").Int(); ok && n >= 1 && n <= 10 {
				p.IMDDecile = int(n)
			}
		}
	}
	it.Person = &p
	return it, nil
}

// nhsStatus reads the UK Core verification status of an NHS number
// identifier: 01 is verified; any other code, or none, says the number is
// present but not verified.
func nhsStatus(id Value) registry.NHSNumberStatus {
	for _, ext := range id.Member("extension").Items() {
		if ext.Member("url").Str() != ExtNHSNumberVerificationStatus {
			continue
		}
		for _, c := range ext.Get("valueCodeableConcept.coding").Items() {
			if c.Member("system").Str() == CSNHSNumberVerificationStatus && c.Member("code").Str() == "01" {
				return registry.NHSVerified
			}
		}
	}
	return registry.NHSUnverified
}

// pickName prefers the official name, then the usual one, then the first
// that is not old.
func pickName(names Value) Value {
	var usual, other Value
	for _, n := range names.Items() {
		switch n.Member("use").Str() {
		case "official":
			return n
		case "usual":
			if !usual.Exists() {
				usual = n
			}
		case "old", "anonymous":
		default:
			if !other.Exists() {
				other = n
			}
		}
	}
	if usual.Exists() {
		return usual
	}
	return other
}

// pickPostcode takes the home address's postcode, else the first current
// address's.
func pickPostcode(addrs Value) string {
	first := ""
	for _, a := range addrs.Items() {
		pc := a.Member("postalCode").Str()
		use := a.Member("use").Str()
		if pc == "" || use == "old" {
			continue
		}
		if use == "home" {
			return pc
		}
		if first == "" {
			first = pc
		}
	}
	return first
}

// patientRef resolves the Reference in element elem to the Patient's id.
func (m *mapper) patientRef(r *Resource, elem string) (string, error) {
	ref := r.Root().Member(elem)
	if !ref.Exists() {
		return "", fail(r, elem, "missing (every stored row belongs to a Patient)")
	}
	s := ref.Member("reference").Str()
	if s == "" {
		return "", fail(r, elem+".reference", "missing (the Patient must be referenced by id)")
	}
	if target, ok := m.refs[s]; ok {
		if target.Type() != TypePatient {
			return "", fail(r, elem+".reference", "refers to a "+target.Type()+", not a Patient")
		}
		if id := target.ID(); id != "" {
			return id, nil
		}
		return idFromURL(s), nil
	}
	typ, id, ok := literalRef(s)
	switch {
	case !ok:
		return "", fail(r, elem+".reference", "cannot be resolved to a Patient id")
	case typ != TypePatient:
		return "", fail(r, elem+".reference", "refers to a "+typ+", not a Patient")
	}
	return id, nil
}

// literalRef splits a literal reference, relative ("Patient/123") or
// absolute ("https://x/fhir/Patient/123/_history/2"), into type and id.
func literalRef(s string) (typ, id string, ok bool) {
	if i := strings.Index(s, "/_history/"); i >= 0 {
		s = s[:i]
	}
	if strings.ContainsAny(s, "?#") {
		return "", "", false
	}
	j := strings.LastIndexByte(s, '/')
	if j <= 0 {
		return "", "", false
	}
	id, rest := s[j+1:], s[:j]
	typ = rest[strings.LastIndexByte(rest, '/')+1:]
	if !validID(id) || typ == "" || typ[0] < 'A' || typ[0] > 'Z' {
		return "", "", false
	}
	return typ, id, true
}

// idFromURL is the id part of a fullUrl: the uuid of urn:uuid:..., the id
// of a literal reference URL; "" otherwise.
func idFromURL(u string) string {
	if s, ok := strings.CutPrefix(u, "urn:uuid:"); ok && validID(s) {
		return s
	}
	if _, id, ok := literalRef(u); ok {
		return id
	}
	return ""
}

// orgCode finds the ODS code of the organisation a Reference names: from
// its identifier, from a conditional reference on the ODS system, from an
// Organization entry of the same bundle, or from a literal reference whose
// id is shaped like an ODS code (Wholecare's export uses ODS codes as
// Organization ids). "" when none says it.
func (m *mapper) orgCode(ref Value) string {
	if ref.Get("identifier.system").Str() == SystemODSOrgCode {
		if v := ref.Get("identifier.value").Str(); v != "" {
			return v
		}
	}
	s := ref.Member("reference").Str()
	if s == "" {
		return ""
	}
	if q, ok := strings.CutPrefix(s, TypeOrganization+"?identifier="); ok {
		if q, err := url.QueryUnescape(q); err == nil {
			if sys, val, ok := strings.Cut(q, "|"); ok && sys == SystemODSOrgCode {
				return val
			}
		}
		return ""
	}
	if target, ok := m.refs[s]; ok {
		if target.Type() != TypeOrganization {
			return ""
		}
		for _, id := range target.Root().Member("identifier").Items() {
			if id.Member("system").Str() == SystemODSOrgCode {
				return id.Member("value").Str()
			}
		}
		return ""
	}
	if typ, id, ok := literalRef(s); ok && typ == TypeOrganization && orgIdentifierSystem(id) == SystemODSOrgCode {
		return id
	}
	return ""
}

// pickCoding chooses the one code a row keeps from a CodeableConcept: the
// first coding in the most preferred known system (SNOMED CT, ICD-10,
// OPCS-4, dm+d, LOINC, RxNorm, CVX), then a Wholecare local code, else the
// first coding with a code, as a local code (its system is not kept). A
// concept with text only gives its text as the display.
func pickCoding(cc Value) record.Coding {
	best, bestRank := record.Coding{}, 1000
	var first record.Coding
	for _, c := range cc.Member("coding").Items() {
		code := c.Member("code").Str()
		if code == "" {
			continue
		}
		sys := c.Member("system").Str()
		got := record.Coding{Code: code, Display: c.Member("display").Str()}
		if first.Code == "" {
			first = got
			first.System = record.Local
		}
		tok, rank := systemRank(sys)
		if rank < bestRank {
			got.System = tok
			best, bestRank = got, rank
		}
	}
	switch {
	case best.Code != "":
		return best
	case first.Code != "":
		return first
	}
	return record.Coding{Display: cc.Member("text").Str()}
}

var preferredSystems = []string{record.SNOMED, record.ICD10, record.OPCS4, record.DMD, record.LOINC, record.RxNorm, record.CVX}

// systemRank gives a system's token and its place in the preference order;
// rank 1000 means unknown.
func systemRank(uri string) (string, int) {
	if uri == CSLocalCode {
		return record.Local, len(preferredSystems)
	}
	if tok, ok := strings.CutPrefix(uri, CSLocalCode+"/"); ok {
		if t, err := url.PathUnescape(tok); err == nil {
			return t, len(preferredSystems)
		}
	}
	tok, ok := codes.SystemToken(uri)
	if !ok {
		return "", 1000
	}
	for i, s := range preferredSystems {
		if s == tok {
			return tok, i
		}
	}
	return tok, len(preferredSystems)
}

// codeOf is the row's code from the CodeableConcept at path; it is an
// error when the concept has no code at all.
func codeOf(r *Resource, v Value, path string) (record.Coding, error) {
	c := pickCoding(v)
	if c.Code == "" {
		return c, fail(r, path, "no coding with a code (a stored row needs one)")
	}
	return c, nil
}

// parseTime reads a FHIR date, dateTime or instant (already lexically
// valid) as a time in UTC. A partial date stands for its first day. ok is
// false when it names no real time (30 February, a leap second).
func parseTime(s string) (time.Time, bool) {
	var t time.Time
	var err error
	switch len(s) {
	case 4:
		t, err = time.Parse("2006", s)
	case 7:
		t, err = time.Parse("2006-01", s)
	case 10:
		t, err = time.Parse(time.DateOnly, s)
	default:
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	return t.UTC(), err == nil
}

// dateOf reads the date-like element path below v; zero when absent.
func dateOf(r *Resource, v Value, path string) (time.Time, error) {
	s := v.Get(path).Str()
	if s == "" {
		return time.Time{}, nil
	}
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, fail(r, path, "not a real date or time")
	}
	return t, nil
}

// startOf reads a choice element that holds a time or a Period
// (onset[x], effective[x], performed[x], occurrence[x]): the dateTime or
// instant, else the period's start (its end when it has no start).
func startOf(r *Resource, base string) (start, end time.Time, err error) {
	root := r.Root()
	typ, _ := root.Choice(base)
	switch typ {
	case "DateTime", "Instant", "Date":
		start, err = dateOf(r, root, base+typ)
		return start, time.Time{}, err
	case "Period":
		if start, err = dateOf(r, root, base+"Period.start"); err != nil {
			return
		}
		if end, err = dateOf(r, root, base+"Period.end"); err != nil {
			return
		}
		if start.IsZero() {
			start = end
		}
	}
	return start, end, nil
}

func codeIn(cc Value, system string) string {
	for _, c := range cc.Member("coding").Items() {
		if system == "" || c.Member("system").Str() == system {
			if code := c.Member("code").Str(); code != "" {
				return code
			}
		}
	}
	return ""
}

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
