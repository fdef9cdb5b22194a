package protocols_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/population"
)

func checkers(t *testing.T) (protocols.CohortChecker, protocols.ConceptChecker) {
	t.Helper()
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	cohort := func(text string) error { _, err := population.Parse(text, set); return err }
	concept := func(c string) bool { _, ok := set.Info(codes.Concept(c)); return ok }
	return cohort, concept
}

func shipped(t *testing.T) *protocols.Library {
	t.Helper()
	lib, err := protocols.Shipped(checkers(t))
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// The issue asks for at least these ten.
func TestShippedLibraryHasTheTenProtocols(t *testing.T) {
	lib := shipped(t)
	want := []string{"asthma", "ckd", "copd", "dementia", "frailty", "heart-failure", "hypertension", "multimorbidity", "serious-mental-illness", "type-2-diabetes"}
	var got []string
	for _, p := range lib.Current() {
		got = append(got, p.ID)
		if p.Version < 1 {
			t.Errorf("%s: version %d", p.ID, p.Version)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("protocols = %v, want %v", got, want)
	}
	for _, id := range []string{"copd", "asthma", "heart-failure"} {
		p, _ := lib.Latest(id)
		if p.ActionPlan == "" {
			t.Errorf("%s: no condition action plan", id)
		}
	}
}

func valid() *protocols.Protocol {
	return &protocols.Protocol{
		ID: "test", Version: 1, Title: "Test", Summary: "A test protocol.", Sources: []string{"none"},
		AppliesTo:    protocols.Applicability{Cohort: "has(copd)", Concepts: []string{"copd"}, Description: "people with COPD"},
		ReviewMonths: 12,
		Goals:        []protocols.GoalPrompt{{ID: "g", Area: protocols.Lifestyle, Prompt: "What matters?", Why: "because"}},
		Actions: []protocols.Action{
			{ID: "a1", Area: protocols.Information, What: "w", Who: protocols.ByPerson, When: "now", Goal: "g"},
			{ID: "a2", Area: protocols.Skills, What: "w", Who: protocols.ByPerson, When: "now"},
			{ID: "a3", Area: protocols.Tools, What: "w", Who: protocols.ByPerson, When: "now"},
			{ID: "a4", Area: protocols.Lifestyle, What: "w", Who: protocols.ByPerson, When: "now", If: []string{"value.current_smoker"}},
			{ID: "a5", Area: protocols.Support, What: "w", Who: protocols.ByProfessional, Role: "nurse", When: "now"},
		},
		Monitoring: []protocols.Monitor{{ID: "m", Concept: "obs.systolic_bp", Every: 12, Who: protocols.ByPerson, Thresholds: []protocols.Threshold{
			{Zone: protocols.Target, Op: "<=", Value: 140, Unit: "mmHg", Meaning: "ok", Age: "<80"},
			{Zone: protocols.Target, Op: "<=", Value: 150, Unit: "mmHg", Meaning: "ok", Age: ">=80"},
			{Zone: protocols.Amber, Op: ">", Value: 140, Unit: "mmHg", Meaning: "high", Age: "<80"},
			{Zone: protocols.Amber, Op: ">", Value: 150, Unit: "mmHg", Meaning: "high", Age: ">=80"},
			{Zone: protocols.Red, Op: ">=", Value: 180, Unit: "mmHg", Meaning: "very high"},
		}}},
		Information: []protocols.InfoItem{{ID: "i", Title: "About", Topic: "condition"}},
	}
}

func TestValidateNamesEveryMistake(t *testing.T) {
	cohort, concept := checkers(t)
	if err := valid().Validate(cohort, concept); err != nil {
		t.Fatalf("valid protocol refused: %v", err)
	}
	cases := []struct {
		name string
		mod  func(p *protocols.Protocol)
		want string
	}{
		{"bad id", func(p *protocols.Protocol) { p.ID = "COPD!" }, "id:"},
		{"version 0", func(p *protocols.Protocol) { p.Version = 0 }, "version:"},
		{"revision without changes", func(p *protocols.Protocol) { p.Version = 2 }, "changes:"},
		{"cohort mistake", func(p *protocols.Protocol) { p.AppliesTo.Cohort = "has(copd) and" }, "applies_to.cohort: at "},
		{"unknown concept", func(p *protocols.Protocol) { p.AppliesTo.Concepts = []string{"no_such"} }, `applies_to.concepts[0]: unknown concept "no_such"`},
		{"area", func(p *protocols.Protocol) { p.Actions[0].Area = "spiritual" }, "actions[0].area"},
		{"missing self-care area", func(p *protocols.Protocol) { p.Actions = p.Actions[1:] }, `no action in the "information" self-care area`},
		{"who", func(p *protocols.Protocol) { p.Actions[1].Who = "robot" }, "actions[1].who"},
		{"professional without role", func(p *protocols.Protocol) { p.Actions[4].Role = "" }, "actions[4].role"},
		{"unknown goal", func(p *protocols.Protocol) { p.Actions[0].Goal = "nope" }, `actions[0].goal: no goal "nope"`},
		{"duplicate id", func(p *protocols.Protocol) { p.Actions[1].ID = "a1" }, `"a1" is also used by actions[0]`},
		{"goal prompt", func(p *protocols.Protocol) { p.Goals[0].Prompt = " " }, "goals[0].prompt"},
		{"monitor concept", func(p *protocols.Protocol) { p.Monitoring[0].Concept = "copd" }, "monitoring[0].concept"},
		{"threshold op", func(p *protocols.Protocol) { p.Monitoring[0].Thresholds[0].Op = "~" }, "monitoring[0].thresholds[0].op"},
		{"threshold age", func(p *protocols.Protocol) { p.Monitoring[0].Thresholds[0].Age = "old" }, "monitoring[0].thresholds[0].age"},
		{"review", func(p *protocols.Protocol) { p.ReviewMonths = 0 }, "review_months"},
		{"action plan", func(p *protocols.Protocol) { p.ActionPlan = "gout" }, "action_plan"},
		{"no information", func(p *protocols.Protocol) { p.Information = nil }, "information:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := valid()
			c.mod(p)
			err := p.Validate(cohort, concept)
			if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want Invalid naming %q", err, c.want)
			}
		})
	}
}

