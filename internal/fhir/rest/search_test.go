package rest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/fhir"
)

// The oracle: what a search should find is worked out here from the
// exported resources (the fhir mapping of every row) with plain Go over
// FHIR elements, independently of the SQL the store runs.

// exported maps every row of typ of the people to its resource.
func exported(t testing.TB, f *fixture, typ string, people []int64) []resource {
	t.Helper()
	var out []resource
	for _, p := range people {
		b := mustRecord(t, f, p)
		if typ == fhir.TypePatient {
			out = append(out, patientResources(b.People, b.Identities)...)
			continue
		}
		out = append(out, rowResources(typ, b)...)
	}
	return out
}

func refs(rs []resource, keep func(r resource) bool) []string {
	var out []string
	for _, r := range rs {
		if keep(r) {
			out = append(out, r.typ+"/"+r.id)
		}
	}
	return out
}

// codesOf is what a resource's code parameter searches.
func codesOf(body any) []fhir.Coding {
	switch r := body.(type) {
	case *fhir.Condition:
		return r.Code.Coding
	case *fhir.Observation:
		return r.Code.Coding
	case *fhir.MedicationRequest:
		return r.MedicationCodeableConcept.Coding
	case *fhir.Immunization:
		return r.VaccineCode.Coding
	case *fhir.Procedure:
		return r.Code.Coding
	}
	return nil
}

func hasCoding(body any, system, code string) bool {
	for _, c := range codesOf(body) {
		if (system == "*" || c.System == system) && (code == "*" || c.Code == code) {
			return true
		}
	}
	return false
}

