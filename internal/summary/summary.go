// Package summary assembles the person summary: one page of what every
// source knows about a person — demographics with where they came from, the
// registered practice, the care team, active conditions, recent encounters,
// current medicines, the latest key observations and the flags that change
// how the record is read.
//
// A summary is built from a set of person ids, not one: when the registry
// has linked several records as one person, the summary gathers them all
// and deduplicates by clinical concept, so that a diagnosis three providers
// recorded is one row naming three sources.
//
// It lives apart from registry because it reads the clinical record, and
// record already depends on registry. It must never import database, HTTP
// or UI packages, and never logs person data.
package summary

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// KeyObservations are the measurements a summary shows the latest of, in
// the order it shows them. Blood pressure is two concepts. Spirometry is
// the FEV1/FVC ratio: the code lists have no verified code for FEV1 alone.
var KeyObservations = []codes.Concept{
	"obs.systolic_bp", "obs.diastolic_bp", "obs.hba1c", "obs.egfr", "obs.bmi", "obs.weight",
	"obs.fev1_fvc", "obs.peak_flow", "obs.pulse", "obs.spo2", "obs.respiratory_rate", "obs.temperature",
	"obs.total_cholesterol", "obs.ldl_cholesterol",
}

// RecentEncounters is how many encounters a summary lists, newest first.
const RecentEncounters = 10

// MaxPeople bounds the person ids one summary gathers: a linked cluster is
// a handful of records, never a population.
const MaxPeople = 50

// Query is what the store is asked for.
type Query struct {
	People []int64
	// Today decides what is current: conditions not abated, medicines not
	// ended, care team links and memberships not ended before it.
	Today time.Time
	// Encounters is how many of the most recent encounters to return.
	Encounters int
	// Observations are the codes of the key observations; the store returns
	// the latest row of each code among the people.
	Observations []record.Coding
}

// Source is what the store returns for a query, every row belonging to
// one of Query.People.
type Source struct {
	People     []registry.Person
	Identities []registry.SourceIdentity
	TeamLinks  []registry.CareTeamLink // current links only
	Teams      []directory.CareTeam    // the teams TeamLinks name
	Members    []directory.CareTeamMember
	Staff      []directory.Professional // the professionals Members name
	// Organisations are those the other rows name (practices, providers,
	// team organisations) that the directory knows.
	Organisations []directory.Organisation
	Conditions    []record.Condition  // active and not abated
	Encounters    []record.Encounter  // the most recent, newest first
	Medications   []record.Medication // active and not ended
	Observations  []record.Observation
	Consents      []access.Consent
}

// Store reads what a summary needs in a fixed, small number of queries,
// however long the record.
type Store interface {
	SummarySource(ctx context.Context, q Query) (*Source, error)
}

// Service builds summaries.
type Service struct {
	store Store
	set   *codes.Set
	order map[codes.Concept]int // file order, to break ties
	width map[codes.Concept]int // number of codes: fewer is narrower
	key   []record.Coding
}

// NewService returns a service over store, using set to map codes to
// concepts. It fails if a key observation is not a concept of set.
func NewService(store Store, set *codes.Set) (*Service, error) {
	s := &Service{store: store, set: set, order: map[codes.Concept]int{}, width: map[codes.Concept]int{}}
	for i, info := range set.Concepts() {
		s.order[info.ID] = i
		s.width[info.ID] = len(set.Codes(info.ID))
	}
	for _, c := range KeyObservations {
		info, ok := set.Info(c)
		if !ok || info.Kind != codes.Observation {
			return nil, apperr.Ef(apperr.Internal, "summary: key observation %q is not an observation concept", c)
		}
		s.key = append(s.key, set.Codes(c)...)
	}
	return s, nil
}

