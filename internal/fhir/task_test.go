package fhir

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
)

func TestTaskAndFlagValidate(t *testing.T) {
	v := mustSchema(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, a := range []alerts.Alert{
		{ID: 3, PersonID: 7, Rule: "discharge-follow-up", RuleVer: 1, Key: "enc:x/1", Title: "Follow up", Reason: "Discharged on …", Priority: alerts.High,
			Status: alerts.Open, TeamID: 4, Due: now.Add(48 * time.Hour), CreatedAt: now, UpdatedAt: now, Version: 1,
			Causes: []alerts.Cause{{Kind: "encounter", Ref: "enc:x/1", What: "emergency admission ended"}}},
		{ID: 4, PersonID: 7, Rule: "care-gaps", RuleVer: 1, Key: "DM020:2026/27", Title: "Close a care gap", Reason: "HbA1c", Priority: alerts.Normal,
			Status: alerts.Snoozed, AssigneeID: 9, SnoozedUntil: now.AddDate(0, 0, 7), EscalatedAt: now, Due: now, CreatedAt: now, UpdatedAt: now, Version: 3,
			Causes: []alerts.Cause{{Kind: "care_gap", Ref: "DM020", What: "gap"}}},
		{ID: 5, PersonID: 7, Rule: "x", RuleVer: 2, Key: "k", Title: "t", Reason: "r", Priority: alerts.Urgent, Status: alerts.Done, TeamID: 4,
			Due: now, CreatedAt: now, UpdatedAt: now.Add(time.Hour), Version: 2, Causes: []alerts.Cause{{Kind: "score", Ref: "risk", What: "rose"}}},
	} {
		raw, _ := json.Marshal(TaskOf(a))
		if errs := v.Validate(raw); len(errs) > 0 {
			t.Errorf("Task of %s: %v", a.Status, errs)
		}
		raw, _ = json.Marshal(FlagOf(a))
		if errs := v.Validate(raw); len(errs) > 0 {
			t.Errorf("Flag of %s: %v", a.Status, errs)
		}
	}
	tk := TaskOf(alerts.Alert{ID: 3, PersonID: 7, Status: alerts.InProgress, Priority: alerts.Urgent, AssigneeID: 9})
	if tk.ID != "tk7-3" || tk.Status != "in-progress" || tk.Priority != "asap" || tk.Owner.Reference != "Practitioner/pr9" {
		t.Fatalf("task = %+v", tk)
	}
	if p, a, ok := ParseTaskID("tk7-3"); !ok || p != 7 || a != 3 {
		t.Fatal("task id does not parse back")
	}
	if f := FlagOf(alerts.Alert{ID: 3, PersonID: 7, Status: alerts.Dismissed}); f.Status != "inactive" {
		t.Fatalf("flag of a dismissed alert: %s", f.Status)
	}
}
