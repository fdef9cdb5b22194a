package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/segment"
	"github.com/wholecare/wholecare/internal/summary"
	"github.com/wholecare/wholecare/internal/web"
)

// The people pages: finding a person, the person summary, and the
// person's own portal (/me). Every page reaches a person's data through
// s.deps.Policy exactly as the JSON routes beside it do; the views here
// only arrange what those routes already return.

// PeopleSearcher is the demographic trace behind "find a person"
// (sqlstore.DB's SearchPeople): see there for how each criterion matches.
type PeopleSearcher interface {
	SearchPeople(ctx context.Context, nhs, family string, given []string, birth time.Time, limit int) ([]registry.Person, error)
}

// peoplePageRoutes registers the people pages; called from pageRoutes.
func (s *Server) peoplePageRoutes() {
	if s.deps.Policy == nil || s.deps.Data == nil {
		return
	}
	if s.deps.People != nil {
		s.page("GET /people", person, s.handlePeopleSearchPage())
	}
	if s.deps.Summaries != nil {
		s.page("GET /people/{id}", person, s.handlePersonPage())
		s.page("GET /me", person, s.handleMyRecordPage())
	}
	s.page("POST /people/{id}/break-glass", person, s.handleBreakGlassForm())
	s.page("GET /me/plan", person, s.handleMyPlanPage())
	if s.deps.Audit != nil {
		s.page("GET /me/access-log", person, s.handleMyAccessLogPage())
	}
}

// ---- Finding a person ----

const (
	// searchShown is how many people one search lists.
	searchShown = 50
	// searchScan bounds the people a search reads before the policy
	// decides which the caller may see: a search that finds more must be
	// narrowed, as the FHIR Patient search asks (rest.MaxCandidates), with
	// a lower bound because each decision costs about 0.1 ms and a page
	// must answer in well under 100 ms. At 100,000 people a common family
	// name alone finds about 1,000, so it needs a given name or a date of
	// birth as well.
	searchScan = 250
)

// searchCriteria is what a search box and its optional fields asked for.
type searchCriteria struct {
	NHS    string
	Family string
	Words  []string
	Birth  time.Time
}

func (c searchCriteria) empty() bool {
	return c.NHS == "" && c.Family == "" && len(c.Words) == 0 && c.Birth.IsZero()
}

// searchProblems are the fixed texts a search that cannot run shows.
var searchProblems = map[string]string{
	"nhs-check":  "That NHS number is not right: its last digit (the check digit) does not match the other nine. Check the number with the person or their letter and type it again.",
	"nhs-length": "An NHS number has 10 digits. Check the number and type it again, with or without spaces.",
	"date":       "The date of birth could not be read. Write it like 12/03/1948, 12 March 1948 or 1948-03-12.",
	"date-range": "That date of birth is in the future or too long ago. Check it and type it again.",
	"unclear":    "The search could not be understood. Type an NHS number, a name (such as Jane Smith or Smith, Jane) or a date of birth.",
	"empty":      "Type an NHS number, a name or a date of birth to find a person.",
}

var (
	nhsPattern = regexp.MustCompile(`\b\d{3}[ -]?\d{3}[ -]?\d{4}\b`)
	// datePatterns find a date of birth within a search box's text.
	datePatterns = []*regexp.Regexp{
		regexp.MustCompile(`\b\d{4}-\d{1,2}-\d{1,2}\b`),
		regexp.MustCompile(`\b\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b`),
		regexp.MustCompile(`(?i)\b\d{1,2}\s+[a-z]{3,9}\.?\s+\d{4}\b`),
	}
	nameWord = regexp.MustCompile(`^[\p{L}][\p{L}'’-]*$`)
)

// parseBirthDate reads a date of birth as people write it.
func parseBirthDate(s string, now time.Time) (time.Time, string) {
	if strings.ContainsFunc(s, unicode.IsLetter) {
		s = strings.ReplaceAll(s, ".", " ") // "12 Mar. 1948"
	} else {
		s = strings.NewReplacer("/", "-", ".", "-").Replace(s) // "12/03/1948", "12.03.1948"
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range []string{"2006-1-2", "2-1-2006", "2 January 2006", "2 Jan 2006", "2 Jan 06"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.After(now) || t.Year() < 1880 {
				return time.Time{}, "date-range"
			}
			return t, ""
		}
	}
	// "Sept" is how many write September.
	if t, err := time.Parse("2 Jan 2006", strings.Replace(strings.ToLower(s), "sept ", "sep ", 1)); err == nil {
		return t, ""
	}
	return time.Time{}, "date"
}

// parseNames reads a name as typed: "smith", "jane smith" or "smith, jane".
func parseNames(s string, c *searchCriteria) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	words := func(t string) ([]string, bool) {
		var out []string
		for _, w := range strings.Fields(t) {
			if !nameWord.MatchString(w) {
				return nil, false
			}
			out = append(out, strings.ReplaceAll(w, "’", "'"))
		}
		return out, true
	}
	if fam, given, ok := strings.Cut(s, ","); ok {
		f, ok1 := words(fam)
		g, ok2 := words(given)
		if !ok1 || !ok2 || len(f) == 0 {
			return "unclear"
		}
		c.Family = strings.Join(f, " ")
		c.Words = append(c.Words, g...)
		return ""
	}
	w, ok := words(s)
	if !ok {
		return "unclear"
	}
	c.Words = append(c.Words, w...)
	return ""
}