// Summary builds the summary of the people in ids (one person, or every
// record linked as one person) as of now. The demographics shown are
// ids[0]'s: for a merged cluster, the survivor, whose row is the cluster's
// golden record. NotFound when none exists.
func (s *Service) Summary(ctx context.Context, ids []int64, now time.Time) (*Summary, error) {
	if len(ids) == 0 {
		return nil, apperr.E(apperr.Invalid, "summary: name at least one person")
	}
	shown := ids[0]
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	switch {
	case len(ids) == 0:
		return nil, apperr.E(apperr.Invalid, "summary: name at least one person")
	case len(ids) > MaxPeople:
		return nil, apperr.Ef(apperr.Invalid, "summary: at most %d linked records make one summary", MaxPeople)
	case ids[0] <= 0:
		return nil, apperr.E(apperr.Invalid, "summary: person ids are positive")
	}
	today := day(now)
	src, err := s.store.SummarySource(ctx, Query{People: ids, Today: today, Encounters: RecentEncounters, Observations: s.key})
	if err != nil {
		return nil, err
	}
	if len(src.People) == 0 {
		return nil, apperr.Ef(apperr.NotFound, "no person %d", ids[0])
	}
	return s.build(src, ids, shown, now), nil
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// concept is the narrowest concept of kind that c belongs to: the one
// with the fewest codes (so a type 2 diabetes code is "Type 2 diabetes",
// not "Diabetes (any type)" nor a Charlson group), ties going to the
// concept listed first.
func (s *Service) concept(kind codes.Kind, c record.Coding) (codes.Concept, bool) {
	var best codes.Concept
	found := false
	for _, id := range s.set.ConceptsOf(c.System, c.Code) {
		info, ok := s.set.Info(id)
		if !ok || info.Kind != kind {
			continue
		}
		if !found || s.width[id] < s.width[best] || (s.width[id] == s.width[best] && s.order[id] < s.order[best]) {
			best, found = id, true
		}
	}
	return best, found
}

func (s *Service) name(c codes.Concept) string {
	info, _ := s.set.Info(c)
	return info.Name
}

func (s *Service) build(src *Source, ids []int64, shown int64, now time.Time) *Summary {
	sum := &Summary{PersonIDs: ids, AsOf: now.UTC()}
	// The demographics shown are the first person's: the survivor of a
	// merged cluster, whose row is the cluster's golden record (field by
	// field survivorship over every source). Should the store not return
	// them, the most recently received stand in.
	p := slices.MaxFunc(src.People, func(a, b registry.Person) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if i := slices.IndexFunc(src.People, func(q registry.Person) bool { return q.ID == shown }); i >= 0 {
		p = src.People[i]
	}
	sum.Demographics = Demographics{PersonID: p.ID, NHSNumber: p.NHSNumber, NHSNumberStatus: string(p.NHSNumberStatus),
		GivenName: p.GivenName, FamilyName: p.FamilyName, BirthDate: date(p.BirthDate), Sex: string(p.Sex),
		Postcode: p.Postcode, Ethnicity: p.Ethnicity, DateOfDeath: date(p.DateOfDeath),
		Provenance: Provenance{Source: p.Source, ReceivedAt: instant(p.ReceivedAt)}}
	for _, id := range src.Identities {
		sum.Identities = append(sum.Identities, Identity{PersonID: id.PersonID, Source: id.Source, LocalID: id.LocalID,
			LinkedBy: id.Provenance, ReceivedAt: instant(id.ReceivedAt)})
	}
	orgs := map[string]directory.Organisation{}
	for _, o := range src.Organisations {
		orgs[o.ID] = o
	}
	if p.PracticeID != "" {
		sum.Practice = &Practice{ODSCode: p.PracticeID, Name: orgs[p.PracticeID].Name}
	}
	sum.CareTeams = careTeams(src, orgs)
	sum.Conditions = s.conditions(src.Conditions)
	sum.Medications = s.medications(src.Medications)
	for _, e := range src.Encounters {
		row := Encounter{Class: string(e.Class), Start: instant(e.Start), End: instant(e.End), ProviderID: e.OrgID,
			ProviderName: orgs[e.OrgID].Name, Discharge: e.Discharge, Source: e.Source}
		if e.Diagnosis.Code != "" {
			d := codingOf(e.Diagnosis)
			row.Diagnosis = &d
		}
		sum.Encounters = append(sum.Encounters, row)
	}
	sum.Observations = s.observations(src.Observations)
	sum.Flags = flags(src.People, src.Consents, day(now))
	// An empty section is an empty list, never null: clients iterate.
	sum.Identities = nonNil(sum.Identities)
	sum.CareTeams = nonNil(sum.CareTeams)
	sum.Conditions = nonNil(sum.Conditions)
	sum.Encounters = nonNil(sum.Encounters)
	sum.Medications = nonNil(sum.Medications)
	sum.Observations = nonNil(sum.Observations)
	sum.Flags = nonNil(sum.Flags)
	return sum
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func careTeams(src *Source, orgs map[string]directory.Organisation) []Team {
	staff := map[int64]directory.Professional{}
	for _, p := range src.Staff {
		staff[p.ID] = p
	}
	members := map[int64][]Member{}
	for _, m := range src.Members {
		p := staff[m.ProfessionalID]
		members[m.TeamID] = append(members[m.TeamID], Member{ProfessionalID: m.ProfessionalID,
			Name: joinName(p.GivenName, p.FamilyName), Profession: p.Profession, Role: m.Role, Since: date(m.Start)})
	}
	teams := map[int64]directory.CareTeam{}
	for _, t := range src.Teams {
		teams[t.ID] = t
	}
	var out []Team
	var since []time.Time
	seen := map[int64]int{}
	for _, l := range src.TeamLinks {
		if i, ok := seen[l.TeamID]; ok {
			// The same team through two linked records: keep the earlier start.
			if l.Start.Before(since[i]) {
				since[i], out[i].Since = l.Start, date(l.Start)
			}
			continue
		}
		t := teams[l.TeamID]
		ms := nonNil(members[l.TeamID])
		slices.SortFunc(ms, func(a, b Member) int { return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Name, b.Name)) })
		seen[l.TeamID] = len(out)
		since = append(since, l.Start)
		out = append(out, Team{ID: l.TeamID, Name: t.Name, Kind: t.Kind, OrgID: t.OrgID, OrgName: orgs[t.OrgID].Name,
			Role: l.Role, Since: date(l.Start), Source: l.Source, Members: ms})
	}
	slices.SortFunc(out, func(a, b Team) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// group gathers rows of one concept (or, for codes no concept lists, of
// one code) from every source.
type group struct {
	key      string
	concept  codes.Concept
	name     string
	codings  []Coding
	sources  []string
	first    time.Time // earliest onset or start
	recorded time.Time // latest received
}

func (g *group) add(c record.Coding, source string, start, received time.Time) {
	cd := codingOf(c)
	if !slices.Contains(g.codings, cd) {
		g.codings = append(g.codings, cd)
	}
	if !slices.Contains(g.sources, source) {
		g.sources = append(g.sources, source)
	}
	if !start.IsZero() && (g.first.IsZero() || start.Before(g.first)) {
		g.first = start
	}
	if received.After(g.recorded) {
		g.recorded = received
	}
	if g.name == "" {
		g.name = c.Display
	}
}

func (s *Service) grouper(kind codes.Kind) (func(c record.Coding) *group, func() []*group) {
	byKey := map[string]*group{}
	var order []*group
	get := func(c record.Coding) *group {
		con, ok := s.concept(kind, c)
		k := "concept:" + string(con)
		if !ok {
			k = "code:" + c.System + "|" + c.Code
		}
		g := byKey[k]
		if g == nil {
			g = &group{key: k}
			if ok {
				g.concept, g.name = con, s.name(con)
			}
			byKey[k] = g
			order = append(order, g)
		}
		return g
	}
	all := func() []*group {
		for _, g := range order {
			slices.Sort(g.sources)
			if g.name == "" {
				g.name = g.codings[0].System + " " + g.codings[0].Code
			}
		}
		slices.SortFunc(order, func(a, b *group) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.key, b.key)) })
		return order
	}
	return get, all
}

