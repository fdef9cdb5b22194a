package rest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/registry"
)

// paramType is a FHIR search parameter type, as the CapabilityStatement
// names it.
type paramType string

const (
	tokenParam     paramType = "token"
	dateParam      paramType = "date"
	stringParam    paramType = "string"
	referenceParam paramType = "reference"
)

// paramDef is one search parameter of one resource type.
type paramDef struct {
	name string
	typ  paramType
	doc  string
	// filters turns one value (one of a comma-separated list) into the
	// filters any of which it matches; none means it matches nothing.
	// Reference parameters have none: they name people (see refPeople).
	filters func(v string) ([]query.Filter, error)
}

// typeDef is what the API offers on one resource type.
type typeDef struct {
	typ      string
	params   []paramDef
	includes []string // _include values, "Condition:patient"
	// keyset: the search pages newest first with _before (a position in
	// the results) instead of _offset, and gives no total (AuditEvent).
	keyset bool
}

func (t *typeDef) param(name string) *paramDef {
	for i := range t.params {
		if t.params[i].name == name {
			return &t.params[i]
		}
	}
	return nil
}

// readTypes lists the types of the record the API reads and searches (and
// that transactions write), in the order the CapabilityStatement gives them.
var readTypes = []string{
	fhir.TypePatient, fhir.TypeCondition, fhir.TypeObservation, fhir.TypeEncounter,
	fhir.TypeMedicationRequest, fhir.TypeImmunization, fhir.TypeProcedure,
}

// trustTypes are the types about the record the API reads and searches,
// never writes: the person's consent records and the audit log. The
// CapabilityStatement lists them after readTypes.
var trustTypes = []string{fhir.TypeConsent, fhir.TypeAuditEvent}

// derivedTypes are what Wholecare works out from the record, read and
// searched when the handler is given their stores: stored risk scores and
// saved cohorts. The CapabilityStatement lists them last.
var derivedTypes = []string{fhir.TypeRiskAssessment, fhir.TypeGroup}

// Fields of the AuditEvent search that no store sees: searchAudit turns
// them, with query.Date, into an audit.Filter.
const (
	fieldAgent  query.Field = 200 + iota // Value: a user's sign-in name
	fieldAction                          // Value: a Wholecare audit action
)