// parseSearch reads the search box (q) and the optional name and date of
// birth fields into criteria, or the code of the problem that stops it.
func parseSearch(q, name, dob string, now time.Time) (searchCriteria, string) {
	var c searchCriteria
	q = strings.TrimSpace(q)
	isDate := slices.ContainsFunc(datePatterns, func(re *regexp.Regexp) bool { return re.MatchString(q) })
	if digits := registry.NormaliseNHSNumber(q); !isDate && digits != "" && strings.Trim(digits, "0123456789") == "" {
		if len(digits) != 10 {
			return c, "nhs-length"
		}
		if !registry.ValidNHSNumber(digits) {
			return c, "nhs-check"
		}
		c.NHS = digits
		return c, ""
	}
	if m := nhsPattern.FindString(q); m != "" {
		n := registry.NormaliseNHSNumber(m)
		if !registry.ValidNHSNumber(n) {
			return c, "nhs-check"
		}
		c.NHS = n
		q = strings.Replace(q, m, " ", 1)
	}
	for _, re := range datePatterns {
		if m := re.FindString(q); m != "" {
			t, prob := parseBirthDate(m, now)
			if prob != "" {
				return c, prob
			}
			c.Birth = t
			q = strings.Replace(q, m, " ", 1)
			break
		}
	}
	if prob := parseNames(q, &c); prob != "" {
		return c, prob
	}
	if prob := parseNames(name, &c); prob != "" {
		return c, prob
	}
	if strings.TrimSpace(dob) != "" {
		t, prob := parseBirthDate(dob, now)
		if prob != "" {
			return c, prob
		}
		if !c.Birth.IsZero() && !c.Birth.Equal(t) {
			return c, "unclear"
		}
		c.Birth = t
	}
	if c.empty() {
		return c, "empty"
	}
	return c, ""
}

// personRow is one person in a list of people.
type personRow struct {
	ID         int64
	Name       string
	NHSNumber  string
	BirthDate  time.Time
	Age        int
	Sex        string
	PracticeID string
	Dead       bool
	// Relationship is the caller's legitimate relationship, in words.
	Relationship string
}

type peopleSearchView struct {
	Q, Name, DOB string // as typed, to fill the form again
	Searched     bool
	Criteria     string // what was searched for, in words
	Results      []personRow
	More         bool // more people than shown: refine
	TooMany      bool // more than searchScan matched before access was decided
	CanBreak     bool
}

// basisWords says a relationship (access.Basis) in plain words.
var basisWords = map[access.Basis]string{
	access.Practice:    "Registered with your practice",
	access.CareTeam:    "In the care of your team",
	access.Coordinator: "You coordinate their care plan",
	access.BreakGlassB: "Emergency access (break-glass)",
	access.Self:        "You",
	access.CarerOf:     "The person you care for",
}

func age(birth, now time.Time) int {
	if birth.IsZero() {
		return -1
	}
	a := now.Year() - birth.Year()
	if now.YearDay() < birth.YearDay() {
		a--
	}
	return a
}

func displayName(given, family string) string {
	return strings.TrimSpace(given + " " + family)
}

// staffReader refuses a caller who does not read records as a
// professional: the person's own pages are at /me.
func staffReader(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p == nil {
		return nil, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	switch {
	case p.Role == auth.ServiceUser || p.Role == auth.Carer:
		return nil, apperr.E(apperr.Forbidden, "finding people is for professionals: your own record is at My record")
	case p.Role == auth.SystemClient || !access.Has(p.Role, access.ReadRecord):
		return nil, apperr.Ef(apperr.Forbidden, "your role (%s) does not read people's records, so it cannot find people", web.RoleLabel(p.Role))
	}
	return p, nil
}

// handlePeopleSearchPage finds people by NHS number, name and date of
// birth. As the FHIR Patient search does, it lists only the people the
// caller may see (their care relationships and the person's consent, or
// a break-glass grant), and audits each person listed as a search result.
func (s *Server) handlePeopleSearchPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := staffReader(r.Context())
		if err != nil {
			return err
		}
		q := r.URL.Query()
		v := peopleSearchView{Q: q.Get("q"), Name: q.Get("name"), DOB: q.Get("dob"), CanBreak: access.Has(p.Role, access.BreakGlass)}
		pg := s.frame(r, "Find a person", web.SecPeople)
		pg.Data = &v
		if strings.TrimSpace(v.Q+v.Name+v.DOB) == "" {
			s.render(w, r, http.StatusOK, "people", pg)
			return nil
		}
		now := s.deps.Now()
		c, prob := parseSearch(v.Q, v.Name, v.DOB, now)
		if prob != "" {
			pg.Error = searchProblems[prob]
			s.render(w, r, http.StatusBadRequest, "people", pg)
			return nil
		}
		v.Searched, v.Criteria = true, criteriaWords(c)
		found, err := s.searchPeople(r.Context(), c)
		if err != nil {
			return err
		}
		if len(found) > searchScan {
			// Listing the visible few of the first searchScan would hide
			// whoever sorts after them: ask for a narrower search instead.
			v.TooMany = true
			s.render(w, r, http.StatusOK, "people", pg)
			return nil
		}
		var shown []int64
		for _, f := range found {
			d, err := s.deps.Policy.Decide(r.Context(), p, access.Request{Perm: access.ReadRecord, PersonID: f.ID, Type: "Patient"})
			if apperr.Is(err, apperr.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !d.Allowed {
				continue
			}
			if len(v.Results) == searchShown {
				v.More = true
				break
			}
			v.Results = append(v.Results, personRow{ID: f.ID, Name: displayName(f.GivenName, f.FamilyName), NHSNumber: f.NHSNumber,
				BirthDate: f.BirthDate, Age: age(f.BirthDate, now), Sex: string(f.Sex), PracticeID: f.PracticeID,
				Dead: f.Dead(now), Relationship: basisWords[d.Basis]})
			shown = append(shown, f.ID)
		}
		if err := s.deps.Policy.Guard().Accessed(r.Context(), "search", "Patient", shown); err != nil {
			return err
		}
		s.render(w, r, http.StatusOK, "people", pg)
		return nil
	}
}