// when parses an exported date or dateTime; a date stands for its day.
func when(s string) (from, to time.Time, ok bool) {
	if s == "" {
		return from, to, false
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, t.AddDate(0, 0, 1), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, t, err == nil
}

// dateOf is what a resource's date parameter searches.
func dateOf(body any) string {
	switch r := body.(type) {
	case *fhir.Condition:
		return r.OnsetDateTime
	case *fhir.Observation:
		return r.EffectiveDateTime
	case *fhir.MedicationRequest:
		return r.AuthoredOn
	case *fhir.Immunization:
		return r.OccurrenceDateTime
	case *fhir.Procedure:
		return r.PerformedDateTime
	case *fhir.Patient:
		return r.BirthDate
	}
	return ""
}

func onOrAfter(body any, t time.Time) bool {
	from, _, ok := when(dateOf(body))
	return ok && !from.Before(t)
}

func before(body any, t time.Time) bool {
	from, _, ok := when(dateOf(body))
	return ok && from.Before(t)
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// ingestDay is the UTC midnight of t's day.
func ingestDay(t time.Time) time.Time { return day(t.UTC().Year(), t.UTC().Month(), t.UTC().Day()) }

// searchAll follows the next links from path and returns every match,
// checking the totals agree and the pages do not overlap.
func searchAll(t testing.TB, f *fixture, path string) (ids []string, total int) {
	t.Helper()
	next := path
	for pages := 0; next != ""; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		r := f.get(t, next)
		wantStatus(t, r, http.StatusOK)
		b := r.bundle(t)
		if b.Type != "searchset" || b.Total == nil {
			t.Fatalf("not a searchset with a total: %s", r.body)
		}
		if pages == 0 {
			total = *b.Total
		} else if *b.Total != total {
			t.Fatalf("total changed from %d to %d between pages", total, *b.Total)
		}
		ids = append(ids, b.ids(t, "match")...)
		next = b.link("next")
	}
	if len(ids) != total {
		t.Errorf("%s: pages hold %d matches, total says %d", path, len(ids), total)
	}
	return ids, total
}

func TestSearchRowsOfAPatient(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	person, b := richPerson(t, f)
	pid := fhir.ResourceID("Patient", person, 0)
	cond := fhir.ConditionFrom(b.Conditions[0])
	sys, code := cond.Code.Coding[0].System, cond.Code.Coding[0].Code
	obs := fhir.ObservationFrom(b.Observations[0])
	osys, ocode := obs.Code.Coding[0].System, obs.Code.Coding[0].Code
	imm := fhir.ImmunizationFrom(b.Immunisations[0])
	proc := fhir.ProcedureFrom(b.Procedures[0])
	med := fhir.MedicationRequestFrom(b.Medications[0])
	// Dates to search by, from the middle of the person's history.
	onset := b.Conditions[len(b.Conditions)/2].Onset
	effective := b.Observations[len(b.Observations)/2].Effective
	encStart := b.Encounters[len(b.Encounters)/2].Start
	procDate := b.Procedures[len(b.Procedures)/2].Date
	yearOf := func(t time.Time) time.Time { return day(t.Year(), 1, 1) }
	monthOf := func(t time.Time) time.Time { return day(t.Year(), t.Month(), 1) }

	tests := []struct {
		typ, query string
		keep       func(r resource) bool
	}{
		{"Condition", "", func(r resource) bool { return true }},
		{"Condition", "code=" + url.QueryEscape(sys+"|"+code), func(r resource) bool { return hasCoding(r.body, sys, code) }},
		{"Condition", "code=" + code, func(r resource) bool { return hasCoding(r.body, "*", code) }},
		{"Condition", "code=" + url.QueryEscape(sys+"|"), func(r resource) bool { return hasCoding(r.body, sys, "*") }},
		{"Condition", "code=" + url.QueryEscape("|"+code), func(r resource) bool { return hasCoding(r.body, "", code) }},
		{"Condition", "code=" + url.QueryEscape("http://example.org/unknown|"+code), func(r resource) bool { return false }},
		{"Condition", "code=" + url.QueryEscape(sys+"|"+code+","+osys+"|"+ocode), func(r resource) bool { return hasCoding(r.body, sys, code) || hasCoding(r.body, osys, ocode) }},
		{"Condition", "clinical-status=active", func(r resource) bool { return r.body.(*fhir.Condition).ClinicalStatus.Coding[0].Code == "active" }},
		{"Condition", "clinical-status=" + url.QueryEscape(fhir.CSConditionClinical+"|resolved"), func(r resource) bool {
			return r.body.(*fhir.Condition).ClinicalStatus.Coding[0].Code == "resolved"
		}},
		{"Condition", "onset-date=ge" + onset.AddDate(-3, 0, 0).Format("2006") + "&onset-date=lt" + onset.Format("2006-01"), func(r resource) bool {
			return onOrAfter(r.body, yearOf(onset.AddDate(-3, 0, 0))) && before(r.body, monthOf(onset))
		}},
		{"Condition", "onset-date=gt" + onset.Format("2006"), func(r resource) bool { return onOrAfter(r.body, yearOf(onset).AddDate(1, 0, 0)) }},
		{"Condition", "onset-date=le" + onset.Format("2006-01"), func(r resource) bool { return before(r.body, monthOf(onset).AddDate(0, 1, 0)) }},
		{"Condition", "onset-date=" + onset.Format("2006-01-02"), func(r resource) bool {
			return onOrAfter(r.body, onset) && before(r.body, onset.AddDate(0, 0, 1))
		}},
		{"Observation", "code=" + url.QueryEscape(osys+"|"+ocode), func(r resource) bool { return hasCoding(r.body, osys, ocode) }},
		{"Observation", "category=vital-signs", func(r resource) bool {
			c := r.body.(*fhir.Observation).Category
			return len(c) > 0 && c[0].Coding[0].Code == "vital-signs"
		}},
		{"Observation", "category=laboratory,survey", func(r resource) bool {
			c := r.body.(*fhir.Observation).Category
			return len(c) > 0 && (c[0].Coding[0].Code == "laboratory" || c[0].Coding[0].Code == "survey")
		}},
		{"Observation", "date=" + effective.Format("2006"), func(r resource) bool {
			return onOrAfter(r.body, yearOf(effective)) && before(r.body, yearOf(effective).AddDate(1, 0, 0))
		}},
		{"Observation", "date=ge" + url.QueryEscape(effective.Format(time.RFC3339)), func(r resource) bool {
			return onOrAfter(r.body, effective.Truncate(time.Second))
		}},
		{"Encounter", "class=IMP", func(r resource) bool { return r.body.(*fhir.Encounter).Class.Code == "IMP" }},
		{"Encounter", "class=" + url.QueryEscape(fhir.CSActCode+"|AMB"), func(r resource) bool { return r.body.(*fhir.Encounter).Class.Code == "AMB" }},
		{"Encounter", "status=finished", func(r resource) bool { return r.body.(*fhir.Encounter).Status == "finished" }},
		{"Encounter", "date=ge" + encStart.Format("2006-01-02"), func(r resource) bool {
			// The period overlaps [day, ∞): ongoing, or ended since.
			end, _, ok := when(r.body.(*fhir.Encounter).Period.End)
			return !ok || !end.Before(ingestDay(encStart))
		}},
		{"Encounter", "date=lt" + encStart.Format("2006-01"), func(r resource) bool {
			s, _, _ := when(r.body.(*fhir.Encounter).Period.Start)
			return s.Before(monthOf(encStart))
		}},
		{"Encounter", "date=" + encStart.Format("2006-01"), func(r resource) bool {
			// The period lies within the month.
			e := r.body.(*fhir.Encounter)
			s, _, _ := when(e.Period.Start)
			end, _, ok := when(e.Period.End)
			return ok && !s.Before(monthOf(encStart)) && end.Before(monthOf(encStart).AddDate(0, 1, 0))
		}},
		{"MedicationRequest", "code=" + url.QueryEscape(med.MedicationCodeableConcept.Coding[0].System+"|"+med.MedicationCodeableConcept.Coding[0].Code), func(r resource) bool {
			return hasCoding(r.body, med.MedicationCodeableConcept.Coding[0].System, med.MedicationCodeableConcept.Coding[0].Code)
		}},
		{"MedicationRequest", "status=active", func(r resource) bool { return r.body.(*fhir.MedicationRequest).Status == "active" }},
		{"MedicationRequest", "authoredon=le2020", func(r resource) bool { return before(r.body, day(2021, 1, 1)) }},
		{"Immunization", "vaccine-code=" + imm.VaccineCode.Coding[0].Code, func(r resource) bool { return hasCoding(r.body, "*", imm.VaccineCode.Coding[0].Code) }},
		{"Immunization", "status=completed&date=ge2020", func(r resource) bool {
			return r.body.(*fhir.Immunization).Status == "completed" && onOrAfter(r.body, day(2020, 1, 1))
		}},
		{"Procedure", "code=" + url.QueryEscape(proc.Code.Coding[0].System+"|"+proc.Code.Coding[0].Code), func(r resource) bool {
			return hasCoding(r.body, proc.Code.Coding[0].System, proc.Code.Coding[0].Code)
		}},
		{"Procedure", "date=lt" + procDate.Format("2006"), func(r resource) bool { return before(r.body, yearOf(procDate)) }},
		{"Procedure", "date=gt" + procDate.Format("2006-01-02"), func(r resource) bool { return onOrAfter(r.body, procDate.AddDate(0, 0, 1)) }},
	}
	for _, tt := range tests {
		for _, param := range []string{"patient=" + pid, "subject=Patient/" + pid, "patient=" + url.QueryEscape("https://elsewhere.example/fhir/Patient/"+pid)} {
			if tt.typ == "Immunization" && strings.HasPrefix(param, "subject") {
				continue
			}
			t.Run(tt.typ+"?"+tt.query+"&"+param, func(t *testing.T) {
				q := param
				if tt.query != "" {
					q = tt.query + "&" + param
				}
				got, _ := searchAll(t, f, "/fhir/R4/"+tt.typ+"?_count=4&"+q)
				want := refs(exported(t, f, tt.typ, []int64{person}), tt.keep)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("matches (-want +got):\n%s", diff)
				}
				for _, c := range g.takeCalls() {
					if c.Action != "search" || c.Type != tt.typ || !slices.Equal(c.People, []int64{person}) {
						t.Errorf("Accessed %+v, want search of %s for person %d", c, tt.typ, person)
					}
				}
			})
		}
	}
}

