package careplan

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/directory"
)

// fakeStore keeps versions in memory, with the store's contract.
type fakeStore struct {
	mu       sync.Mutex
	versions map[int64][]Version
	next     int64
}

func newFakeStore() *fakeStore { return &fakeStore{versions: map[int64][]Version{}} }

func (f *fakeStore) Professional(_ context.Context, id int64) (directory.Professional, error) {
	if id != 7 {
		return directory.Professional{}, apperr.E(apperr.NotFound, "no professional")
	}
	return directory.Professional{ID: 7, GivenName: "Asha", FamilyName: "Patel", Profession: "care-coordinator", OrgID: "Y00001"}, nil
}

func (f *fakeStore) CreatePlan(_ context.Context, v Version) (Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	v.PlanID = f.next
	f.versions[v.PlanID] = []Version{v}
	return v, nil
}

func (f *fakeStore) AppendPlanVersion(_ context.Context, v Version) (Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.versions[v.PlanID]
	if len(vs) != v.Number-1 {
		return Version{}, Stale(v.Number-1, len(vs))
	}
	f.versions[v.PlanID] = append(vs, v)
	return v, nil
}

func (f *fakeStore) PlanVersion(_ context.Context, planID int64, n int) (Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.versions[planID]
	if n == 0 {
		n = len(vs)
	}
	if n < 1 || n > len(vs) {
		return Version{}, apperr.E(apperr.NotFound, "no such version")
	}
	v := vs[n-1]
	v.Plan, _ = clone(v.Plan)
	return v, nil
}

func (f *fakeStore) PlanHistory(context.Context, int64) ([]VersionInfo, error) { return nil, nil }
func (f *fakeStore) PlanHeader(context.Context, int64) (Header, error)         { return Header{}, nil }
func (f *fakeStore) PersonPlans(context.Context, int64) ([]Header, error)      { return nil, nil }
func (f *fakeStore) OverdueReviews(context.Context, OverdueQuery) ([]Header, error) {
	return nil, nil
}

var (
	today        = time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	coordinator  = Actor{UserID: 1, Name: "asha", Role: "care_coordinator", ProfessionalID: 7, Party: PartyProfessional}
	person       = Actor{UserID: 2, Name: "maggie", Role: "service_user", Party: PartyPerson}
	carer        = Actor{UserID: 3, Name: "tom", Role: "carer", Party: PartyRepresentative}
	otherCarer   = Actor{UserID: 4, Name: "sam", Role: "carer", Party: PartyRepresentative}
	confidence7  = 7
	samplePlanFn = func() Plan {
		return Plan{
			Title:           "Maggie's plan",
			WhatMattersMost: "Getting to my granddaughter's wedding in June",
			AboutMe:         AboutMe{MostImportant: "My family and my garden", SupportedBy: "Tom, my son"},
			Strengths:       []string{"I know my body well"},
			Needs:           []Need{{ID: "n1", Description: "I get breathless on the stairs"}},
			Goals:           []Goal{{ID: "g1", NeedID: "n1", Text: "I want to walk to the shop and back", Importance: 9, TargetDate: "2025-07-01"}},
			Actions: []Action{{ID: "a1", GoalID: "g1", What: "Go to pulmonary rehab twice a week", Who: Who{Kind: ByPerson},
				When: "Tuesdays and Fridays", Area: SkillsEducation, Confidence: &confidence7}},
			Coordinator:    Coordinator{ProfessionalID: 7, Contact: "01234 567890"},
			Review:         ReviewSchedule{IntervalMonths: 6, Next: "2025-11-01"},
			Representative: &Representative{Name: "Tom", Relationship: "son", UserID: 3},
		}
	}
)

func newService() (*Service, *fakeStore) {
	st := newFakeStore()
	return NewService(st, func() time.Time { return today }), st
}

func mustCreate(t *testing.T, s *Service) Version {
	t.Helper()
	v, err := s.Create(t.Context(), coordinator, 42, samplePlanFn(), "")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return v
}

func wantKind(t *testing.T, err error, k apperr.Kind, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v containing %q", k, contains)
	}
	if apperr.KindOf(err) != k || !strings.Contains(err.Error(), contains) {
		t.Fatalf("got %v (%v), want %v containing %q", err, apperr.KindOf(err), k, contains)
	}
}

