package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/huddle"
)

func TestHuddle(t *testing.T) {
	w := newTrustWorld(t)
	ctx := t.Context()
	teams, err := w.db.ProfessionalTeams(ctx, w.prof, w.clock.now())
	if err != nil || len(teams) == 0 {
		t.Fatalf("teams of the test professional: %v %v", teams, err)
	}
	team := teams[0]
	coord := w.signIn(w.addUser("huddle.coord", auth.CareCoordinator).Name)
	analyst := w.signIn(w.addUser("huddle.analyst", auth.Analyst).Name)

	// Work the rules raised for the team since the huddle began.
	now := w.clock.now()
	cause := []alerts.Cause{{Kind: "encounter", Ref: "enc:1", What: "emergency admission ended"}}
	raised, err := w.db.RaiseAlerts(ctx, []alerts.Alert{
		{PersonID: w.related, Rule: "discharge-follow-up", RuleVer: 1, Key: "enc:1", Title: "Follow up", Reason: "Discharged yesterday", Priority: alerts.High, TeamID: team, Due: now.Add(48 * time.Hour), Causes: cause},
		{PersonID: w.carerOf, Rule: "risk-rise", RuleVer: 1, Key: "band:4", Title: "Risk rose", Reason: "band 2 to 4", Priority: alerts.High, TeamID: team, Due: now.Add(96 * time.Hour), Causes: cause},
		{PersonID: w.related, Rule: "flu-vaccination", RuleVer: 1, Key: "season:2025/26", Title: "Flu", Reason: "due", Priority: alerts.Low, TeamID: team, Due: now, Causes: cause},
	}, now)
	if err != nil || len(raised) != 3 {
		t.Fatal(raised, err)
	}

	var h huddle.Huddle
	status, body := coord.do("POST", fmt.Sprintf("/api/v1/teams/%d/huddles", team), map[string]any{"title": "Neighbourhood MDT", "every_days": 7})
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &h) != nil {
		t.Fatalf("create huddle: %d %s", status, body)
	}
	if status, _ := analyst.do("GET", fmt.Sprintf("/api/v1/teams/%d/huddles", team), nil); status != http.StatusForbidden {
		t.Fatalf("analyst lists huddles: %d", status)
	}
	// A member puts someone on the agenda before the meeting; not someone
	// they have no relationship with.
	if status, body := coord.do("POST", fmt.Sprintf("/api/v1/huddles/%d/items", h.ID), map[string]any{"person_id": w.carerOf, "reason": "carer struggling"}); status != http.StatusCreated {
		t.Fatalf("add item: %d %s", status, body)
	}
	if status, _ := coord.do("POST", fmt.Sprintf("/api/v1/huddles/%d/items", h.ID), map[string]any{"person_id": w.unrelated, "reason": "curious"}); status != http.StatusForbidden {
		t.Fatalf("adding an unrelated person: %d", status)
	}

	type view struct {
		ID     int64         `json:"id"`
		Open   bool          `json:"open"`
		Items  []huddle.Item `json:"items"`
		People map[string]struct {
			FamilyName string `json:"family_name"`
		} `json:"people"`
	}
	open := func() view {
		t.Helper()
		status, body := coord.do("POST", fmt.Sprintf("/api/v1/huddles/%d/meetings", h.ID), nil)
		var v view
		if status != http.StatusCreated || json.Unmarshal([]byte(body), &v) != nil {
			t.Fatalf("open meeting: %d %s", status, body)
		}
		return v
	}
	m1 := open()
	kinds := map[huddle.Kind]huddle.Item{}
	for _, it := range m1.Items {
		kinds[it.Kind] = it
	}
	if len(m1.Items) != 3 || kinds[huddle.Discharge].AlertID != raised[0].ID || kinds[huddle.RiskRise].PersonID != w.carerOf || kinds[huddle.Added].Reason != "carer struggling" {
		t.Fatalf("agenda: %+v", m1.Items)
	}
	if len(m1.People) != 2 {
		t.Fatalf("people on the agenda: %+v", m1.People)
	}
	if status, _ := coord.do("POST", fmt.Sprintf("/api/v1/huddles/%d/meetings", h.ID), nil); status != http.StatusConflict {
		t.Fatalf("a second open meeting: %d", status)
	}
	// Half an hour's discussion before the first decision.
	w.clock.advance(30 * time.Minute)
	coord = w.signIn("huddle.coord")
	decide := func(it huddle.Item, d map[string]any, want int) string {
		t.Helper()
		status, body := coord.do("POST", fmt.Sprintf("/api/v1/huddle-items/%d/decision", it.ID), d)
		if status != want {
			t.Fatalf("decide %d: %d %s", it.ID, status, body)
		}
		return body
	}
	decide(kinds[huddle.Discharge], map[string]any{"outcome": "task"}, http.StatusBadRequest)
	decide(kinds[huddle.Discharge], map[string]any{"outcome": "task", "text": "Sam to visit and reconcile medicines", "assignee_id": w.prof, "due_days": 2}, http.StatusOK)
	decide(kinds[huddle.Discharge], map[string]any{"outcome": "no-action", "text": "again"}, http.StatusConflict)
	decide(kinds[huddle.Added], map[string]any{"outcome": "plan-change", "text": "add a carer's assessment to the plan"}, http.StatusOK)
	if status, body := coord.do("POST", fmt.Sprintf("/api/v1/meetings/%d/close", m1.ID), nil); status != http.StatusOK {
		t.Fatalf("close: %d %s", status, body)
	}
	// The task is on the worklist of the person it was given to.
	status, body = coord.do("GET", "/api/v1/worklist?rule=huddle", nil)
	if status != http.StatusOK || !strings.Contains(body, "Sam to visit and reconcile medicines") {
		t.Fatalf("huddle task on the worklist: %d %.300s", status, body)
	}

	// The next meeting carries the undiscussed risk rise over, and nothing
	// decided comes back.
	w.clock.advance(7 * 24 * time.Hour)
	coord = w.signIn("huddle.coord")
	m2 := open()
	if len(m2.Items) != 1 || m2.Items[0].RolledFrom != kinds[huddle.RiskRise].ID || m2.Items[0].Kind != huddle.RiskRise {
		t.Fatalf("second agenda: %+v", m2.Items)
	}
	decide(m2.Items[0], map[string]any{"outcome": "no-action", "text": "seen by the GP on Monday"}, http.StatusOK)
	status, body = coord.do("GET", fmt.Sprintf("/api/v1/huddles/%d/metrics", h.ID), nil)
	var mt struct {
		Metrics huddle.Metrics `json:"metrics"`
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &mt) != nil {
		t.Fatalf("metrics: %d %s", status, body)
	}
	if m := mt.Metrics; m.Meetings != 2 || m.Items != 3 || m.Decided != 3 || m.RolledOver != 1 || m.Tasks != 1 || m.PlanChanges != 1 || m.MedianMinutes != 30 {
		t.Fatalf("metrics = %+v", m)
	}
	analyst = w.signIn("huddle.analyst")
	if status, _ := analyst.do("GET", fmt.Sprintf("/api/v1/meetings/%d", m2.ID), nil); status != http.StatusForbidden {
		t.Fatalf("analyst reads a meeting: %d", status)
	}
}