func TestSearchDatePrefixes(t *testing.T) {
	tests := []struct {
		in       string
		from, to time.Time
		bad      bool
	}{
		{in: "2021", from: day(2021, 1, 1), to: day(2022, 1, 1)},
		{in: "ge2021-02", from: day(2021, 2, 1), to: day(2021, 3, 1)},
		{in: "lt2021-02-28", from: day(2021, 2, 28), to: day(2021, 3, 1)},
		{in: "2021-02-28T10:00:00Z", from: time.Date(2021, 2, 28, 10, 0, 0, 0, time.UTC), to: time.Date(2021, 2, 28, 10, 0, 1, 0, time.UTC)},
		{in: "2021-02-28T10:00:00+01:00", from: time.Date(2021, 2, 28, 9, 0, 0, 0, time.UTC), to: time.Date(2021, 2, 28, 9, 0, 1, 0, time.UTC)},
		{in: "2021-02-28T10:00", from: time.Date(2021, 2, 28, 10, 0, 0, 0, time.UTC), to: time.Date(2021, 2, 28, 10, 1, 0, 0, time.UTC)},
		{in: "2021-02-28T10:00:00.5Z", from: time.Date(2021, 2, 28, 10, 0, 0, 5e8, time.UTC), to: time.Date(2021, 2, 28, 10, 0, 0, 6e8, time.UTC)},
		{in: "sa2021", bad: true},
		{in: "2021-13", bad: true},
		{in: "21", bad: true},
		{in: "2021-02-30", bad: true},
	}
	for _, tt := range tests {
		r, err := parseDateRange(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: parsed as %v", tt.in, r)
			}
			continue
		}
		if err != nil || !r.From.Equal(tt.from) || !r.To.Equal(tt.to) {
			t.Errorf("%s = [%v, %v), %v; want [%v, %v)", tt.in, r.From, r.To, err, tt.from, tt.to)
		}
	}
}