// nameReading is one way to read the name words typed: a family name and
// given names.
type nameReading struct {
	family string
	given  []string
}

// readings are the ways to read a name: "smith, jane" one way; one word
// as a family name; "jane smith" both ways round (people write names
// either way), the family name being the first or the last word.
func (c searchCriteria) readings() []nameReading {
	switch n := len(c.Words); {
	case c.Family != "":
		return []nameReading{{c.Family, c.Words}}
	case n == 0:
		return []nameReading{{}}
	case n == 1:
		return []nameReading{{c.Words[0], nil}}
	default:
		return []nameReading{{c.Words[n-1], c.Words[:n-1]}, {c.Words[0], c.Words[1:]}}
	}
}

// searchPeople runs every reading of the criteria and merges the people
// found, in the order a list of names is read: at most searchScan+1.
func (s *Server) searchPeople(ctx context.Context, c searchCriteria) ([]registry.Person, error) {
	var found []registry.Person
	seen := map[int64]bool{}
	for _, rd := range c.readings() {
		ps, err := s.deps.People.SearchPeople(ctx, c.NHS, rd.family, rd.given, c.Birth, searchScan+1)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !seen[p.ID] {
				seen[p.ID] = true
				found = append(found, p)
			}
		}
	}
	slices.SortFunc(found, func(a, b registry.Person) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.FamilyName), strings.ToLower(b.FamilyName)),
			cmp.Compare(strings.ToLower(a.GivenName), strings.ToLower(b.GivenName)), a.BirthDate.Compare(b.BirthDate), cmp.Compare(a.ID, b.ID))
	})
	return found[:min(len(found), searchScan+1)], nil
}

// criteriaWords says what a search looked for, from the parsed criteria
// (never the raw text).
func criteriaWords(c searchCriteria) string {
	var parts []string
	if c.NHS != "" {
		parts = append(parts, "NHS number "+web.NHSNumber(c.NHS))
	}
	if c.Family != "" {
		parts = append(parts, "family name beginning "+c.Family)
	}
	switch n := len(c.Words); {
	case c.Family == "" && n == 1:
		parts = append(parts, "family name beginning "+c.Words[0])
	case c.Family == "" && n > 1:
		parts = append(parts, "the name "+strings.Join(c.Words, " ")+" (either way round)")
	case n > 0:
		parts = append(parts, "given name "+strings.Join(c.Words, " "))
	}
	if !c.Birth.IsZero() {
		parts = append(parts, "born "+c.Birth.Format("2 January 2006"))
	}
	return strings.Join(parts, ", ")
}

// ---- The person summary ----

// TrendView is one key measure over time, oldest first, for a table now
// and a chart later.
type TrendView struct {
	Concept    codes.Concept
	Name, Unit string
	Points     []struct {
		At    time.Time
		Value float64
	}
}

// trendConcepts are the measures a summary shows the recent values of.
var trendConcepts = []codes.Concept{"obs.systolic_bp", "obs.diastolic_bp", "obs.hba1c", "obs.weight", "obs.peak_flow", "obs.spo2", "obs.egfr"}

const (
	trendPoints  = 12 // per measure, for a chart
	trendTable   = 5  // the most recent shown in the table
	timelinePage = 20
	pastShown    = 20
)

type timelineItem struct {
	At     time.Time
	Kind   string // "Contact", "Stay", "Measurement"
	What   string
	Detail string
	Source string
}

type conditionRow struct {
	Name    string
	Onset   string
	Ended   string
	Sources string
	Active  bool
}

type riskView struct {
	Percent string
	Band    uint8
	Tag     string // a colour class; the band is also written
	AsOf    time.Time
	Model   string
	Factors []string
}

type segmentView struct{ Scheme, Segment, Reason string }

type planRow struct {
	ID          int64
	Title       string
	Status      string
	Coordinator string
	Contact     string
	NextReview  string
}

type alertRow struct {
	ID       int64
	Title    string
	Reason   string
	Priority string
	Tag      string
	Status   string
	Due      time.Time
}

type gapRow struct {
	Title, Status, Tag string
	Unsure             bool
}

type consentRow struct {
	Decision, Purpose, Org, From, Until string
	RecordedAt                          time.Time
	Withdrawn                           bool
}

type teamRow struct {
	Name, Kind, Org, Role, Since, Source string
	Members                              []summary.Member
}

type latestRow struct{ Name, Value, Date, Source string }

type trendRow struct {
	Name, Unit string
	Latest     []trendValue // newest first
}