func (s *Service) conditions(rows []record.Condition) []Condition {
	get, all := s.grouper(codes.Condition)
	for _, r := range rows {
		get(r.Code).add(r.Code, r.Source, r.Onset, r.ReceivedAt)
	}
	var out []Condition
	for _, g := range all() {
		out = append(out, Condition{Concept: string(g.concept), Name: g.name, Codes: g.codings, Sources: g.sources,
			Onset: date(g.first), LastRecorded: instant(g.recorded)})
	}
	return out
}

func (s *Service) medications(rows []record.Medication) []Medication {
	get, all := s.grouper(codes.Medication)
	for _, r := range rows {
		get(r.Code).add(r.Code, r.Source, r.Start, r.ReceivedAt)
	}
	var out []Medication
	for _, g := range all() {
		out = append(out, Medication{Concept: string(g.concept), Name: g.name, Codes: g.codings, Sources: g.sources,
			Start: date(g.first), LastRecorded: instant(g.recorded)})
	}
	return out
}

// observations keeps the latest reading of each key concept.
func (s *Service) observations(rows []record.Observation) []Observation {
	latest := map[codes.Concept]record.Observation{}
	for _, r := range rows {
		for _, c := range s.set.ConceptsOf(r.Code.System, r.Code.Code) {
			if !slices.Contains(KeyObservations, c) {
				continue
			}
			if have, ok := latest[c]; !ok || r.Effective.After(have.Effective) {
				latest[c] = r
			}
		}
	}
	var out []Observation
	for _, c := range KeyObservations {
		r, ok := latest[c]
		if !ok {
			continue
		}
		o := Observation{Concept: string(c), Name: s.name(c), Value: r.Value, Unit: r.Unit, Effective: instant(r.Effective),
			Code: codingOf(r.Code), Source: r.Source}
		if r.ValueCode.Code != "" {
			v := codingOf(r.ValueCode)
			o.ValueCode = &v
		}
		out = append(out, o)
	}
	return out
}