func TestSearchVisibility(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	people := mustPeople(t, f, testPeople)
	allowed := map[int64]bool{}
	var allowedIDs []int64
	for i, p := range people {
		if i%3 != 0 {
			allowed[p] = true
			allowedIDs = append(allowedIDs, p)
		}
	}
	g.set(func(g *fakeGuard) { g.allow = allowed })
	hidden := people[0]
	visible := people[1]
	pid := func(p int64) string { return fhir.ResourceID("Patient", p, 0) }

	t.Run("patients by gender: hidden ones neither listed nor counted", func(t *testing.T) {
		g.takeCalls()
		got, total := searchAll(t, f, "/fhir/R4/Patient?gender=female&_count=40")
		want := refs(exported(t, f, "Patient", allowedIDs), func(r resource) bool { return r.body.(*fhir.Patient).Gender == "female" })
		if diff := cmp.Diff(want, got); diff != "" || total != len(want) {
			t.Errorf("total %d; matches (-want +got):\n%s", total, diff)
		}
		var accessed []string
		for _, c := range g.takeCalls() {
			if c.Action != "search" || c.Type != "Patient" || len(c.People) > 40 {
				t.Errorf("Accessed %+v", c)
			}
			for _, p := range c.People {
				if !allowed[p] {
					t.Errorf("Accessed names hidden person %d", p)
				}
				accessed = append(accessed, "Patient/"+pid(p))
			}
		}
		if diff := cmp.Diff(want, accessed); diff != "" {
			t.Errorf("Accessed people differ from those returned (-returned +accessed):\n%s", diff)
		}
	})
	t.Run("conditions of a hidden patient: none, nothing recorded", func(t *testing.T) {
		g.takeCalls()
		r := f.get(t, "/fhir/R4/Condition?patient="+pid(hidden))
		wantStatus(t, r, http.StatusOK)
		if b := r.bundle(t); *b.Total != 0 || len(b.Entry) != 0 {
			t.Errorf("hidden patient's conditions: total %d, %d entries", *b.Total, len(b.Entry))
		}
		if calls := g.takeCalls(); len(calls) != 0 {
			t.Errorf("Accessed %v for an empty result", calls)
		}
	})
	t.Run("conditions of a visible and a hidden patient: only the visible one's", func(t *testing.T) {
		got, total := searchAll(t, f, "/fhir/R4/Condition?patient="+pid(hidden)+","+pid(visible))
		want := refs(exported(t, f, "Condition", []int64{visible}), func(resource) bool { return true })
		if diff := cmp.Diff(want, got); diff != "" || total != len(want) {
			t.Errorf("total %d; (-want +got):\n%s", total, diff)
		}
	})
	t.Run("summary count covers only the visible", func(t *testing.T) {
		g.takeCalls()
		r := f.get(t, "/fhir/R4/Observation?_summary=count&patient="+pid(hidden)+","+pid(visible))
		b := r.bundle(t)
		want := len(exported(t, f, "Observation", []int64{visible}))
		if *b.Total != want || len(b.Entry) != 0 {
			t.Errorf("count total %d with %d entries, want %d and none", *b.Total, len(b.Entry), want)
		}
		if diff := cmp.Diff([]accessCall{{"search", "Observation", []int64{visible}}}, g.takeCalls()); diff != "" {
			t.Errorf("Accessed (-want +got):\n%s", diff)
		}
	})
	t.Run("a clinical search without a patient is refused", func(t *testing.T) {
		r := f.get(t, "/fhir/R4/Condition?code=44054006")
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(issue(t, r).Diagnostics, "patient") {
			t.Errorf("diagnostics %q do not say to name the patient", issue(t, r).Diagnostics)
		}
	})
	t.Run("a patient search finding too many is refused", func(t *testing.T) {
		f.h.maxCandidates = 20
		defer func() { f.h.maxCandidates = MaxCandidates }()
		r := f.get(t, "/fhir/R4/Patient?gender=female")
		wantStatus(t, r, http.StatusBadRequest)
		if !strings.Contains(issue(t, r).Diagnostics, "narrow") {
			t.Errorf("diagnostics %q", issue(t, r).Diagnostics)
		}
	})
	t.Run("include the patient", func(t *testing.T) {
		g.takeCalls()
		r := f.get(t, "/fhir/R4/Encounter?_include=Encounter:patient&_count=3&patient="+pid(visible)+","+pid(people[2]))
		wantStatus(t, r, http.StatusOK)
		b := r.bundle(t)
		var wantInc []string
		for _, id := range b.ids(t, "match") {
			person, _, _ := fhir.ParseResourceID("Encounter", strings.TrimPrefix(id, "Encounter/"))
			if p := "Patient/" + pid(person); !slices.Contains(wantInc, p) {
				wantInc = append(wantInc, p)
			}
		}
		if diff := cmp.Diff(wantInc, b.ids(t, "include")); diff != "" {
			t.Errorf("included (-want +got):\n%s", diff)
		}
		calls := g.takeCalls()
		if len(calls) != 2 || calls[0].Type != "Encounter" || calls[1].Type != "Patient" || !slices.Equal(calls[0].People, calls[1].People) {
			t.Errorf("Accessed %+v, want the same people for Encounter and Patient", calls)
		}
	})
}