type trendValue struct {
	At    time.Time
	Value string
}

// personPageView is the person summary as a page: the same summary the
// JSON route returns, with what surrounds it.
type personPageView struct {
	ID       int64
	Mine     bool // the person themselves (or their carer) reads it
	Carer    bool
	Sum      *summary.Summary
	Name     string
	Age      int
	Practice string
	Dead     bool

	// Dates and values written for people, from the summary's strings.
	BirthDate  string
	ReceivedAt string
	Identities []summary.Identity
	LatestRows []latestRow

	Teams      []teamRow
	Conditions []conditionRow
	Medicines  []summary.Medication
	Trends     []TrendView
	// TrendCharts draw Trends of two or more readings against their
	// targets or the person's own thresholds.
	TrendCharts []template.HTML
	TrendRows   []trendRow
	NoTrends    string // why there are no trends, when there are none

	Timeline     []timelineItem
	TimelinePage int
	TimelinePrev string
	TimelineNext string

	Risk        *riskView
	RiskNote    string
	Segments    []segmentView
	Plans       []planRow
	NewPlan     bool // may start a plan
	PlansNote   string
	Alerts      []alertRow
	AlertsNote  string
	Gaps        []gapRow
	GapsNote    string
	Consents    []consentRow
	ConsentNote string
	Basis       string
}

var bandTags = map[uint8]string{1: "green", 2: "green", 3: "amber", 4: "red", 5: "red"}

var priorityTags = map[alerts.Priority]string{alerts.Urgent: "red", alerts.High: "amber", alerts.Normal: "blue", alerts.Low: "grey"}

var encounterWords = map[record.EncounterClass]string{
	record.PrimaryCare: "GP appointment", record.AE: "A&E attendance", record.EmergencyAdmission: "Emergency admission",
	record.ElectiveAdmission: "Planned admission", record.Outpatient: "Outpatient appointment", record.Community: "Community contact",
	record.MentalHealth: "Mental health contact", record.SocialCareContact: "Social care contact",
}

// personNotices are the confirmations and problems a redirect to the
// person page may name: fixed texts.
var personNotices = map[string]string{
	"glass": "You have emergency access to this record for a limited time. Your reason is recorded in the audit log and a privacy officer will review it.",
}

var personErrors = map[string]string{
	"reason": "Say why you need emergency access, in at least 15 characters (for example, what the emergency is). Nothing was recorded.",
}

// summaryFor builds the person page's view for person id after the one
// audited decision: the summary (the whole merged cluster, as the JSON
// route builds it), and what the rest of Wholecare knows of the person.
func (s *Server) summaryFor(r *http.Request, p *auth.Principal, d access.Decision, id int64, mine bool) (*personPageView, error) {
	ctx := r.Context()
	ids := []int64{id}
	if s.deps.Registry != nil {
		c, err := s.deps.Registry.PersonCluster(ctx, id)
		if err != nil {
			return nil, err
		}
		ids = append([]int64{c.Survivor}, slices.DeleteFunc(c.Members, func(m int64) bool { return m == c.Survivor })...)
	}
	now := s.deps.Now()
	sum, err := s.deps.Summaries.Summary(ctx, ids, now)
	if err != nil {
		return nil, err
	}
	survivor := ids[0]
	dm := sum.Demographics
	v := &personPageView{ID: id, Mine: mine, Carer: p.Role == auth.Carer, Sum: sum, Name: displayName(dm.GivenName, dm.FamilyName),
		Medicines: sum.Medications, Basis: basisWords[d.Basis]}
	if b, err := time.Parse(time.DateOnly, dm.BirthDate); err == nil {
		v.Age = age(b, now)
	} else {
		v.Age = -1
	}
	v.Dead = dm.DateOfDeath != ""
	v.BirthDate, v.ReceivedAt = humanDate(dm.BirthDate), humanDate(dm.Provenance.ReceivedAt)
	for _, id := range sum.Identities {
		id.ReceivedAt = humanDate(id.ReceivedAt)
		v.Identities = append(v.Identities, id)
	}
	for _, o := range sum.Observations {
		val := observationValue(o.Value, unitWord(o.Unit))
		if val == "" && o.ValueCode != nil {
			val = o.ValueCode.Display
		}
		v.LatestRows = append(v.LatestRows, latestRow{Name: o.Name, Value: val, Date: humanDate(o.Effective), Source: o.Source})
	}
	if sum.Practice != nil {
		v.Practice = cmp.Or(sum.Practice.Name, sum.Practice.ODSCode)
		if sum.Practice.Name != "" {
			v.Practice += " (" + sum.Practice.ODSCode + ")"
		}
	}
	for _, t := range sum.CareTeams {
		v.Teams = append(v.Teams, teamRow{Name: t.Name, Kind: words(t.Kind), Org: cmp.Or(t.OrgName, t.OrgID), Role: words(t.Role), Since: humanDate(t.Since),
			Source: t.Source, Members: t.Members})
	}
	active := map[string]bool{}
	for _, c := range sum.Conditions {
		v.Conditions = append(v.Conditions, conditionRow{Name: c.Name, Onset: humanDate(c.Onset), Sources: strings.Join(c.Sources, ", "), Active: true})
		active[c.Name] = true
	}

	// The whole record, merged records folded in, for what the summary
	// keeps only the latest of: past conditions, the timeline, trends.
	var batch *record.Batch
	if s.deps.Records != nil && s.deps.Codes != nil {
		b, err := s.deps.Records.ClusterBatch(ctx, survivor-1, 1)
		if err != nil {
			return nil, err
		}
		if len(b.People) > 0 && b.People[0].ID == survivor {
			batch = b
		}
	}
	v.Timeline = make([]timelineItem, 0, 64)
	for _, e := range sum.Encounters {
		start, _ := time.Parse(time.RFC3339, e.Start)
		if start.IsZero() {
			start, _ = time.Parse(time.DateOnly, e.Start)
		}
		it := timelineItem{At: start, Kind: "Contact", What: cmp.Or(encounterWords[record.EncounterClass(e.Class)], e.Class),
			Detail: cmp.Or(e.ProviderName, e.ProviderID), Source: e.Source}
		if record.EncounterClass(e.Class).Admission() {
			it.Kind = "Stay"
		}
		if e.Diagnosis != nil && e.Diagnosis.Display != "" {
			it.Detail = strings.TrimPrefix(it.Detail+": "+e.Diagnosis.Display, ": ")
		}
		v.Timeline = append(v.Timeline, it)
	}
	if batch != nil {
		s.fromRecord(v, batch, active, now)
	} else {
		v.NoTrends = "Trends need the whole record, which this server does not read."
		for _, o := range sum.Observations {
			at, _ := time.Parse(time.RFC3339, o.Effective)
			if at.IsZero() {
				at, _ = time.Parse(time.DateOnly, o.Effective)
			}
			v.Timeline = append(v.Timeline, timelineItem{At: at, Kind: "Measurement", What: o.Name, Detail: observationValue(o.Value, unitWord(o.Unit)), Source: o.Source})
		}
	}
	slices.SortStableFunc(v.Timeline, func(a, b timelineItem) int { return b.At.Compare(a.At) })
	s.pageTimeline(r, v)

	if !mine {
		s.professionalParts(ctx, p, v, survivor, now)
	}
	s.plansFor(ctx, p, v, survivor)
	s.trendCharts(ctx, v)
	if access.Has(p.Role, access.ReadConsent) {
		cs, err := s.deps.Data.Consents(ctx, survivor)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			v.Consents = append(v.Consents, consentRow{Decision: string(c.Decision), Purpose: strings.ReplaceAll(string(c.Purpose), "-", " "),
				Org: cmp.Or(c.OrgID, "every organisation"), From: humanDate(day(c.Start)), Until: humanDate(day(c.End)), RecordedAt: c.RecordedAt, Withdrawn: c.Withdrawn()})
		}
	}
	return v, nil
}