// typeDefs builds the search parameters of every type.
func typeDefs() map[string]*typeDef {
	ref := func(name string) paramDef {
		return paramDef{name: name, typ: referenceParam, doc: "The Patient: p123, Patient/p123 or a URL ending in Patient/p123"}
	}
	code := func(name, doc string) paramDef {
		return paramDef{name: name, typ: tokenParam, doc: doc + " (system|code, code, |code or system|)", filters: codeFilters}
	}
	date := func(name, doc string) paramDef {
		field := query.Date
		if name == "birthdate" {
			field = query.BirthDate
		}
		return paramDef{name: name, typ: dateParam, doc: doc + " (eq, ge, gt, le, lt prefixes; YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)",
			filters: func(v string) ([]query.Filter, error) { return dateFilters(field, v) }}
	}
	status := func(name string, system string, codes ...string) paramDef {
		return paramDef{name: name, typ: tokenParam, doc: "One of " + strings.Join(codes, ", "), filters: func(v string) ([]query.Filter, error) {
			return statusFilters(v, system, codes)
		}}
	}
	clinical := func(typ string, subject bool, params ...paramDef) *typeDef {
		t := &typeDef{typ: typ, params: []paramDef{ref("patient")}, includes: []string{typ + ":patient"}}
		if subject {
			t.params = append(t.params, ref("subject"))
			t.includes = append(t.includes, typ+":subject")
		}
		t.params = append(t.params, params...)
		return t
	}
	defs := []*typeDef{
		{typ: fhir.TypePatient, params: []paramDef{
			{name: "identifier", typ: tokenParam, doc: "An NHS number (https://fhir.nhs.uk/Id/nhs-number|...) or a source system's id", filters: identifierFilters},
			{name: "name", typ: stringParam, doc: "Start of a given or the family name, ignoring case", filters: stringFilters(query.Name)},
			{name: "family", typ: stringParam, doc: "Start of the family name, ignoring case", filters: stringFilters(query.Family)},
			{name: "given", typ: stringParam, doc: "Start of a given name, ignoring case", filters: stringFilters(query.Given)},
			date("birthdate", "Date of birth"),
			status("gender", "http://hl7.org/fhir/administrative-gender", "female", "male", "other", "unknown"),
		}},
		clinical(fhir.TypeCondition, true,
			code("code", "The condition's code"),
			status("clinical-status", fhir.CSConditionClinical, "active", "inactive", "resolved"),
			date("onset-date", "Onset date")),
		clinical(fhir.TypeObservation, true,
			code("code", "The observation's code"),
			date("date", "When the observation was made"),
			paramDef{name: "category", typ: tokenParam, doc: "vital-signs, laboratory, survey, social-history or exam", filters: categoryFilters}),
		clinical(fhir.TypeEncounter, true,
			paramDef{name: "class", typ: tokenParam, doc: "AMB, EMER or IMP (v3 ActCode)", filters: classFilters},
			date("date", "A date within the encounter's period"),
			status("status", "", "in-progress", "finished")),
		clinical(fhir.TypeMedicationRequest, true,
			code("code", "The medicine's code"),
			date("authoredon", "When the course started"),
			status("status", "", "active", "completed", "stopped", "unknown")),
		clinical(fhir.TypeImmunization, false,
			code("vaccine-code", "The vaccine's code"),
			date("date", "When the vaccine was given"),
			status("status", "", "completed", "not-done")),
		clinical(fhir.TypeProcedure, true,
			code("code", "The procedure's code"),
			date("date", "When the procedure was performed")),
		{typ: fhir.TypeConsent, params: []paramDef{
			{name: "patient", typ: referenceParam, doc: "The Patient, required: p123, Patient/p123 or a URL ending in Patient/p123"},
			status("status", fhir.CSConsentState, "active", "inactive"),
		}},
		{typ: fhir.TypeAuditEvent, keyset: true, params: []paramDef{
			{name: "patient", typ: referenceParam, doc: "The Patient the entries are about: p123, Patient/p123 or a URL ending in Patient/p123 (one only; without it, only a privacy officer may search)"},
			{name: "date", typ: dateParam, doc: "When the entry was recorded (eq, ge, gt, le, lt prefixes; YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)",
				filters: func(v string) ([]query.Filter, error) { return dateFilters(query.Date, v) }},
			{name: "agent", typ: stringParam, doc: "The sign-in name of the user who acted, exactly (agent.who.display)", filters: agentFilters},
			{name: "action", typ: tokenParam, doc: "The Wholecare action (read, search, create, update, export, sign-in, break-glass, consent, …; the subtype in " + fhir.CSAuditAction + "), not R4's C/R/U/D/E", filters: actionFilters},
		}},
	}
	out := make(map[string]*typeDef, len(defs))
	for _, d := range defs {
		out[d.typ] = d
	}
	return out
}

// splitEscaped splits s on sep where it is not escaped with a backslash,
// and unescapes \, \| \$ and \\ in the parts (FHIR search escaping).
func splitEscaped(s string, sep byte) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] != ',' && s[i] != '|' && s[i] != '$' && s[i] != '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		case c == sep:
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(parts, b.String())
}

// token is a parsed token value: system|code. hasSystem is false for a
// bare code; system is "" for |code.
type token struct {
	system, code string
	hasSystem    bool
}

func parseToken(v string) token {
	parts := splitEscaped(v, '|')
	if len(parts) == 1 {
		return token{code: parts[0]}
	}
	return token{system: parts[0], code: strings.Join(parts[1:], "|"), hasSystem: true}
}

func invalidValue(param, why string) error {
	return apperr.Ef(apperr.Invalid, "search parameter %s: %s", param, why)
}