// flags lists what a reader must know before reading on.
func flags(people []registry.Person, consents []access.Consent, today time.Time) []Flag {
	var out []Flag
	for _, p := range people {
		if !p.DateOfDeath.IsZero() {
			out = append(out, Flag{Kind: FlagDeceased, PersonID: p.ID, Date: date(p.DateOfDeath), Text: "date of death recorded by " + p.Source})
		}
		switch p.NHSNumberStatus {
		case registry.NHSInvalid:
			out = append(out, Flag{Kind: FlagNHSInvalid, PersonID: p.ID, Text: "the NHS number fails its check digit: kept as sent, never used to link"})
		case registry.NHSUnverified:
			out = append(out, Flag{Kind: FlagNHSUnverified, PersonID: p.ID, Text: "the NHS number has not been verified against the spine"})
		case registry.NHSAbsent:
			out = append(out, Flag{Kind: FlagNHSAbsent, PersonID: p.ID, Text: "no NHS number is known"})
		}
	}
	for _, c := range consents {
		f := Flag{PersonID: c.PersonID, Text: consentText(c)}
		switch {
		case c.Withdrawn():
			f.Kind, f.Date = FlagConsentWithdrawn, date(c.WithdrawnAt)
		case !c.End.IsZero() && c.End.Before(today):
			continue // lapsed: history, not state
		case !c.Start.IsZero() && c.Start.After(today):
			continue // not yet in force
		case c.Decision == access.Deny:
			f.Kind, f.Date = FlagConsentDeny, date(cmp.Or(c.Start, c.RecordedAt))
		default:
			f.Kind, f.Date = FlagConsentPermit, date(cmp.Or(c.Start, c.RecordedAt))
		}
		out = append(out, f)
	}
	return out
}

func consentText(c access.Consent) string {
	who := "every organisation"
	if c.OrgID != "" {
		who = c.OrgID
	}
	verb := "permits"
	if c.Decision == access.Deny {
		verb = "objects to"
	}
	t := verb + " sharing for " + string(c.Purpose) + " with " + who
	if c.Withdrawn() {
		t = "withdrew consent that " + t
	}
	return t
}

func joinName(given, family string) string {
	switch {
	case given == "":
		return family
	case family == "":
		return given
	}
	return given + " " + family
}
