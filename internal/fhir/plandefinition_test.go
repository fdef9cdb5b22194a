package fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

// Every shipped protocol, current and superseded, and what applying it
// proposes, validate against the R4 schema.
func TestPlanDefinitionsAndProposalsValidate(t *testing.T) {
	v := mustSchema(t)
	lib, err := protocols.Shipped(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	who := protocols.Person{Age: 72, Concepts: map[string]bool{"copd": true, "value.current_smoker": true, "med.insulin": true},
		Latest: map[string]protocols.Reading{"obs.systolic_bp": {Value: 150, Date: now}, "obs.hba1c": {Value: 61, Date: now}},
		InPlan: map[string]bool{"copd/action/vaccines": true}}
	n := 0
	for _, p := range lib.Current() {
		for _, current := range []bool{true, false} {
			pd := PlanDefinitionOf(p, current, now)
			raw, _ := json.Marshal(pd)
			if errs := v.Validate(raw); len(errs) > 0 {
				t.Errorf("PlanDefinition %s: %s", p.Key(), strings.Join(errs[:min(3, len(errs))], "; "))
			}
			if pd.Version != "1" || pd.URL != ProtocolURLBase+p.ID || (pd.Status == "active") != current {
				t.Errorf("PlanDefinition %s: version %s url %s status %s", p.Key(), pd.Version, pd.URL, pd.Status)
			}
		}
		prop, err := protocols.Apply(p, who)
		if err != nil {
			t.Fatal(err)
		}
		cp := ProposedCarePlan(p, prop, 42, now)
		raw, _ := json.Marshal(cp)
		if errs := v.Validate(raw); len(errs) > 0 {
			t.Errorf("proposed CarePlan %s: %s", p.Key(), strings.Join(errs[:min(3, len(errs))], "; "))
		}
		if len(cp.Activity) != len(prop.Items) || cp.Intent != "proposal" || cp.Status != "draft" || cp.Subject.Reference != "Patient/p42" {
			t.Errorf("proposed CarePlan %s: %d activities for %d items, %s/%s, %s", p.Key(), len(cp.Activity), len(prop.Items), cp.Intent, cp.Status, cp.Subject.Reference)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("%d protocols checked", n)
	}
}

func TestPlanDefinitionCarriesTheProtocol(t *testing.T) {
	lib, _ := protocols.Shipped(nil, nil)
	p, _ := lib.Latest("copd")
	pd := PlanDefinitionOf(p, true, time.Time{})
	top := pd.Action[0]
	if c := top.Condition[0]; c.Kind != "applicability" || c.Extension[0].URL != ExtCohortExpression || c.Extension[0].ValueString != "has(copd)" {
		t.Fatalf("applicability = %+v", c)
	}
	var smoking *PlanAction
	for i := range top.Action {
		if top.Action[i].ID == "stop-smoking" {
			smoking = &top.Action[i]
		}
	}
	if smoking == nil || smoking.Condition[0].Extension[0].ValueString != "has(value.current_smoker)" || smoking.GoalID[0] != "smoke-free" ||
		smoking.Participant[0].Role.Text != "local stop smoking service" {
		t.Fatalf("stop smoking action = %+v", smoking)
	}
	if len(pd.Goal) != len(p.Goals) || !strings.HasPrefix(pd.Goal[0].Description.Text, "Talk with the person: ") {
		t.Fatalf("goals = %+v", pd.Goal)
	}
	if computableName("type-2-diabetes") != "Type2Diabetes" {
		t.Fatal(computableName("type-2-diabetes"))
	}
}