func codeFilters(v string) ([]query.Filter, error) {
	t := parseToken(v)
	switch {
	case !t.hasSystem && t.code == "":
		return nil, invalidValue("code", "empty value")
	case !t.hasSystem:
		return []query.Filter{{Field: query.Code, AnySystem: true, Value: t.code}}, nil
	case t.system == "" && t.code == "":
		return nil, invalidValue("code", "neither system nor code")
	case t.system == "":
		return []query.Filter{{Field: query.Code, System: "", Value: t.code}}, nil
	}
	var fs []query.Filter
	for _, tok := range fhir.CodeSystemTokens(t.system) {
		fs = append(fs, query.Filter{Field: query.Code, System: tok, Value: t.code})
	}
	return fs, nil
}

func identifierFilters(v string) ([]query.Filter, error) {
	t := parseToken(v)
	if t.code == "" {
		// system| (any identifier in a system) is not offered: it would
		// list a whole source's people.
		return nil, invalidValue("identifier", "needs a value (system|value or value)")
	}
	switch {
	case !t.hasSystem:
		return []query.Filter{{Field: query.Identifier, AnySystem: true, Value: registry.NormaliseNHSNumber(t.code)}}, nil
	case t.system == fhir.SystemNHSNumber:
		return []query.Filter{{Field: query.Identifier, System: query.IdentifierNHS, Value: registry.NormaliseNHSNumber(t.code)}}, nil
	case t.system == fhir.SystemInvalidNHSNumber:
		return []query.Filter{{Field: query.Identifier, System: query.IdentifierInvalidNHS, Value: t.code}}, nil
	}
	if src, ok := fhir.SourceFromURI(t.system); ok {
		return []query.Filter{{Field: query.Identifier, System: src, Value: t.code}}, nil
	}
	return nil, nil // a system Wholecare keeps no identifiers in
}

func stringFilters(f query.Field) func(v string) ([]query.Filter, error) {
	return func(v string) ([]query.Filter, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, invalidValue("name", "empty value")
		}
		return []query.Filter{{Field: f, Value: v}}, nil
	}
}

// statusFilters accepts code, |code or system|code for a code of codes.
func statusFilters(v, system string, codes []string) ([]query.Filter, error) {
	t := parseToken(v)
	if t.hasSystem && t.system != "" && t.system != system {
		return nil, nil
	}
	if !slices.Contains(codes, t.code) {
		return nil, apperr.Ef(apperr.Invalid, "search value must be one of %s", strings.Join(codes, ", "))
	}
	if system == "http://hl7.org/fhir/administrative-gender" {
		return []query.Filter{{Field: query.Gender, Value: t.code}}, nil
	}
	return []query.Filter{{Field: query.Status, Value: t.code}}, nil
}

func agentFilters(v string) ([]query.Filter, error) {
	if v == "" || len(v) > 128 {
		return nil, invalidValue("agent", "give a user's sign-in name")
	}
	return []query.Filter{{Field: fieldAgent, Value: v}}, nil
}

