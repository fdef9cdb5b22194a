package rules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/rules"
)

func shipped(t *testing.T) map[string]*rules.Rule {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Shipped(func(text string) error { _, err := population.Parse(text, set); return err })
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*rules.Rule{}
	for _, r := range rs {
		out[r.ID] = r
	}
	return out
}

func TestShippedRules(t *testing.T) {
	rs := shipped(t)
	for _, id := range []string{"discharge-follow-up", "frequent-ae", "death", "flu-vaccination", "care-gaps", "plan-review-overdue", "risk-rise"} {
		if rs[id] == nil {
			t.Errorf("rule %s is not shipped", id)
		}
	}
}

func TestValidateNamesMistakes(t *testing.T) {
	good := rules.Rule{ID: "x", Version: 1, Title: "X", Why: "because", Trigger: rules.Daily, Source: rules.FromCohort, Cohort: "alive",
		Priority: "normal", DueDays: 5, Enabled: true}
	if err := good.Validate(nil); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mod  func(r *rules.Rule)
		want string
	}{
		"trigger":    {func(r *rules.Rule) { r.Trigger = "sometimes" }, "trigger"},
		"source":     {func(r *rules.Rule) { r.Source = "" }, "source"},
		"no cohort":  {func(r *rules.Rule) { r.Cohort = "" }, "cohort"},
		"priority":   {func(r *rules.Rule) { r.Priority = "whenever" }, "priority"},
		"two dues":   {func(r *rules.Rule) { r.DueWorkingDays = 2 }, "due"},
		"season":     {func(r *rules.Rule) { r.Season = "autumn" }, "season"},
		"within":     {func(r *rules.Rule) { r.Trigger, r.Source = rules.OnDischarge, "" }, "within_days"},
		"bad cohort": {func(r *rules.Rule) { r.Cohort = "alive and" }, "cohort: at"},
	} {
		r := good
		c.mod(&r)
		set, _ := codes.Load()
		err := r.Validate(func(text string) error { _, err := population.Parse(text, set); return err })
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want Invalid naming %q", name, err, c.want)
		}
	}
	if _, err := rules.Decode([]byte(`{"id":"x","when":"now"}`)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestSeasons(t *testing.T) {
	flu := shipped(t)["flu-vaccination"]
	for _, c := range []struct {
		now   time.Time
		label string
		ok    bool
	}{
		{time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), "2026/27", true},
		{time.Date(2027, 3, 31, 23, 0, 0, 0, time.UTC), "2026/27", true},
		{time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), "", false},
		{time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), "2026/27", true},
		{time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC), "", false},
	} {
		_, label, ok := flu.SeasonAt(c.now)
		if label != c.label || ok != c.ok {
			t.Errorf("%s: %q %v, want %q %v", c.now.Format(time.DateOnly), label, ok, c.label, c.ok)
		}
	}
	if y := rules.QOFYear(time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)); y != "2026/27" {
		t.Errorf("QOF year %s", y)
	}
}

func TestDischargeRule(t *testing.T) {
	r := shipped(t)["discharge-follow-up"]
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // a Monday
	enc := func(id int64, class record.EncounterClass, start, end time.Time, dest string) record.Encounter {
		return record.Encounter{PersonID: 7, ID: id, Class: class, Start: start, End: end, Discharge: dest, OrgID: "RTEST",
			Provenance: record.Provenance{Source: "hl7v2:RTEST", SourceRef: "V" + string(rune('0'+id))}}
	}
	b := &record.Batch{People: []registry.Person{{ID: 7}}, Encounters: []record.Encounter{
		enc(1, record.EmergencyAdmission, now.Add(-96*time.Hour), now.Add(-2*time.Hour), "home"),  // recent: alert
		enc(2, record.EmergencyAdmission, now.AddDate(0, 0, -30), now.AddDate(0, 0, -25), "home"), // too old
		enc(3, record.ElectiveAdmission, now.Add(-48*time.Hour), now.Add(-1*time.Hour), "home"),   // planned
		enc(4, record.EmergencyAdmission, now.Add(-10*time.Hour), time.Time{}, ""),                // still in hospital
		enc(5, record.EmergencyAdmission, now.Add(-30*time.Hour), now.Add(-20*time.Hour), "died"), // died
	}}
	in := false
	p := rules.Person{ID: 7, Record: b, InCohort: func(string) (bool, error) { return in, nil }}
	cs, err := r.OnPerson(p, now)
	if err != nil || len(cs) != 0 {
		t.Fatalf("outside the cohort, no plan: %+v %v", cs, err)
	}
	p.ActivePlan = true
	cs, err = r.OnPerson(p, now)
	if err != nil || len(cs) != 1 {
		t.Fatalf("with a plan: %+v %v", cs, err)
	}
	c := cs[0]
	if c.Key != "enc:hl7v2:RTEST/V1" || !strings.Contains(c.Reason, "has a care plan in use") || c.Causes[0].Kind != "encounter" {
		t.Fatalf("candidate = %+v", c)
	}
	// Due two working days after the discharge: Monday → Wednesday.
	if want := now.Add(-2*time.Hour).AddDate(0, 0, 2); !c.Due.Equal(want) {
		t.Fatalf("due %v, want %v", c.Due, want)
	}
	p.ActivePlan, in = false, true
	if cs, _ := r.OnPerson(p, now); len(cs) != 1 || !strings.Contains(cs[0].Reason, "kaiser in 2..3") {
		t.Fatalf("in the cohort: %+v", cs)
	}
	// Without the engine the rule cannot decide: Unavailable, to retry.
	p.InCohort = nil
	if _, err := r.OnPerson(p, now); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("without an engine: %v", err)
	}
}

