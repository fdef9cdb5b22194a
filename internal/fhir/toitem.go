package fhir

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
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

// codeIn is the first code of a CodeableConcept in system (any system when
// system is ""), "" when it has none.
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