func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": `{"id":"x","colour":"red"}`,
		"wrong type":    `{"id":"x","version":"one"}`,
		"trailing":      `{"id":"x"} {}`,
		"not json":      `{"id":`,
		"empty":         ``,
	} {
		if _, err := protocols.Decode([]byte(doc)); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: err = %v, want Invalid", name, err)
		}
	}
}

func TestLoadRefusesGapsInVersions(t *testing.T) {
	cohort, concept := checkers(t)
	p2 := valid()
	p2.Version, p2.Changes = 2, "second"
	b := mustJSON(t, p2)
	_, err := protocols.LoadFS(fstest.MapFS{"lib/test.v2.json": {Data: b}}, "lib", cohort, concept)
	if err == nil || !strings.Contains(err.Error(), "found version 2 where 1 was expected") {
		t.Fatalf("err = %v", err)
	}
	_, err = protocols.LoadFS(fstest.MapFS{"lib/bad.json": {Data: []byte(`{"id":"x","extra":1}`)}}, "lib", cohort, concept)
	if err == nil || !strings.HasPrefix(err.Error(), "bad.json: ") {
		t.Fatalf("err = %v, want the file named", err)
	}
}

func TestRevisionsKeepOldVersions(t *testing.T) {
	lib := shipped(t)
	v1, _ := lib.Latest("copd")
	rev := *v1
	rev.Version = 3
	rev.Changes = "skipped a number"
	if _, err := lib.With(&rev); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("version 3 after 1: err = %v, want Conflict", err)
	}
	rev.Version = 2
	rev.ReviewMonths = 6
	lib2, err := lib.With(&rev)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := lib2.Latest("copd"); p.Version != 2 || p.ReviewMonths != 6 {
		t.Fatalf("latest = %+v", p)
	}
	if p, err := lib2.Get("copd@1"); err != nil || p.ReviewMonths != 12 {
		t.Fatalf("copd@1 = %+v, %v", p, err)
	}
	if p, _ := lib.Latest("copd"); p.Version != 1 {
		t.Fatal("With changed the library it was called on")
	}
	if _, err := lib2.Get("copd@9"); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("copd@9: %v", err)
	}
	if _, err := lib2.Get("copd@x"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("copd@x: %v", err)
	}
	fresh := valid()
	fresh.ID, fresh.Version = "new-one", 2
	if _, err := lib.With(fresh); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("new protocol at version 2: %v", err)
	}
}