func TestSearchPopulationWide(t *testing.T) {
	g := &fakeGuard{readsAll: true}
	f := newFixture(t, g)
	people := mustPeople(t, f, testPeople)
	all := exported(t, f, "Immunization", people)
	code := all[0].body.(*fhir.Immunization).VaccineCode.Coding[0]
	got, total := searchAll(t, f, "/fhir/R4/Immunization?_count=100&vaccine-code="+url.QueryEscape(code.System+"|"+code.Code))
	want := refs(all, func(r resource) bool { return hasCoding(r.body, code.System, code.Code) })
	if diff := cmp.Diff(want, got); diff != "" || total != len(want) {
		t.Errorf("total %d; (-want +got):\n%s", total, diff)
	}
	r := f.get(t, "/fhir/R4/Immunization?_summary=count")
	if b := r.bundle(t); *b.Total != len(all) {
		t.Errorf("count of all immunisations %d, want %d", *b.Total, len(all))
	}
	calls := g.takeCalls()
	if last := calls[len(calls)-1]; last.People != nil {
		t.Errorf("population-wide count recorded people %v, want nil", last.People)
	}

	// Patients, paged through the store rather than the candidate cap.
	got, total = searchAll(t, f, "/fhir/R4/Patient?_count=97")
	if total != testPeople || len(got) != testPeople {
		t.Errorf("all patients: total %d, %d listed", total, len(got))
	}
}

