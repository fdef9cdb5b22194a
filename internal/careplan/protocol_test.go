package careplan

import (
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

func TestApplyProtocolItemByItem(t *testing.T) {
	s, _ := newService()
	v := mustCreate(t, s)
	lib, err := protocols.Shipped(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	copd, _ := lib.Latest("copd")
	who := protocols.Person{Age: 70, Concepts: map[string]bool{"copd": true, "value.current_smoker": true}, InPlan: v.Plan.InPlan()}
	prop, err := protocols.Apply(copd, who)
	if err != nil {
		t.Fatal(err)
	}
	decide := []protocols.Decision{
		{Key: "copd/goal/breathing", Choice: protocols.Accept, PersonWords: "Walk the dog round the park again"},
		{Key: "copd/action/pulmonary-rehab", Choice: protocols.Accept},                                             // serves the breathing goal
		{Key: "copd/action/inhaler-technique", Choice: protocols.Edit, Text: "Check my new inhaler", GoalID: "g1"}, // no protocol goal: names one
		{Key: "copd/action/stop-smoking", Choice: protocols.Decline, Reason: "stopped last month, not yet recorded"},
		{Key: "copd/review/interval", Choice: protocols.Accept},
	}
	v2, err := s.ApplyProtocol(t.Context(), coordinator, v.PlanID, v.Number, copd, prop, decide, "")
	if err != nil {
		t.Fatal(err)
	}
	pl := v2.Plan
	var goal *Goal
	for i := range pl.Goals {
		if pl.Goals[i].FromProtocol == "copd/goal/breathing" {
			goal = &pl.Goals[i]
		}
	}
	if goal == nil || goal.Text != "Walk the dog round the park again" {
		t.Fatalf("goal = %+v", goal)
	}
	byKey := map[string]Action{}
	for _, a := range pl.Actions {
		byKey[a.FromProtocol] = a
	}
	if a := byKey["copd/action/pulmonary-rehab"]; a.GoalID != goal.ID || a.Who.Kind != ByOrganisation || a.Who.Name != "pulmonary rehabilitation service" || a.Area != SkillsEducation {
		t.Fatalf("rehab action = %+v", a)
	}
	if a := byKey["copd/action/inhaler-technique"]; a.GoalID != "g1" || a.What != "Check my new inhaler" {
		t.Fatalf("edited action = %+v", a)
	}
	if _, ok := byKey["copd/action/stop-smoking"]; ok {
		t.Fatal("a declined item went into the plan")
	}
	if pl.Review.IntervalMonths != 12 || v2.Change.Kind != FromProtocol {
		t.Fatalf("review %d, change %s", pl.Review.IntervalMonths, v2.Change.Kind)
	}
	rec := pl.Protocols[len(pl.Protocols)-1]
	if rec.Protocol != "copd" || rec.Version != 1 || len(rec.Items) != 5 || rec.Items[0].Kind != protocols.GoalItem {
		t.Fatalf("record = %+v", rec)
	}

	// Proposed again, the accepted items say they are in the plan and
	// cannot be added twice; undecided ones still can be.
	prop2, _ := protocols.Apply(copd, protocols.Person{Age: 70, Concepts: map[string]bool{"copd": true}, InPlan: pl.InPlan()})
	for _, it := range prop2.Items {
		want := it.Key == "copd/goal/breathing" || it.Key == "copd/action/pulmonary-rehab" || it.Key == "copd/action/inhaler-technique" || it.Key == "copd/review/interval"
		if it.AlreadyInPlan != want {
			t.Errorf("%s: already in plan %v, want %v", it.Key, it.AlreadyInPlan, want)
		}
	}
	_, err = s.ApplyProtocol(t.Context(), coordinator, v.PlanID, v2.Number, copd, prop2, []protocols.Decision{{Key: "copd/action/pulmonary-rehab", Choice: protocols.Accept}}, "")
	wantKind(t, err, apperr.Conflict, "already in the plan")
	// An action whose goal is not in the plan needs one named.
	_, err = s.ApplyProtocol(t.Context(), coordinator, v.PlanID, v2.Number, copd, prop2, []protocols.Decision{{Key: "copd/action/rescue-pack", Choice: protocols.Accept}}, "")
	wantKind(t, err, apperr.Invalid, "goal_id")
	// A goal without the person's words, a stale base, a key decided twice.
	_, err = s.ApplyProtocol(t.Context(), coordinator, v.PlanID, v2.Number, copd, prop2, []protocols.Decision{{Key: "copd/goal/flare-ups", Choice: protocols.Accept}}, "")
	wantKind(t, err, apperr.Invalid, "own words")
	_, err = s.ApplyProtocol(t.Context(), coordinator, v.PlanID, v.Number, copd, prop2, []protocols.Decision{{Key: "copd/action/vaccines", Choice: protocols.Accept, GoalID: "g1"}}, "")
	if !apperrIsStale(err) {
		t.Fatalf("stale base: %v", err)
	}
	_, err = s.ApplyProtocol(t.Context(), coordinator, v.PlanID, v2.Number, copd, prop2, []protocols.Decision{
		{Key: "copd/action/vaccines", Choice: protocols.Accept, GoalID: "g1"}, {Key: "copd/action/vaccines", Choice: protocols.Decline, Reason: "x"}}, "")
	wantKind(t, err, apperr.Invalid, "decided twice")
}