func actionFilters(v string) ([]query.Filter, error) {
	t := parseToken(v)
	if t.hasSystem && t.system != "" && t.system != fhir.CSAuditAction {
		return nil, nil
	}
	ok := t.code != "" && len(t.code) <= 64
	for i := 0; ok && i < len(t.code); i++ {
		c := t.code[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return nil, invalidValue("action", "give a Wholecare action in lower case, such as read, search or sign-in (R4's C/R/U/D/E codes are not searched)")
	}
	return []query.Filter{{Field: fieldAction, Value: t.code}}, nil
}

func categoryFilters(v string) ([]query.Filter, error) {
	t := parseToken(v)
	if t.hasSystem && t.system != fhir.CSObservationCategory {
		return nil, nil
	}
	var fs []query.Filter
	for _, c := range fhir.ObservationCategoryCodes(t.code) {
		fs = append(fs, query.Filter{Field: query.Code, System: c.System, Value: c.Code})
	}
	return fs, nil
}

func classFilters(v string) ([]query.Filter, error) {
	t := parseToken(v)
	if t.hasSystem && t.system != fhir.CSActCode {
		return nil, nil
	}
	var fs []query.Filter
	for _, c := range fhir.EncounterClassesFor(t.code) {
		fs = append(fs, query.Filter{Field: query.Class, Value: string(c)})
	}
	return fs, nil
}

func dateFilters(field query.Field, v string) ([]query.Filter, error) {
	r, err := parseDateRange(v)
	if err != nil {
		return nil, err
	}
	return []query.Filter{{Field: field, Date: r}}, nil
}

// parseDateRange reads a date search value: an optional prefix (eq, ge,
// gt, le, lt) and a date or dateTime of any precision, which stands for
// the range it covers. A dateTime without a zone is taken as UTC.
func parseDateRange(v string) (query.DateRange, error) {
	var r query.DateRange
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		switch v[:2] {
		case "eq":
			r.Prefix = query.Eq
		case "ge":
			r.Prefix = query.Ge
		case "gt":
			r.Prefix = query.Gt
		case "le":
			r.Prefix = query.Le
		case "lt":
			r.Prefix = query.Lt
		default:
			return r, apperr.E(apperr.Invalid, "date search: prefix not supported (use eq, ge, gt, le or lt)")
		}
		v = v[2:]
	}
	layouts := []struct {
		layout string
		step   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if strings.Contains(v, ".") || len(v) != len(l.layout) && !strings.HasSuffix(l.layout, "Z07:00") {
			continue // fractional seconds are read below
		}
		t, err := time.Parse(l.layout, v)
		if err != nil {
			continue
		}
		r.From, r.To = t.UTC(), l.step(t).UTC()
		return r, nil
	}
	// Fractional seconds: the range is one unit of the last digit given.
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		frac := 0
		if i := strings.IndexByte(v, '.'); i >= 0 {
			for j := i + 1; j < len(v) && v[j] >= '0' && v[j] <= '9'; j++ {
				frac++
			}
		}
		unit := time.Second
		for range min(frac, 9) {
			unit /= 10
		}
		r.From, r.To = t.UTC(), t.Add(unit).UTC()
		return r, nil
	}
	return r, apperr.E(apperr.Invalid, "date search: not a date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)")
}

// refPeople reads a reference search value as a Wholecare person id:
// ok false when it names no Patient Wholecare gave an id, an error when
// it names another resource type.
func refPeople(param, v string) (int64, bool, error) {
	id := v
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		id = v[i+1:]
		rest := v[:i]
		typ := rest[strings.LastIndexByte(rest, '/')+1:]
		if typ != fhir.TypePatient {
			return 0, false, invalidValue(param, "only a Patient can be referenced")
		}
	}
	person, _, ok := fhir.ParseResourceID(fhir.TypePatient, id)
	return person, ok, nil
}

// search is a parsed search request.
type search struct {
	typ     string
	clauses []query.Clause
	// people is the intersection of the patient/subject parameters'
	// people, when any was given (hasRef).
	people []int64
	hasRef bool
	// none: some clause can match nothing, so no resource matches.
	none   bool
	count  int
	offset int
	// before is where a keyset page starts: only entries before it (0:
	// from the newest).
	before       int64
	summaryCount bool
	include      string // the _include value in force, "" for none
	used         url.Values
}

// lenient reports whether the client asked for lenient handling of
// unknown parameters (Prefer: handling=lenient); strict is the default.
func lenient(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if k, val, ok := strings.Cut(p, "="); ok && strings.TrimSpace(k) == "handling" && strings.Trim(strings.TrimSpace(val), `"`) == "lenient" {
				return true
			}
		}
	}
	return false
}

// checkFormat refuses a _format or Accept the API cannot answer with.
func checkFormat(r *http.Request, values url.Values) error {
	for _, f := range values["_format"] {
		switch f {
		case "json", "application/json", "application/fhir+json":
		default:
			return &statusError{status: http.StatusNotAcceptable, code: "not-supported", msg: "only JSON is offered (_format=json)"}
		}
	}
	if a := r.Header.Get("Accept"); a != "" && !strings.Contains(a, "json") && !strings.Contains(a, "*/*") {
		return &statusError{status: http.StatusNotAcceptable, code: "not-supported", msg: "only application/fhir+json is offered"}
	}
	return nil
}

// parsePaging reads _count and _offset.
func parsePaging(values url.Values, def int) (count, offset int, err error) {
	count = def
	if v := values.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, invalidValue("_count", "not a whole number ≥ 0")
		}
		count = min(n, MaxCount)
	}
	if v := values.Get("_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, invalidValue("_offset", "not a whole number ≥ 0")
		}
		offset = n
	}
	return count, offset, nil
}