// fromRecord fills in past conditions, measurements on the timeline and
// the trends from the whole record.
func (s *Server) fromRecord(v *personPageView, b *record.Batch, active map[string]bool, now time.Time) {
	set := s.deps.Codes
	conceptName := func(c record.Coding) (codes.Concept, string) {
		for _, k := range set.ConceptsOf(c.System, c.Code) {
			if info, ok := set.Info(k); ok {
				return k, info.Name
			}
		}
		return "", cmp.Or(c.Display, c.Code)
	}
	past := map[string]bool{}
	var pastRows []conditionRow
	ended := slices.Clone(b.Conditions)
	slices.SortStableFunc(ended, func(a, b record.Condition) int { return b.Abatement.Compare(a.Abatement) })
	for _, c := range ended {
		if c.Abatement.IsZero() && c.Status != record.ConditionResolved && c.Status != record.ConditionInactive {
			continue
		}
		_, name := conceptName(c.Code)
		if active[name] || past[name] {
			continue
		}
		past[name] = true
		pastRows = append(pastRows, conditionRow{Name: name, Onset: humanDate(day(c.Onset)), Ended: humanDate(day(c.Abatement)), Sources: c.Source})
	}
	v.Conditions = append(v.Conditions, pastRows[:min(len(pastRows), pastShown)]...)

	wanted := map[codes.Concept]int{}
	v.Trends = make([]TrendView, len(trendConcepts))
	for i, c := range trendConcepts {
		wanted[c] = i
		v.Trends[i].Concept = c
		if info, ok := set.Info(c); ok {
			v.Trends[i].Name = info.Name
		}
	}
	for _, o := range b.Observations {
		if o.Effective.After(now) {
			continue
		}
		k, name := conceptName(o.Code)
		v.Timeline = append(v.Timeline, timelineItem{At: o.Effective, Kind: "Measurement", What: name, Detail: observationValue(o.Value, unitWord(o.Unit)), Source: o.Source})
		i, ok := wanted[k]
		if !ok || o.Value == nil || math.IsNaN(*o.Value) {
			continue
		}
		t := &v.Trends[i]
		if t.Unit == "" {
			t.Unit = unitWord(o.Unit)
		}
		t.Points = append(t.Points, struct {
			At    time.Time
			Value float64
		}{o.Effective, *o.Value})
	}
	kept := v.Trends[:0]
	for _, t := range v.Trends {
		if len(t.Points) == 0 {
			continue
		}
		slices.SortStableFunc(t.Points, func(a, b struct {
			At    time.Time
			Value float64
		}) int {
			return a.At.Compare(b.At)
		})
		t.Points = t.Points[max(0, len(t.Points)-trendPoints):]
		kept = append(kept, t)
		row := trendRow{Name: t.Name, Unit: t.Unit}
		for i := len(t.Points) - 1; i >= 0 && len(row.Latest) < trendTable; i-- {
			row.Latest = append(row.Latest, trendValue{At: t.Points[i].At, Value: strconv.FormatFloat(t.Points[i].Value, 'f', -1, 64)})
		}
		v.TrendRows = append(v.TrendRows, row)
	}
	v.Trends = kept
	if len(kept) == 0 {
		v.NoTrends = "No blood pressure, HbA1c, weight, peak flow, oxygen saturation or kidney function readings are recorded."
	}
}