type fakeStore struct {
	raised []alerts.Alert
	closed []int64
}

func (f *fakeStore) RaiseAlerts(_ context.Context, as []alerts.Alert, _ time.Time) ([]alerts.Alert, error) {
	for _, a := range as {
		if err := a.Validate(); err != nil {
			return nil, err
		}
	}
	f.raised = append(f.raised, as...)
	return as, nil
}

func (f *fakeStore) CloseAlertsOf(_ context.Context, id int64, _, _ string, _ time.Time) (int, error) {
	f.closed = append(f.closed, id)
	return 1, nil
}

type owners map[int64][2]int64

func (o owners) AlertOwners(_ context.Context, ids []int64) (map[int64][2]int64, error) {
	out := map[int64][2]int64{}
	for _, id := range ids {
		if v, ok := o[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

type daily struct{}

func (daily) Members(_ context.Context, cohort string, _ time.Time) ([]int64, error) {
	if !strings.Contains(cohort, "since 2026-09-01") {
		return nil, apperr.Ef(apperr.Invalid, "season start not filled in: %s", cohort)
	}
	return []int64{1, 2, 3}, nil
}
func (daily) CareGaps(context.Context, time.Time) ([]rules.Gap, error) {
	return []rules.Gap{{PersonID: 1, Indicator: "DM020", Title: "HbA1c", Action: "review", Year: "2026/27"}}, nil
}
func (daily) OverduePlans(context.Context, time.Time) ([]rules.Overdue, error) {
	return []rules.Overdue{{PersonID: 2, PlanID: 9, NextReview: "2026-10-01", Coordinator: 44}}, nil
}
func (daily) RiskRises(context.Context, time.Time) ([]rules.Rise, error) {
	return []rules.Rise{{PersonID: 3, From: 2, To: 4, Risk: 0.25, Previous: 0.08}}, nil
}

func TestRunner(t *testing.T) {
	rs := shipped(t)
	var list []*rules.Rule
	for _, r := range rs {
		list = append(list, r)
	}
	st := &fakeStore{}
	// Person 3 has no practice team but a plan coordinator; person 4 has
	// no owner at all.
	run := rules.NewRunner(list, st, owners{1: {10, 0}, 2: {10, 44}, 3: {0, 55}})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	res, err := run.Daily(t.Context(), daily{}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]rules.DailyResult{}
	for _, r := range res {
		got[r.Rule] = r
	}
	if got["flu-vaccination"].Raised != 3 || got["care-gaps"].Raised != 1 || got["plan-review-overdue"].Raised != 1 || got["risk-rise"].Raised != 1 {
		t.Fatalf("daily = %+v", res)
	}
	for _, a := range st.raised {
		switch {
		case a.Rule == "plan-review-overdue" && (a.AssigneeID != 44 || a.TeamID != 10 || a.Key != "plan:9:2026-10-01"):
			t.Errorf("plan review alert = %+v", a)
		case a.Rule == "flu-vaccination" && a.PersonID == 3 && (a.TeamID != 0 || a.AssigneeID != 55):
			t.Errorf("flu alert with no team = %+v", a)
		case a.Rule == "flu-vaccination" && a.Key != "season:2026/27":
			t.Errorf("flu key %q", a.Key)
		case a.Rule == "care-gaps" && a.Key != "DM020:2026/27":
			t.Errorf("care gap key %q", a.Key)
		}
	}
	// A death closes the person's work and raises nothing.
	b := &record.Batch{People: []registry.Person{{ID: 4, DateOfDeath: now.AddDate(0, 0, -1)}}}
	raised, err := run.Person(t.Context(), rules.Person{ID: 4, Record: b}, now)
	if err != nil || len(raised) != 0 || len(st.closed) != 1 || st.closed[0] != 4 {
		t.Fatalf("death: %+v %v %v", raised, err, st.closed)
	}
	// A dry run raises nothing.
	svc := rules.Service{Runner: run, Source: daily{}}
	before := len(st.raised)
	cs, err := svc.DryRun(t.Context(), "risk-rise", now)
	if err != nil || len(cs) != 1 || !strings.Contains(cs[0].Reason, "8% to 25%") || len(st.raised) != before {
		t.Fatalf("dry run: %+v %v", cs, err)
	}
	if _, err := svc.DryRun(t.Context(), "discharge-follow-up", now); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("dry run of an event rule: %v", err)
	}
}

func TestFrailtyBandRule(t *testing.T) {
	r := shipped(t)["new-frailty-band"]
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	bands := []string{"fit", "mild", "moderate", "severe"}
	p := rules.Person{ID: 7, Record: &record.Batch{People: []registry.Person{{ID: 7}}}}
	frailty := func(then, nowBand int) func(time.Time) (int, string, int, error) {
		return func(at time.Time) (int, string, int, error) {
			b := nowBand
			if at.Before(now) {
				b = then
			}
			return b, bands[b], 4 * (b + 1), nil
		}
	}
	p.Frailty = frailty(1, 2)
	cs, err := r.OnPerson(p, now)
	if err != nil || len(cs) != 1 || cs[0].Key != "efi:moderate" || !strings.Contains(cs[0].Reason, "mild 90 days ago") {
		t.Fatalf("mild to moderate: %+v %v", cs, err)
	}
	for _, same := range [][2]int{{2, 2}, {3, 2}} {
		p.Frailty = frailty(same[0], same[1])
		if cs, _ := r.OnPerson(p, now); len(cs) != 0 {
			t.Fatalf("%s to %s raised %+v", bands[same[0]], bands[same[1]], cs)
		}
	}
}