// parseSearch reads a search of td from values. Unknown parameters (and
// modifiers) are refused, or with Prefer: handling=lenient ignored and
// left out of the self link.
func parseSearch(r *http.Request, td *typeDef, values url.Values) (*search, error) {
	if err := checkFormat(r, values); err != nil {
		return nil, err
	}
	return parseSearchValues(td, values, lenient(r))
}

// parseSearchValues reads a search; lax ignores unknown parameters.
func parseSearchValues(td *typeDef, values url.Values, lax bool) (*search, error) {
	s := &search{typ: td.typ, used: url.Values{}}
	var err error
	if s.count, s.offset, err = parsePaging(values, DefaultCount); err != nil {
		return nil, err
	}
	unknown := func(name string) error {
		if lax {
			return nil
		}
		return apperr.Ef(apperr.Invalid, "search parameter %q is not supported on %s (see /metadata; send Prefer: handling=lenient to ignore it)", safeParam(name), td.typ)
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	var refSets [][]int64
	for _, name := range names {
		vals := values[name]
		switch {
		case name == "_count" || name == "_format" || name == "_offset" && !td.keyset:
			continue
		case td.keyset && (name == "_offset" || name == "_summary"):
			s.offset = 0
			if err := unknown(name); err != nil {
				return nil, err
			}
			continue
		case td.keyset && name == "_before":
			for _, v := range vals {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					return nil, invalidValue("_before", "not a whole number > 0 (follow the next link)")
				}
				if s.before == 0 || n < s.before {
					s.before = n
				}
			}
			continue
		}
		switch name {
		case "_summary":
			for _, v := range vals {
				switch v {
				case "count":
					s.summaryCount = true
				case "false":
				default:
					if err := unknown("_summary=" + v); err != nil {
						return nil, err
					}
					continue
				}
				s.used.Add(name, v)
			}
			continue
		case "_include":
			for _, v := range vals {
				inc := strings.TrimSuffix(v, ":"+fhir.TypePatient)
				if !slices.Contains(td.includes, inc) {
					if err := unknown("_include=" + v); err != nil {
						return nil, err
					}
					continue
				}
				s.include = inc
				s.used.Add(name, v)
			}
			continue
		}
		base, modifier, _ := strings.Cut(name, ":")
		p := td.param(base)
		if p == nil || (modifier != "" && !(p.typ == referenceParam && modifier == fhir.TypePatient)) {
			if err := unknown(name); err != nil {
				return nil, err
			}
			continue
		}
		for _, v := range vals {
			alts := splitEscaped(v, ',')
			if p.typ == referenceParam {
				var set []int64
				for _, a := range alts {
					person, ok, err := refPeople(base, a)
					if err != nil {
						return nil, err
					}
					if ok && !slices.Contains(set, person) {
						set = append(set, person)
					}
				}
				if len(set) > maxReferences {
					return nil, invalidValue(base, "names more than "+strconv.Itoa(maxReferences)+" patients")
				}
				refSets = append(refSets, set)
				s.used.Add(name, v)
				continue
			}
			var clause query.Clause
			for _, a := range alts {
				fs, err := p.filters(a)
				if err != nil {
					return nil, apperr.Ef(apperr.Invalid, "search parameter %s: %s", base, apperr.Message(err))
				}
				clause = append(clause, fs...)
			}
			if len(clause) == 0 {
				s.none = true
			}
			s.clauses = append(s.clauses, clause)
			s.used.Add(name, v)
		}
	}
	if len(refSets) > 0 {
		s.hasRef = true
		s.people = refSets[0]
		for _, set := range refSets[1:] {
			s.people = slices.DeleteFunc(s.people, func(id int64) bool { return !slices.Contains(set, id) })
		}
		slices.Sort(s.people)
		if len(s.people) == 0 {
			s.none = true
		}
	}
	return s, nil
}

// safeParam echoes a parameter name only when it is short and plain.
func safeParam(s string) string {
	if len(s) > 80 {
		return "(long name)"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "(unprintable name)"
		}
	}
	return s
}