func observationValue(val *float64, unit string) string {
	if val == nil {
		return ""
	}
	return strings.TrimSpace(strconv.FormatFloat(*val, 'f', -1, 64) + " " + unit)
}

// pageTimeline keeps one page of the timeline, newest first.
func (s *Server) pageTimeline(r *http.Request, v *personPageView) {
	n, _ := strconv.Atoi(r.URL.Query().Get("timeline"))
	pages := max(1, (len(v.Timeline)+timelinePage-1)/timelinePage)
	n = min(max(n, 1), pages)
	v.TimelinePage = n
	link := func(k int) string {
		q := url.Values{}
		q.Set("timeline", strconv.Itoa(k))
		return r.URL.Path + "?" + q.Encode() + "#timeline"
	}
	if n > 1 {
		v.TimelinePrev = link(n - 1)
	}
	if n < pages {
		v.TimelineNext = link(n + 1)
	}
	lo := (n - 1) * timelinePage
	v.Timeline = v.Timeline[min(lo, len(v.Timeline)):min(lo+timelinePage, len(v.Timeline))]
}

// professionalParts are what a professional sees beyond the record: risk,
// segment, open alerts and care gaps. Each is left out, with a note, when
// this server does not keep it.
func (s *Server) professionalParts(ctx context.Context, p *auth.Principal, v *personPageView, id int64, now time.Time) {
	if s.deps.Scores != nil {
		hist, err := s.deps.Scores.RiskScoreHistory(ctx, id)
		switch {
		case err != nil:
			v.RiskNote = "The stored risk scores could not be read just now."
		case len(hist) > 0:
			h := hist[0]
			rv := &riskView{Percent: strconv.FormatFloat(h.Probability*100, 'f', 1, 64) + "%", Band: h.Band, Tag: cmp.Or(bandTags[h.Band], "grey"),
				AsOf: h.AsOf, Model: h.ModelVersion}
			for _, f := range h.Factors {
				rv.Factors = append(rv.Factors, f.Words)
			}
			v.Risk = rv
		}
	}
	if s.deps.Population != nil {
		if eng, err := s.deps.Population.Engine(); err == nil {
			if sc, ok := eng.ScoresOf(id); ok {
				for _, x := range []struct {
					name string
					s    segment.Scheme
					i    uint8
				}{{"Kaiser Permanente pyramid", segment.KaiserScheme, sc.Rules.Kaiser}, {"Bridges to Health", segment.BridgesScheme, sc.Rules.Bridges}} {
					seg, reason := segment.Rule(x.s, x.i)
					v.Segments = append(v.Segments, segmentView{Scheme: x.name, Segment: x.s.Label(seg), Reason: reason})
				}
				if v.Risk == nil && !math.IsNaN(float64(sc.Risk)) {
					v.RiskNote = "No stored risk score yet; the population engine's current estimate is " +
						strconv.FormatFloat(float64(sc.Risk)*100, 'f', 1, 64) + "% chance of an emergency admission in the next 12 months."
				}
			}
			if s.deps.CareGaps != nil {
				gaps, err := s.deps.CareGaps.Person(eng, id, now.UTC().Truncate(24*time.Hour))
				switch {
				case apperr.Is(err, apperr.NotFound):
				case err != nil:
					v.GapsNote = "Care gaps could not be worked out just now."
				default:
					for _, g := range gaps {
						tag := map[caregaps.Status]string{caregaps.Gap: "amber", caregaps.Met: "green", caregaps.Excepted: "grey"}[g.Status]
						v.Gaps = append(v.Gaps, gapRow{Title: g.Title, Status: gapWords[g.Status], Tag: tag, Unsure: len(g.Unmeasurable) > 0})
					}
				}
			} else {
				v.GapsNote = "This server does not check care gaps."
			}
		}
	} else {
		v.GapsNote = "This server does not check care gaps."
	}
	if v.Risk == nil && v.RiskNote == "" {
		v.RiskNote = "No risk score has been worked out for this person yet."
	}
	if s.deps.Alerts != nil {
		as, _, err := s.deps.Alerts.Worklist(ctx, alerts.Query{PersonID: id, Limit: 20})
		if err != nil {
			v.AlertsNote = "Alerts could not be read just now."
		}
		for _, a := range as {
			v.Alerts = append(v.Alerts, alertRow{ID: a.ID, Title: a.Title, Reason: a.Reason, Priority: a.Priority.String(),
				Tag: cmp.Or(priorityTags[a.Priority], "grey"), Status: strings.ReplaceAll(string(a.Status), "_", " "), Due: a.Due})
		}
	} else {
		v.AlertsNote = "This server does not keep alerts."
	}
}

var gapWords = map[caregaps.Status]string{caregaps.Gap: "Due", caregaps.Met: "Done", caregaps.Excepted: "Not needed (excepted)"}