func item(p protocols.Proposal, key string) (protocols.Item, bool) {
	for _, it := range p.Items {
		if it.Key == key {
			return it, true
		}
	}
	return protocols.Item{}, false
}

func TestApplyCOPD(t *testing.T) {
	lib := shipped(t)
	copd, _ := lib.Latest("copd")
	day := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	smoker := protocols.Person{
		Age:      71,
		Concepts: map[string]bool{"copd": true, "value.current_smoker": true},
		Latest:   map[string]protocols.Reading{"obs.mrc_dyspnoea": {Value: 4, Date: day}, "obs.spo2": {Value: 95, Date: day}},
		InPlan:   map[string]bool{"copd/action/vaccines": true},
	}
	p, err := protocols.Apply(copd, smoker)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Applies || p.Because != "has copd" || p.Protocol != "copd" || p.Version != 1 {
		t.Fatalf("proposal = %+v", p)
	}
	g, ok := item(p, "copd/goal/breathing")
	if !ok || !g.NeedsPersonWords || g.Kind != protocols.GoalItem {
		t.Fatalf("goal = %+v", g)
	}
	if it, ok := item(p, "copd/action/stop-smoking"); !ok || it.Goal != "copd/goal/smoke-free" || it.Who != protocols.ByOrganisation {
		t.Fatalf("stop smoking = %+v, %v", it, ok)
	}
	if it, _ := item(p, "copd/monitoring/mrc"); it.Zone != protocols.Amber || it.Latest == nil || it.Latest.Value != 4 {
		t.Fatalf("mrc = %+v", it)
	}
	if it, _ := item(p, "copd/monitoring/oxygen-saturation"); it.Zone != protocols.Target {
		t.Fatalf("spo2 = %+v", it)
	}
	if it, _ := item(p, "copd/monitoring/cat"); it.Latest != nil || it.Why != "no reading recorded" {
		t.Fatalf("cat = %+v", it)
	}
	if it, _ := item(p, "copd/action/vaccines"); !it.AlreadyInPlan {
		t.Fatal("an item the plan carries is not marked")
	}
	if it, ok := item(p, "copd/action_plan/copd"); !ok || it.Kind != protocols.ActionPlanItem {
		t.Fatal("no action plan item")
	}
	if it, _ := item(p, "copd/care_gap/copd014"); it.Why != "COPD014" {
		t.Fatalf("care gap = %+v", it)
	}
	if it, _ := item(p, "copd/review/interval"); it.Months != 12 {
		t.Fatalf("review = %+v", it)
	}

	// A non-smoker is not offered the stop smoking service; someone without
	// COPD is told the protocol does not apply.
	p, _ = protocols.Apply(copd, protocols.Person{Age: 50, Concepts: map[string]bool{"asthma": true}})
	if _, ok := item(p, "copd/action/stop-smoking"); ok {
		t.Fatal("stop smoking proposed to a non-smoker")
	}
	if p.Applies || !strings.Contains(p.Because, "none of copd") {
		t.Fatalf("applies to someone without COPD: %+v", p)
	}
}