func TestCreateFillsCoordinatorAndStartsDraft(t *testing.T) {
	s, _ := newService()
	v := mustCreate(t, s)
	if v.Number != 1 || v.Plan.Status != Draft || v.Plan.ContentVersion != 1 || v.Plan.NextID != 1 {
		t.Errorf("created %+v", v)
	}
	if got := v.Plan.Coordinator; got.Name != "Asha Patel" || got.OrgID != "Y00001" || got.Contact != "01234 567890" {
		t.Errorf("coordinator %+v", got)
	}
	pl := samplePlanFn()
	pl.Coordinator.ProfessionalID = 99
	_, err := s.Create(t.Context(), coordinator, 42, pl, "")
	wantKind(t, err, apperr.Invalid, "not a professional in the directory")
}

func TestValidation(t *testing.T) {
	ten := 11
	for _, tc := range []struct {
		name   string
		change func(*Plan)
		want   string
	}{
		{"goal without words", func(p *Plan) { p.Goals[0].Text = " " }, "goal g1: text is required"},
		{"importance", func(p *Plan) { p.Goals[0].Importance = 11 }, "importance must be 1 to 10"},
		{"confidence", func(p *Plan) { p.Actions[0].Confidence = &ten }, "confidence must be 0 to 10"},
		{"area", func(p *Plan) { p.Actions[0].Area = "magic" }, `area "magic" is not one of`},
		{"who", func(p *Plan) { p.Actions[0].Who = Who{Kind: ByOrganisation} }, "who (name) is required"},
		{"action of no goal", func(p *Plan) { p.Actions[0].GoalID = "g9" }, `goal "g9" is not in the plan`},
		{"duplicate id", func(p *Plan) { p.Needs[0].ID = "g1"; p.Goals[0].NeedID = "" }, `goal id "g1" is also the id of a need`},
		{"target date", func(p *Plan) { p.Goals[0].TargetDate = "1 July" }, "target date is not YYYY-MM-DD"},
		{"coordinator contact", func(p *Plan) { p.Coordinator.Contact = "" }, "coordinator: how to reach them is required"},
		{"asthma peak flow", func(p *Plan) { p.ActionPlans = []ActionPlan{DefaultActionPlan(Asthma, Thresholds{})} }, "best peak flow"},
		{"copd sputum", func(p *Plan) {
			p.ActionPlans = []ActionPlan{DefaultActionPlan(COPD, Thresholds{UsualBreathlessness: "MRC 3"})}
		}, "usual sputum is required"},
		{"zones", func(p *Plan) {
			ap := DefaultActionPlan(HeartFailure, Thresholds{DryWeightKg: 70})
			ap.Zones = ap.Zones[:2]
			p.ActionPlans = []ActionPlan{ap}
		}, "green, amber and red"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := samplePlanFn()
			p.Status = Draft
			normaliseIDs(&p)
			tc.change(&p)
			wantKind(t, p.Validate(), apperr.Invalid, tc.want)
		})
	}
	p := samplePlanFn()
	p.Status = Draft
	normaliseIDs(&p)
	p.ActionPlans = []ActionPlan{DefaultActionPlan(COPD, Thresholds{UsualBreathlessness: "MRC 3", UsualSputum: "white, mornings"}),
		DefaultActionPlan(Asthma, Thresholds{BestPeakFlow: 450}), DefaultActionPlan(HeartFailure, Thresholds{DryWeightKg: 71.5})}
	if err := p.Validate(); err != nil {
		t.Errorf("a good plan: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	for _, tc := range []struct {
		from, to Status
		ok       bool
	}{
		{Draft, Agreed, true}, {Draft, Active, false}, {Draft, Closed, true},
		{Agreed, Active, true}, {Agreed, Draft, true}, {Agreed, UnderReview, false},
		{Active, UnderReview, true}, {Active, Draft, false}, {Active, Closed, true},
		{UnderReview, Active, true}, {UnderReview, Draft, true},
		{Closed, Draft, false}, {Closed, Active, false},
	} {
		if got := CanMove(tc.from, tc.to); got != tc.ok {
			t.Errorf("CanMove(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
}

func TestAgreementNeedsBothPartiesOnTheCurrentContent(t *testing.T) {
	s, _ := newService()
	ctx := t.Context()
	v := mustCreate(t, s)
	_, err := s.SetStatus(ctx, coordinator, v.PlanID, 1, Agreed, "both said yes")
	wantKind(t, err, apperr.Conflict, "not agreed")
	_, err = s.Agree(ctx, otherCarer, v.PlanID, 1, "")
	wantKind(t, err, apperr.Forbidden, "only the representative the plan names")

	v, err = s.Agree(ctx, person, v.PlanID, 1, "agreed at home")
	if err != nil || v.Plan.Status != Draft {
		t.Fatalf("person agrees: %v %v", v.Plan.Status, err)
	}
	// The content changes before the professional agrees: the person's
	// agreement was to the old content.
	v, _, err = s.PutGoal(ctx, coordinator, v.PlanID, v.Number, Goal{Text: "Sleep through the night", Importance: 6}, "new goal from the person")
	if err != nil {
		t.Fatal(err)
	}
	v, err = s.Agree(ctx, coordinator, v.PlanID, v.Number, "")
	if err != nil || v.Plan.Status != Draft {
		t.Fatalf("professional agrees changed content: %v %v", v.Plan.Status, err)
	}
	v, err = s.Agree(ctx, carer, v.PlanID, v.Number, "on Maggie's behalf")
	if err != nil || v.Plan.Status != Agreed {
		t.Fatalf("representative agrees: %v %v; want agreed", v.Plan.Status, err)
	}
	_, err = s.Agree(ctx, carer, v.PlanID, v.Number, "")
	wantKind(t, err, apperr.Conflict, "already agreed")

	// Changing an agreed plan returns it to draft.
	v2, _, err := s.PutAction(ctx, coordinator, v.PlanID, v.Number, Action{GoalID: "g2", What: "Try a warm drink at 9pm", Who: Who{Kind: ByPerson}, Area: HealthyLife}, "idea at visit")
	if err != nil || v2.Plan.Status != Draft || v2.Plan.FullyAgreed() {
		t.Fatalf("changing an agreed plan: %v agreed=%v %v", v2.Plan.Status, v2.Plan.FullyAgreed(), err)
	}
	// Activate from agreed.
	v, err = s.SetStatus(ctx, coordinator, v2.PlanID, v2.Number, Draft, "reopen")
	wantKind(t, err, apperr.Conflict, "cannot become draft")
}

func TestStaleWriteIsRefused(t *testing.T) {
	s, _ := newService()
	ctx := t.Context()
	v := mustCreate(t, s)
	if _, _, err := s.PutGoal(ctx, coordinator, v.PlanID, 1, Goal{Text: "A"}, "first editor"); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.PutGoal(ctx, coordinator, v.PlanID, 1, Goal{Text: "B"}, "second editor")
	wantKind(t, err, apperr.Conflict, "has changed since version 1")
	if !apperrIsStale(err) {
		t.Errorf("%v does not wrap ErrStale", err)
	}
	_, err = s.Update(ctx, coordinator, v.PlanID, 0, samplePlanFn(), "no base")
	wantKind(t, err, apperr.Invalid, "which version")
	_, err = s.Update(ctx, coordinator, v.PlanID, 2, samplePlanFn(), "")
	wantKind(t, err, apperr.Invalid, "say why")
}

func apperrIsStale(err error) bool {
	for e := err; e != nil; {
		if e == ErrStale {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func activePlan(t *testing.T, s *Service) Version {
	t.Helper()
	ctx := t.Context()
	v := mustCreate(t, s)
	var err error
	for _, a := range []Actor{person, coordinator} {
		if v, err = s.Agree(ctx, a, v.PlanID, v.Number, ""); err != nil {
			t.Fatal(err)
		}
	}
	if v, err = s.SetStatus(ctx, coordinator, v.PlanID, v.Number, Active, "starting"); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReview(t *testing.T) {
	s, _ := newService()
	ctx := t.Context()
	v := activePlan(t, s)
	_, err := s.RecordReview(ctx, coordinator, v.PlanID, v.Number, Review{Scheduled: true, NextReview: "2025-11-01"})
	wantKind(t, err, apperr.Invalid, "record progress on goal g1")
	_, err = s.RecordReview(ctx, coordinator, v.PlanID, v.Number, Review{Scheduled: false, NextReview: "2025-11-01",
		Goals: []GoalProgress{{GoalID: "g1", Progress: ProgressPartly}}})
	wantKind(t, err, apperr.Invalid, "what prompted an unscheduled review")
	_, err = s.RecordReview(ctx, coordinator, v.PlanID, v.Number, Review{Scheduled: true, NextReview: "2025-04-01",
		Goals: []GoalProgress{{GoalID: "g1", Progress: ProgressPartly}}})
	wantKind(t, err, apperr.Invalid, "next review must be after")

	r, err := s.RecordReview(ctx, coordinator, v.PlanID, v.Number, Review{Scheduled: false, Trigger: "after a hospital admission",
		NextReview: "2025-08-01", WhatChanged: "rehab paused while in hospital",
		Goals: []GoalProgress{{GoalID: "g1", Progress: ProgressChanged, NewText: "I want to walk to the end of the road"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan.Status != Active || r.Plan.Review.Next != "2025-08-01" || len(r.Plan.Reviews) != 1 || r.Plan.Reviews[0].Version != r.Number {
		t.Errorf("after review: %+v", r.Plan)
	}
	if r.Plan.Goals[0].Text != "I want to walk to the end of the road" || r.Plan.FullyAgreed() {
		t.Errorf("a changed goal takes the new words and needs agreeing again: %+v agreed=%v", r.Plan.Goals[0], r.Plan.FullyAgreed())
	}
	r, err = s.RecordReview(ctx, coordinator, v.PlanID, r.Number, Review{Scheduled: true, NextReview: "2026-02-01",
		Goals: []GoalProgress{{GoalID: "g1", Progress: ProgressAchieved, Note: "I did it!"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan.Goals[0].Status != GoalAchieved {
		t.Errorf("achieved goal is %s", r.Plan.Goals[0].Status)
	}
	// Nothing open: a review with no goals is fine now.
	if _, err := s.RecordReview(ctx, coordinator, v.PlanID, r.Number, Review{Scheduled: true, NextReview: "2026-08-01"}); err != nil {
		t.Errorf("review with every goal closed: %v", err)
	}
}

func TestDiff(t *testing.T) {
	s, _ := newService()
	ctx := t.Context()
	v1 := mustCreate(t, s)
	v2, _, err := s.PutGoal(ctx, coordinator, v1.PlanID, 1, Goal{ID: "g1", NeedID: "n1", Text: "I want to walk to the shop and back without stopping", Importance: 10, TargetDate: "2025-07-01"}, "in Maggie's words")
	if err != nil {
		t.Fatal(err)
	}
	v3, _, err := s.PutAction(ctx, coordinator, v1.PlanID, 2, Action{GoalID: "g1", What: "Join the Breathe Easy group", Who: Who{Kind: ByOrganisation, Name: "Breathe Easy Anytown"}, Area: SupportNetworks}, "group found")
	if err != nil {
		t.Fatal(err)
	}
	pl := v3.Plan
	pl.Strengths = nil
	pl.WhatMattersMost = "Being there in June"
	v4, err := s.Update(ctx, coordinator, v1.PlanID, 3, pl, "tidy")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Compare(v1, v4)
	if err != nil {
		t.Fatal(err)
	}
	want := []SectionChange{
		{Section: "plan", Op: Changed, Fields: []FieldChange{{Field: "what_matters_most", Before: "Getting to my granddaughter's wedding in June", After: "Being there in June"}}},
		{Section: "strengths", ID: "1", Op: Removed, Item: "I know my body well"},
		{Section: "goals", ID: "g1", Op: Changed, Fields: []FieldChange{
			{Field: "importance", Before: float64(9), After: float64(10)},
			{Field: "text", Before: "I want to walk to the shop and back", After: "I want to walk to the shop and back without stopping"}}},
		{Section: "actions", ID: "a2", Op: Added, Item: map[string]any{"id": "a2", "goal_id": "g1", "what": "Join the Breathe Easy group",
			"who": map[string]any{"kind": "organisation", "name": "Breathe Easy Anytown"}, "area": "support-networks", "status": "planned"}},
	}
	if diff := cmp.Diff(want, d.Changes); diff != "" {
		t.Errorf("diff v1→v4 (-want +got):\n%s", diff)
	}
	back, _ := Compare(v4, v1)
	if len(back.Changes) != len(want) || back.Changes[3].Op != Removed {
		t.Errorf("diff v4→v1: %+v", back.Changes)
	}
	same, _ := Compare(v2, v2)
	if len(same.Changes) != 0 {
		t.Errorf("a version against itself: %+v", same.Changes)
	}
}

func TestActionPlanText(t *testing.T) {
	ap := DefaultActionPlan(Asthma, Thresholds{BestPeakFlow: 500})
	txt := ap.Text()
	for _, want := range []string{"My Asthma action plan", "best peak flow: 500", "400 L/min (80% of my best, 500)",
		"300 L/min (60%", "200 L/min (40%", "RED ZONE", "call 999"} {
		if !strings.Contains(txt, want) {
			t.Errorf("asthma plan text lacks %q:\n%s", want, txt)
		}
	}
	hf := DefaultActionPlan(HeartFailure, Thresholds{DryWeightKg: 70}).Text()
	if !strings.Contains(hf, "72.0 kg or more (my dry weight is 70.0 kg)") {
		t.Errorf("heart failure text:\n%s", hf)
	}
}

func TestClosedPlanIsFinal(t *testing.T) {
	s, _ := newService()
	v := mustCreate(t, s)
	v, err := s.SetStatus(t.Context(), coordinator, v.PlanID, 1, Closed, "person moved away")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.PutGoal(t.Context(), coordinator, v.PlanID, v.Number, Goal{Text: "x"}, "late")
	wantKind(t, err, apperr.Conflict, "closed")
}