// plansFor lists the person's care plans. The summary's decision already
// covers them: a caller who may read the record may read the plans (every
// role that reads records reads plans), so no second decision is made.
func (s *Server) plansFor(ctx context.Context, p *auth.Principal, v *personPageView, id int64) {
	if s.deps.CarePlans == nil {
		v.PlansNote = "This server does not keep care plans."
		return
	}
	if !access.Has(p.Role, access.ReadCarePlan) {
		return
	}
	hs, err := s.deps.CarePlans.PersonPlans(ctx, id)
	if err != nil {
		v.PlansNote = "Care plans could not be read just now."
		return
	}
	for _, h := range hs {
		if h.Status == careplan.Closed {
			continue
		}
		v.Plans = append(v.Plans, planRow{ID: h.PlanID, Title: cmp.Or(h.Title, "Care and support plan"), Status: string(h.Status),
			Coordinator: h.Coordinator.Name, Contact: h.Coordinator.Contact, NextReview: humanDate(string(h.NextReview))})
	}
	v.NewPlan = len(v.Plans) == 0 && access.Has(p.Role, access.WriteCarePlan)
}

// refusedView is the refusal page with, for a clinician who may, the
// break-glass form.
type refusedView struct {
	ID       int64
	Message  string
	WhatToDo string
	Min      int
}

// sentence starts a message with a capital letter and ends it with a
// full stop.
func sentence(m string) string {
	if m == "" {
		return m
	}
	m = strings.ToUpper(m[:1]) + m[1:]
	if !strings.HasSuffix(m, ".") {
		m += "."
	}
	return m
}

// humanDate writes a YYYY-MM-DD date or an RFC 3339 instant as people
// read a date ("13 Apr 1955"); anything else as it is.
func humanDate(s string) string {
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2 Jan 2006")
		}
	}
	return s
}

// unitWords writes the UCUM units the record keeps as people write them.
var unitWords = map[string]string{"mm[Hg]": "mmHg", "mL/min/{1.73_m2}": "mL/min/1.73m²", "kg/m2": "kg/m²", "/min": "per minute", "Cel": "°C"}

func unitWord(u string) string { return cmp.Or(unitWords[u], u) }

// words turns a code such as "care-coordinator" into words.
func words(code string) string {
	return strings.ReplaceAll(strings.ReplaceAll(code, "-", " "), "_", " ")
}

// handlePersonPage is the person summary: one audited decision, as the
// JSON summary route makes, for everything on it.
func (s *Server) handlePersonPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		p, err := staffReader(r.Context())
		if err != nil {
			return err
		}
		d, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: "Patient"})
		if apperr.Is(err, apperr.Forbidden) && access.Has(p.Role, access.BreakGlass) && p.Via != auth.ViaToken {
			pg := s.frame(r, "You cannot see this record", web.SecPeople, web.Crumb{Label: "Find a person", Href: "/people"},
				web.Crumb{Label: "Record"})
			pg.Error = personErrors[r.URL.Query().Get("error")]
			pg.Data = refusedView{ID: id, Message: sentence(apperr.Message(err)), WhatToDo: errorTexts[apperr.Forbidden][1], Min: access.MinReasonLength}
			w.Header().Set("Cache-Control", "no-store")
			s.render(w, r, http.StatusForbidden, "person-refused", pg)
			return nil
		}
		if err != nil {
			return err
		}
		v, err := s.summaryFor(r, p, d, id, false)
		if err != nil {
			return err
		}
		pg := s.frame(r, v.Name, web.SecPeople, web.Crumb{Label: "Find a person", Href: "/people"}, web.Crumb{Label: v.Name})
		pg.Notice = personNotices[r.URL.Query().Get("done")]
		pg.Data = v
		s.render(w, r, http.StatusOK, "person", pg)
		return nil
	}
}

// handleBreakGlassForm opens emergency access from the refusal page, as
// POST /api/v1/people/{id}/break-glass does, and goes to the summary.
func (s *Server) handleBreakGlassForm() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		_, err = s.deps.Policy.BreakGlass(r.Context(), s.deps.Data, id, r.PostFormValue("reason"))
		if apperr.Is(err, apperr.Invalid) {
			http.Redirect(w, r, "/people/"+strconv.FormatInt(id, 10)+"?error=reason", http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/people/"+strconv.FormatInt(id, 10)+"?done=glass", http.StatusSeeOther)
		return nil
	}
}

// ---- The person's own pages ----

// ownPerson is the person a service user's or carer's pages are about;
// anyone else is refused: professionals find people at /people.
func ownPerson(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p == nil {
		return nil, apperr.E(apperr.Unauthenticated, "sign in first")
	}
	if p.Role != auth.ServiceUser && p.Role != auth.Carer {
		return nil, apperr.E(apperr.Forbidden, "these pages show a person their own record; professionals find a person with Find a person")
	}
	if p.PersonID == 0 {
		return nil, apperr.E(apperr.NotFound, "your account is not linked to a person's record: ask the team who set it up")
	}
	return p, nil
}