func TestApplyUsesTheCohortWhenTheEngineAnswers(t *testing.T) {
	lib := shipped(t)
	mm, _ := lib.Latest("multimorbidity")
	p, _ := protocols.Apply(mm, protocols.Person{Age: 80})
	if p.Applies || !strings.Contains(p.Because, "could not check") {
		t.Fatalf("without an engine: %+v", p)
	}
	var asked string
	p, err := protocols.Apply(mm, protocols.Person{Age: 80, InCohort: func(c string) (bool, error) { asked = c; return true, nil }})
	if err != nil || !p.Applies || asked != "kaiser >= 2" {
		t.Fatalf("with an engine: %+v %v (asked %q)", p, err, asked)
	}
	_, err = protocols.Apply(mm, protocols.Person{InCohort: func(string) (bool, error) { return false, apperr.E(apperr.Unavailable, "engine building") }})
	if !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("engine error: %v", err)
	}
}

func TestThresholdsFollowAge(t *testing.T) {
	lib := shipped(t)
	hyp, _ := lib.Latest("hypertension")
	at := func(age int, sbp float64) protocols.Zone {
		p, _ := protocols.Apply(hyp, protocols.Person{Age: age, Concepts: map[string]bool{"hypertension": true},
			Latest: map[string]protocols.Reading{"obs.systolic_bp": {Value: sbp}}})
		it, _ := item(p, "hypertension/monitoring/blood-pressure")
		return it.Zone
	}
	for _, c := range []struct {
		age  int
		sbp  float64
		want protocols.Zone
	}{{60, 138, protocols.Target}, {60, 145, protocols.Amber}, {85, 145, protocols.Target}, {85, 155, protocols.Amber}, {85, 185, protocols.Red}, {-1, 145, ""}, {-1, 190, protocols.Red}} {
		if got := at(c.age, c.sbp); got != c.want {
			t.Errorf("age %d, systolic %g: zone %q, want %q", c.age, c.sbp, got, c.want)
		}
	}
}

func TestDecideNeverWritesInThePersonsVoice(t *testing.T) {
	lib := shipped(t)
	copd, _ := lib.Latest("copd")
	p, _ := protocols.Apply(copd, protocols.Person{Age: 70, Concepts: map[string]bool{"copd": true}})
	goal := "copd/goal/breathing"
	prompt, _ := item(p, goal)
	bad := []protocols.Decision{
		{Key: goal, Choice: protocols.Accept},
		{Key: goal, Choice: protocols.Accept, PersonWords: prompt.Text},
		{Key: "copd/action/inhaler-technique", Choice: protocols.Accept, PersonWords: "I want"},
		{Key: "copd/action/inhaler-technique", Choice: protocols.Edit},
		{Key: "copd/action/inhaler-technique", Choice: protocols.Accept, Text: "changed"},
		{Key: "copd/action/inhaler-technique", Choice: protocols.Decline},
		{Key: "copd/action/inhaler-technique", Choice: "maybe"},
	}
	for _, d := range bad {
		if _, err := protocols.Decide(p, d); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%+v: err = %v, want Invalid", d, err)
		}
	}
	if _, err := protocols.Decide(p, protocols.Decision{Key: "copd/action/nope", Choice: protocols.Accept}); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("unknown item: %v", err)
	}
	got, err := protocols.Decide(p, protocols.Decision{Key: goal, Choice: protocols.Accept, PersonWords: "  Walk to my allotment without stopping  "})
	if err != nil || got.Decision.PersonWords != "Walk to my allotment without stopping" || got.Item.Text != prompt.Text {
		t.Fatalf("accepted goal = %+v, %v", got, err)
	}
	got, err = protocols.Decide(p, protocols.Decision{Key: "copd/action/inhaler-technique", Choice: protocols.Edit, Text: "Check technique with the new spacer"})
	if err != nil || got.Item.Text != "Check technique with the new spacer" {
		t.Fatalf("edited = %+v, %v", got, err)
	}
	if _, err := protocols.Decide(p, protocols.Decision{Key: "copd/action/pulmonary-rehab", Choice: protocols.Decline, Reason: "done last year"}); err != nil {
		t.Fatal(err)
	}
}