func TestSearchPatients(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	people := mustPeople(t, f, testPeople)
	all := exported(t, f, "Patient", people)
	p0 := all[7].body.(*fhir.Patient)
	family := p0.Name[0].Family
	given := strings.Fields(p0.Name[0].Given[0])
	lastGiven := given[len(given)-1]
	var nhs string
	for _, id := range p0.Identifier {
		if id.System == fhir.SystemNHSNumber {
			nhs = id.Value
		}
	}
	var src fhir.Identifier
	for _, r := range all {
		for _, id := range r.body.(*fhir.Patient).Identifier {
			if strings.HasPrefix(id.System, "urn:wholecare:source:") && src.Value == "" {
				src = id
			}
		}
	}
	startsWith := func(s, prefix string) bool { return strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix)) }
	givenStarts := func(p *fhir.Patient, prefix string) bool {
		for _, n := range p.Name {
			for _, g := range n.Given {
				for _, w := range strings.Fields(g) {
					if startsWith(w, prefix) {
						return true
					}
				}
			}
		}
		return false
	}
	familyStarts := func(p *fhir.Patient, prefix string) bool {
		return len(p.Name) > 0 && startsWith(p.Name[0].Family, prefix)
	}
	hasID := func(p *fhir.Patient, system, value string) bool {
		for _, id := range p.Identifier {
			if (system == "*" || id.System == system) && id.Value == value {
				return true
			}
		}
		return false
	}
	tests := []struct {
		query string
		keep  func(p *fhir.Patient) bool
	}{
		{"family=" + url.QueryEscape(strings.ToLower(family[:3])), func(p *fhir.Patient) bool { return familyStarts(p, family[:3]) }},
		{"family=" + url.QueryEscape(strings.ToUpper(family)), func(p *fhir.Patient) bool { return familyStarts(p, family) }},
		{"given=" + url.QueryEscape(lastGiven[:2]), func(p *fhir.Patient) bool { return givenStarts(p, lastGiven[:2]) }},
		{"name=" + url.QueryEscape(family[:2]), func(p *fhir.Patient) bool { return familyStarts(p, family[:2]) || givenStarts(p, family[:2]) }},
		{"name=" + url.QueryEscape(family[:2]) + "&gender=male", func(p *fhir.Patient) bool {
			return (familyStarts(p, family[:2]) || givenStarts(p, family[:2])) && p.Gender == "male"
		}},
		{"family=%25", func(p *fhir.Patient) bool { return familyStarts(p, "%") }},
		{"gender=female,other", func(p *fhir.Patient) bool { return p.Gender == "female" || p.Gender == "other" }},
		{"birthdate=ge1990&birthdate=lt2000-07", func(p *fhir.Patient) bool {
			return onOrAfter(p, day(1990, 1, 1)) && before(p, day(2000, 7, 1))
		}},
		{"birthdate=" + p0.BirthDate, func(p *fhir.Patient) bool { return p.BirthDate == p0.BirthDate }},
		{"identifier=" + url.QueryEscape(fhir.SystemNHSNumber+"|"+nhs), func(p *fhir.Patient) bool { return hasID(p, fhir.SystemNHSNumber, nhs) }},
		{"identifier=" + nhs, func(p *fhir.Patient) bool { return hasID(p, "*", nhs) }},
		{"identifier=" + url.QueryEscape(src.System+"|"+src.Value), func(p *fhir.Patient) bool { return hasID(p, src.System, src.Value) }},
		{"identifier=" + url.QueryEscape("http://example.org|"+nhs), func(p *fhir.Patient) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, _ := searchAll(t, f, "/fhir/R4/Patient?_count=25&"+tt.query)
			want := refs(all, func(r resource) bool { return tt.keep(r.body.(*fhir.Patient)) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if src.Value == "" || nhs == "" {
		t.Fatal("the population has no source identifier or NHS number to search by")
	}
}

func TestSearchParameters(t *testing.T) {
	g := &fakeGuard{}
	f := newFixture(t, g)
	pid := fhir.ResourceID("Patient", mustPeople(t, f, 1)[0], 0)
	tests := []struct {
		name, path string
		header     []string
		status     int
		check      func(t *testing.T, b testBundle)
	}{
		{name: "unknown parameter", path: "/fhir/R4/Condition?patient=" + pid + "&severity=high", status: 400},
		{name: "unsupported modifier", path: "/fhir/R4/Condition?patient=" + pid + "&code:text=asthma", status: 400},
		{name: "unknown parameter, lenient", path: "/fhir/R4/Condition?patient=" + pid + "&severity=high",
			header: []string{"Prefer", "handling=lenient"}, status: 200, check: func(t *testing.T, b testBundle) {
				if self := b.link("self"); strings.Contains(self, "severity") || !strings.Contains(self, "patient=") {
					t.Errorf("self link %q: want the parameters used, and only those", self)
				}
			}},
		{name: "bad date", path: "/fhir/R4/Condition?patient=" + pid + "&onset-date=yesterday", status: 400},
		{name: "unsupported prefix", path: "/fhir/R4/Condition?patient=" + pid + "&onset-date=ap2020", status: 400},
		{name: "bad count", path: "/fhir/R4/Condition?patient=" + pid + "&_count=many", status: 400},
		{name: "bad status", path: "/fhir/R4/Condition?patient=" + pid + "&clinical-status=dormant", status: 400},
		{name: "reference to another type", path: "/fhir/R4/Condition?subject=Group/g1", status: 400},
		{name: "unsupported include", path: "/fhir/R4/Condition?patient=" + pid + "&_include=Condition:asserter", status: 400},
		{name: "unsupported summary", path: "/fhir/R4/Condition?patient=" + pid + "&_summary=text", status: 400},
		{name: "count capped", path: "/fhir/R4/Observation?patient=" + pid + "&_count=100000", status: 200, check: func(t *testing.T, b testBundle) {
			if !strings.Contains(b.link("self"), "_count="+strconv.Itoa(MaxCount)) {
				t.Errorf("self link %q: want _count=%d", b.link("self"), MaxCount)
			}
		}},
		{name: "count zero", path: "/fhir/R4/Observation?patient=" + pid + "&_count=0", status: 200, check: func(t *testing.T, b testBundle) {
			if *b.Total == 0 || len(b.Entry) != 0 {
				t.Errorf("_count=0: total %d, %d entries; want a total and no entries", *b.Total, len(b.Entry))
			}
		}},
		{name: "offset past the end", path: "/fhir/R4/Observation?patient=" + pid + "&_offset=100000", status: 200, check: func(t *testing.T, b testBundle) {
			if len(b.Entry) != 0 || b.link("previous") == "" || b.link("next") != "" {
				t.Errorf("past the end: %d entries, links %v", len(b.Entry), b.Link)
			}
		}},
		{name: "unknown patient id", path: "/fhir/R4/Condition?patient=Patient/nobody", status: 200, check: func(t *testing.T, b testBundle) {
			if *b.Total != 0 {
				t.Errorf("total %d", *b.Total)
			}
		}},
		{name: "post search", path: "", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.path == "" {
				r = f.do(t, http.MethodPost, "/fhir/R4/Condition/_search", []byte("patient="+pid), "Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = f.get(t, tt.path, tt.header...)
			}
			wantStatus(t, r, tt.status)
			if tt.check != nil {
				tt.check(t, r.bundle(t))
			}
		})
	}
}