// handleMyRecordPage is the person's record written to them: the same
// decision as GET /api/v1/people/{id}/summary for their own id.
func (s *Server) handleMyRecordPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := ownPerson(r.Context())
		if err != nil {
			return err
		}
		d, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: p.PersonID, Type: "Patient"})
		if err != nil {
			return err
		}
		v, err := s.summaryFor(r, p, d, p.PersonID, true)
		if err != nil {
			return err
		}
		title := "My record"
		if p.Role == auth.Carer {
			title = "The record of " + v.Name
		}
		pg := s.frame(r, title, web.SecMyRecord)
		pg.Data = v
		s.render(w, r, http.StatusOK, "person", pg)
		return nil
	}
}

type myPlanView struct {
	Carer    bool
	Contacts []string // who to talk to: the care team's coordinators, else the practice
	Practice string
}

// handleMyPlanPage sends the person to their current care plan, or says
// there is none yet and who to talk to. The decision is the one
// GET /api/v1/people/{id}/careplans makes.
func (s *Server) handleMyPlanPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := ownPerson(r.Context())
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.CheckExistence(r.Context(), "search", access.Request{Perm: access.ReadCarePlan, PersonID: p.PersonID, Type: carePlanType}); err != nil {
			return err
		}
		if s.deps.CarePlans != nil {
			hs, err := s.deps.CarePlans.PersonPlans(r.Context(), p.PersonID)
			if err != nil {
				return err
			}
			// The current plan: the most recently changed that is not
			// closed (a draft counts: the person helps write it).
			var best *careplan.Header
			for i := range hs {
				if hs[i].Status != careplan.Closed && (best == nil || hs[i].UpdatedAt.After(best.UpdatedAt)) {
					best = &hs[i]
				}
			}
			if best != nil {
				http.Redirect(w, r, "/careplans/"+strconv.FormatInt(best.PlanID, 10), http.StatusSeeOther)
				return nil
			}
		}
		v := myPlanView{Carer: p.Role == auth.Carer}
		if per, err := s.deps.Data.Person(r.Context(), p.PersonID); err == nil && per.PracticeID != "" {
			v.Practice = per.PracticeID
		}
		title := "My care plan"
		if v.Carer {
			title = "Their care plan"
		}
		pg := s.frame(r, title, web.SecMyPlan)
		pg.Data = v
		s.render(w, r, http.StatusOK, "me-plan", pg)
		return nil
	}
}

const accessLogPage = 25

type accessRow struct {
	At      time.Time
	Who     string
	Role    string
	Org     string
	What    string
	Why     string
	Refused bool
	Reason  string
}

type myAccessLogView struct {
	Carer bool
	Rows  []accessRow
	Next  string // the next (older) page
	First bool
}

// actionWords say what someone did, before the kind of data it was done
// to; "%s" stands for "your" or "their".
var actionWords = map[string]string{
	"read": "looked at %s ", "create": "added to %s ", "update": "changed %s ", "delete": "removed from %s ",
}

// wholeActions need no kind of data after them.
var wholeActions = map[string]string{
	"search": "saw %s name in search results", "break-glass": "opened emergency access to %s record",
	"export": "included %s record in an export",
}

var typeWords = map[string]string{
	"Patient": "details and summary", "AuditEvent": "list of who has seen the record", "CarePlan": "care plan",
	"Consent": "consent decisions", "Observation": "measurements", "Condition": "conditions", "RiskAssessment": "risk score",
	"Task": "alerts", "MedicationRequest": "medicines", "Encounter": "appointments and stays",
}

var basisReason = map[string]string{
	"care-team": "they are in a team caring for you", "practice": "they work at your GP practice",
	"plan-coordinator": "they coordinate your care plan", "break-glass": "it was an emergency (break-glass), which is reviewed",
	"self": "it was you", "carer": "they are your carer", "system-scope": "a connected system needed it",
}

// handleMyAccessLogPage shows who has looked at the person's record, when
// and why, newest first: the decision GET /api/v1/me/access-log makes.
func (s *Server) handleMyAccessLogPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := ownPerson(r.Context())
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadAccessLog, PersonID: p.PersonID, Type: "AuditEvent"}); err != nil {
			return err
		}
		before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
		evs, err := s.deps.Audit.AuditEvents(r.Context(), audit.Filter{PersonID: p.PersonID, BeforeSeq: max(before, 0), Limit: accessLogPage + 1})
		if err != nil {
			return err
		}
		v := myAccessLogView{Carer: p.Role == auth.Carer, First: before <= 0}
		if len(evs) > accessLogPage {
			evs = evs[:accessLogPage]
			v.Next = "/me/access-log?before=" + strconv.FormatInt(evs[len(evs)-1].Seq, 10)
		}
		whose := "your"
		if v.Carer {
			whose = "their"
		}
		for _, e := range evs {
			what := fmt.Sprintf(cmp.Or(wholeActions[e.Action], cmp.Or(actionWords[e.Action], "used %s ")+cmp.Or(typeWords[e.ResourceType], "record")), whose)
			row := accessRow{At: e.At, Who: e.UserName, Role: web.RoleLabel(auth.Role(e.Role)), Org: e.OrgID, What: what,
				Why: basisReason[e.Basis], Refused: e.Outcome != "allowed"}
			if e.Basis == "break-glass" {
				row.Reason = e.Reason
			}
			v.Rows = append(v.Rows, row)
		}
		title := "Who has seen my record"
		if v.Carer {
			title = "Who has seen their record"
		}
		pg := s.frame(r, title, web.SecMyAccesses)
		pg.Data = v
		s.render(w, r, http.StatusOK, "me-access-log", pg)
		return nil
	}
}
