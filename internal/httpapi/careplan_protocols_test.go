package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/fhir/fhirschema"
)

func fhirValidator(t *testing.T) *fhirschema.Validator {
	t.Helper()
	dir := os.Getenv("WHOLECARE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	v, err := fhirschema.LoadFile(filepath.Join(dir, "fhir-r4", "schema", "fhir.schema.json"))
	if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "no such file")) {
		t.Skipf("FHIR R4 schema not found under %s (set WHOLECARE_SHARED_DATA)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCarePlanFromTwoProtocolsEndToEnd is issue 7's "done when": a plan for
// a person with COPD and diabetes made from two protocols, goals in the
// person's words, agreed, reviewed twice, and read back through FHIR
// (every resource valid against the R4 schema) and as the person, on
// their own page.
func TestCarePlanFromTwoProtocolsEndToEnd(t *testing.T) {
	schema := fhirValidator(t)
	w := newTrustWorld(t)
	w.addUser("two.coordinator", auth.CareCoordinator)
	w.addUser("two.person", auth.ServiceUser)
	coord, me := w.signIn("two.coordinator"), w.signIn("two.person")
	plans := "/api/v1/careplans/"

	v := coord.mustPlan(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/people/%d/careplans", w.related), map[string]any{"plan": map[string]any{
		"title": "My lungs and my diabetes", "what_matters_most": "Staying in my own home and getting to the allotment",
		"coordinator": map[string]any{"professional_id": w.prof, "contact": "01632 960000"}}, "reason": "first conversation"})
	id := fmt.Sprint(v.PlanID)

	// What each protocol proposes; goals come as prompts, never as goals.
	proposal := func(protocol string) protocols.Proposal {
		t.Helper()
		status, body := coord.do("GET", plans+id+"/protocols/"+protocol+"/proposal", nil)
		var out struct {
			Proposal protocols.Proposal `json:"proposal"`
		}
		if status != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || len(out.Proposal.Items) == 0 {
			t.Fatalf("%s proposal: %d %.300s", protocol, status, body)
		}
		for _, it := range out.Proposal.Items {
			if it.Kind == protocols.GoalItem && !it.NeedsPersonWords {
				t.Fatalf("%s: goal %s without asking for the person's words", protocol, it.Key)
			}
		}
		return out.Proposal
	}
	proposal("copd")
	// A goal without the person's words is refused and changes nothing.
	status, body := coord.do("POST", plans+id+"/protocols/copd/decisions", map[string]any{"based_on": v.Version,
		"decisions": []map[string]any{{"key": "copd/goal/breathing", "choice": "accept"}}})
	if status != http.StatusBadRequest || !strings.Contains(body, "own words") {
		t.Fatalf("goal without words: %d %.300s", status, body)
	}
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/protocols/copd/decisions", map[string]any{"based_on": v.Version, "decisions": []map[string]any{
		{"key": "copd/goal/breathing", "choice": "accept", "person_words": "Walk up the hill to the allotment without stopping"},
		{"key": "copd/action/pulmonary-rehab", "choice": "accept"},
		{"key": "copd/action/inhaler-technique", "choice": "edit", "text": "Show the nurse how I use my new inhaler", "goal_id": "g1"},
		{"key": "copd/action/vaccines", "choice": "decline", "reason": "had both this autumn"},
		{"key": "copd/review/interval", "choice": "accept"},
	}})
	if len(v.Plan.Goals) != 1 || len(v.Plan.Actions) != 2 || v.Plan.Review.IntervalMonths != 12 {
		t.Fatalf("after COPD: %+v", v.Plan)
	}
	dm := proposal("type-2-diabetes")
	for _, it := range dm.Items {
		if it.AlreadyInPlan {
			t.Fatalf("a diabetes item marked as in the plan: %s", it.Key)
		}
	}
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/protocols/type-2-diabetes/decisions", map[string]any{"based_on": v.Version, "decisions": []map[string]any{
		{"key": "type-2-diabetes/goal/understanding", "choice": "accept", "person_words": "Understand what my sugar numbers mean"},
		{"key": "type-2-diabetes/action/structured-education", "choice": "accept"},
		{"key": "type-2-diabetes/action/foot-check", "choice": "accept", "goal_id": "g1"},
	}})
	if len(v.Plan.Goals) != 2 || len(v.Plan.Actions) != 4 || len(v.Plan.Protocols) != 2 {
		t.Fatalf("after diabetes: %d goals, %d actions, %d protocols", len(v.Plan.Goals), len(v.Plan.Actions), len(v.Plan.Protocols))
	}
	// Proposed again, what was accepted says so.
	again := proposal("copd")
	for _, it := range again.Items {
		if it.Key == "copd/action/pulmonary-rehab" && !it.AlreadyInPlan {
			t.Fatal("pulmonary rehabilitation not marked as in the plan")
		}
	}
	// The person changes their own goal's words.
	dmGoal := v.Plan.Goals[1].ID
	v = coord.mustPlan(http.StatusOK, "PUT", plans+id+"/goals/"+dmGoal, map[string]any{"text": "Know what my sugar numbers mean and what to do",
		"importance": 8, "reason": "the person's own words, changed at the second visit", "based_on": v.Version})

	// Agreed by both, then active; reviewed twice.
	v = me.mustPlan(http.StatusOK, "POST", plans+id+"/agreements", map[string]any{"based_on": v.Version})
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/agreements", map[string]any{"based_on": v.Version})
	if !v.Agreed {
		t.Fatal("not agreed after both agreed")
	}
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/status", map[string]any{"status": "active", "reason": "agreed", "based_on": v.Version})
	w.clock.advance(90 * 24 * time.Hour)
	coord, me = w.signIn("two.coordinator"), w.signIn("two.person")
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/reviews", map[string]any{"scheduled": true, "next_review": "2025-10-01", "based_on": v.Version,
		"what_changed": "Started rehab", "goals": []map[string]any{{"goal_id": "g1", "progress": "partly"}, {"goal_id": dmGoal, "progress": "not"}}})
	w.clock.advance(60 * 24 * time.Hour)
	coord, me = w.signIn("two.coordinator"), w.signIn("two.person")
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/reviews", map[string]any{"scheduled": true, "next_review": "2026-04-01", "based_on": v.Version,
		"goals": []map[string]any{{"goal_id": "g1", "progress": "achieved", "note": "made it without stopping"}, {"goal_id": dmGoal, "progress": "partly"}}})
	if len(v.Plan.Reviews) != 2 || v.Plan.Goals[0].Status != careplan.GoalAchieved {
		t.Fatalf("after two reviews: %+v", v.Plan)
	}

	// Through FHIR, every resource valid against the R4 schema.
	valid := func(who *client, path string) string {
		t.Helper()
		status, body := who.do("GET", path, nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %.300s", path, status, body)
		}
		if errs := schema.Validate([]byte(body)); len(errs) > 0 {
			t.Fatalf("%s: not valid R4: %v", path, errs[:min(3, len(errs))])
		}
		return body
	}
	patient := fmt.Sprintf("Patient/p%d", w.related)
	bundle := valid(coord, "/fhir/R4/CarePlan?patient="+patient)
	var b struct {
		Total int `json:"total"`
		Entry []struct {
			Resource struct {
				ID   string `json:"id"`
				Meta struct {
					VersionID string `json:"versionId"`
				} `json:"meta"`
				Goal []struct {
					Reference string `json:"reference"`
				} `json:"goal"`
				Activity []json.RawMessage `json:"activity"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(bundle), &b); err != nil || b.Total != 1 {
		t.Fatalf("CarePlan search: %v %.300s", err, bundle)
	}
	cp := b.Entry[0].Resource
	if cp.Meta.VersionID != fmt.Sprint(v.Version) || len(cp.Goal) != 2 || len(cp.Activity) != 4 {
		t.Fatalf("CarePlan: %+v", cp)
	}
	body = valid(me, "/fhir/R4/CarePlan/"+cp.ID)
	if !strings.Contains(body, "Staying in my own home") {
		t.Fatalf("the person's CarePlan: %.300s", body)
	}
	valid(coord, "/fhir/R4/CarePlan/"+cp.ID+"/_history/1")
	for _, g := range cp.Goal {
		gb := valid(me, "/fhir/R4/"+g.Reference)
		if !strings.Contains(gb, `"expressedBy":{"reference":"`+patient+`"}`) {
			t.Fatalf("goal not expressed by the person: %.300s", gb)
		}
	}
	goals := valid(coord, "/fhir/R4/Goal?patient="+patient+"&lifecycle-status=completed")
	if !strings.Contains(goals, "Walk up the hill to the allotment without stopping") || !strings.Contains(goals, `"total":1`) {
		t.Fatalf("completed goals: %.400s", goals)
	}
	if status, _ := coord.do("GET", fmt.Sprintf("/fhir/R4/CarePlan?patient=Patient/p%d", w.unrelated), nil); status != http.StatusOK {
		t.Fatalf("search for an unrelated person: %d", status)
	} else if _, body := coord.do("GET", fmt.Sprintf("/fhir/R4/CarePlan?patient=Patient/p%d", w.unrelated), nil); !strings.Contains(body, `"total":0`) {
		t.Fatalf("search for an unrelated person shows something: %.200s", body)
	}

	// The person's own view.
	status, body = me.do("GET", "/careplans/"+id, nil)
	for _, want := range []string{"My care and support plan", "Walk up the hill to the allotment without stopping", "Know what my sugar numbers mean and what to do",
		"Show the nurse how I use my new inhaler", "My care coordinator is"} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("the person's page lacks %q: %d %.600s", want, status, body)
		}
	}
	if strings.Contains(body, "<script") {
		t.Fatal("the plan page has a script")
	}
	status, body = coord.do("GET", "/careplans/"+id, nil)
	if status != http.StatusOK || !strings.Contains(body, "My lungs and my diabetes") || strings.Contains(body, "My care and support plan") {
		t.Fatalf("the professional's page: %d %.300s", status, body)
	}
}

// The coordinator of a person's plan has a legitimate relationship with
// them even from outside their care teams and practice (issue 5 item 3).
func TestPlanCoordinatorIsARelationship(t *testing.T) {
	w := newTrustWorld(t)
	ctx := t.Context()
	facts, err := w.db.PersonFacts(ctx, w.related, w.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := w.db.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A professional in none of the person's teams.
	inTeams := map[int64]bool{}
	for _, m := range dir.Members {
		for _, tm := range facts.TeamIDs {
			if m.TeamID == tm {
				inTeams[m.ProfessionalID] = true
			}
		}
	}
	var outsider int64
	for _, p := range dir.Professionals {
		if !inTeams[p.ID] && p.ID != w.prof {
			outsider = p.ID
			break
		}
	}
	if outsider == 0 {
		t.Fatal("no professional outside the person's teams")
	}
	h, err := w.hasher.Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.PutUser(ctx, auth.User{Name: "outside.coordinator", DisplayName: "Outside", Role: auth.CareCoordinator, OrgID: "ZZOTHER",
		ProfessionalID: outsider, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	c := w.signIn("outside.coordinator")
	path := fmt.Sprintf("/api/v1/people/%d", w.related)
	if status, _ := c.do("GET", path, nil); status != http.StatusForbidden {
		t.Fatalf("before coordinating a plan: %d, want 403", status)
	}
	pl := w.copdPlan()
	pl.Coordinator.ProfessionalID = outsider
	svc := careplan.NewService(w.db, w.clock.now)
	v, err := svc.Create(ctx, careplan.Actor{UserID: 1, Name: "setup", Role: "care_coordinator", ProfessionalID: w.prof}, w.related, pl, "handed over")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := c.do("GET", path, nil); status != http.StatusOK {
		t.Fatalf("as the plan's coordinator: %d %.200s", status, body)
	}
	// Closing the plan ends the relationship.
	a := careplan.Actor{UserID: 1, Name: "setup", Role: "care_coordinator", ProfessionalID: w.prof, Party: careplan.PartyProfessional}
	if _, err := svc.SetStatus(ctx, a, v.PlanID, v.Number, careplan.Closed, "moved away"); err != nil {
		t.Fatal(err)
	}
	if status, _ := c.do("GET", path, nil); status != http.StatusForbidden {
		t.Fatalf("after the plan closed: %d, want 403", status)
	}
}

// Another system writes plans through FHIR: it creates a plan with a
// system/CarePlan.write token and updates a goal with If-Match; a stale
// If-Match is 412 and changes nothing; a token without the scope is
// refused.
func TestCarePlanWritesThroughFHIR(t *testing.T) {
	schema := fhirValidator(t)
	w := newTrustWorld(t)
	sys := w.addUser("plan.system", auth.SystemClient)
	writer := w.token(sys, "system/CarePlan.write system/Goal.write system/*.read", time.Hour)
	reader := w.token(w.addUser("plan.reader", auth.SystemClient), "system/*.read", time.Hour)
	patient := fmt.Sprintf("Patient/p%d", w.related)
	cp := map[string]any{"resourceType": "CarePlan", "status": "draft", "intent": "plan", "subject": map[string]any{"reference": patient},
		"title": "From the hospital", "description": "Getting home safely",
		"author": map[string]any{"reference": fmt.Sprintf("Practitioner/pr%d", w.prof), "display": "01632 960111"}}
	if status, _ := reader.doHeaders("POST", "/fhir/R4/CarePlan", cp, map[string]string{"Content-Type": "application/fhir+json"}); status != http.StatusForbidden {
		t.Fatalf("create without a write scope: %d", status)
	}
	bad := map[string]any{"resourceType": "CarePlan", "status": "draft", "intent": "plan", "subject": map[string]any{"reference": patient}, "colour": "red"}
	if status, body := writer.doHeaders("POST", "/fhir/R4/CarePlan", bad, map[string]string{"Content-Type": "application/fhir+json"}); status != http.StatusBadRequest || !strings.Contains(body, "colour") {
		t.Fatalf("unknown element: %d %.200s", status, body)
	}
	status, body := writer.doHeaders("POST", "/fhir/R4/CarePlan", cp, map[string]string{"Content-Type": "application/fhir+json"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %.300s", status, body)
	}
	if errs := schema.Validate([]byte(body)); len(errs) > 0 {
		t.Fatalf("created CarePlan not valid: %v", errs)
	}
	var created struct{ ID string }
	json.Unmarshal([]byte(body), &created)

	// A goal added through the JSON API, then updated through FHIR.
	var plan struct{ PlanID int64 }
	hs, err := w.db.PersonPlans(t.Context(), w.related)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if fmt.Sprintf("cp%d-%d", w.related, h.PlanID) == created.ID {
			plan.PlanID = h.PlanID
		}
	}
	svc := careplan.NewService(w.db, w.clock.now)
	v, _, err := svc.PutGoal(t.Context(), careplan.Actor{UserID: 1, Name: "setup", Role: "care_coordinator"}, plan.PlanID, 1,
		careplan.Goal{Text: "Go home", Importance: 3}, "first goal")
	if err != nil {
		t.Fatal(err)
	}
	goalPath := fmt.Sprintf("/fhir/R4/Goal/cg%d-%d-%s", w.related, plan.PlanID, v.Plan.Goals[0].ID)
	goal := map[string]any{"resourceType": "Goal", "id": strings.TrimPrefix(goalPath, "/fhir/R4/Goal/"), "lifecycleStatus": "active",
		"description": map[string]any{"text": "Go home and make my own tea"}, "subject": map[string]any{"reference": patient},
		"target":   []map[string]any{{"dueDate": "2025-06-01"}},
		"priority": map[string]any{"coding": []map[string]any{{"system": "http://terminology.hl7.org/CodeSystem/goal-priority", "code": "high-priority"}}}}
	h := map[string]string{"Content-Type": "application/fhir+json"}
	if status, _ := writer.doHeaders("PUT", goalPath, goal, h); status != http.StatusPreconditionRequired {
		t.Fatalf("update without If-Match: %d", status)
	}
	h["If-Match"] = `W/"1"`
	if status, body := writer.doHeaders("PUT", goalPath, goal, h); status != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %.200s", status, body)
	}
	h["If-Match"] = `W/"2"`
	status, body = writer.doHeaders("PUT", goalPath, goal, h)
	if status != http.StatusOK || !strings.Contains(body, "Go home and make my own tea") || !strings.Contains(body, `"versionId":"3"`) {
		t.Fatalf("update: %d %.300s", status, body)
	}
	if errs := schema.Validate([]byte(body)); len(errs) > 0 {
		t.Fatalf("updated Goal not valid: %v", errs)
	}
	cur, err := svc.Current(t.Context(), plan.PlanID)
	if err != nil || cur.Plan.Goals[0].Text != "Go home and make my own tea" || cur.Plan.Goals[0].Importance != 9 || cur.Plan.Goals[0].TargetDate != "2025-06-01" {
		t.Fatalf("plan after the FHIR update: %+v %v", cur.Plan.Goals, err)
	}

	// A new goal names its plan in an extension; the plan's title and what
	// matters most change through PUT CarePlan.
	newGoal := map[string]any{"resourceType": "Goal", "lifecycleStatus": "active", "description": map[string]any{"text": "Sleep through the night"},
		"subject":   map[string]any{"reference": patient},
		"extension": []map[string]any{{"url": "https://wholecare.example/fhir/StructureDefinition/goal-care-plan", "valueReference": map[string]any{"reference": "CarePlan/" + created.ID}}}}
	h["If-Match"] = `W/"3"`
	status, body = writer.doHeaders("POST", "/fhir/R4/Goal", newGoal, h)
	if status != http.StatusCreated || !strings.Contains(body, "Sleep through the night") {
		t.Fatalf("create goal: %d %.300s", status, body)
	}
	if errs := schema.Validate([]byte(body)); len(errs) > 0 {
		t.Fatalf("created Goal not valid: %v", errs)
	}
	delete(newGoal, "extension")
	if status, _ := writer.doHeaders("POST", "/fhir/R4/Goal", newGoal, h); status != http.StatusUnprocessableEntity {
		t.Fatalf("a goal without its plan: %d", status)
	}
	cp["id"], cp["title"], cp["description"] = created.ID, "Home for good", "Staying at home"
	h["If-Match"] = `W/"3"`
	if status, _ := writer.doHeaders("PUT", "/fhir/R4/CarePlan/"+created.ID, cp, h); status != http.StatusPreconditionFailed {
		t.Fatalf("stale plan update: %d", status)
	}
	h["If-Match"] = `W/"4"`
	status, body = writer.doHeaders("PUT", "/fhir/R4/CarePlan/"+created.ID, cp, h)
	if status != http.StatusOK || !strings.Contains(body, `"title":"Home for good"`) || !strings.Contains(body, `"versionId":"5"`) {
		t.Fatalf("plan update: %d %.300s", status, body)
	}
	if errs := schema.Validate([]byte(body)); len(errs) > 0 {
		t.Fatalf("updated CarePlan not valid: %v", errs)
	}
	if cur, _ := svc.Current(t.Context(), plan.PlanID); len(cur.Plan.Goals) != 2 || cur.Plan.WhatMattersMost != "Staying at home" {
		t.Fatalf("plan after the FHIR writes: %+v", cur.Plan)
	}
}

// The plan page edits goals in the person's words and About Me with
// plain forms (CSRF token, Post/Redirect/Get); a form based on an old
// version changes nothing and says so.
func TestPlanPageForms(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("form.coord", auth.CareCoordinator)
	w.addUser("form.person", auth.ServiceUser)
	coord, me := w.signIn("form.coord"), w.signIn("form.person")
	v := w.planFor(w.related)
	page := fmt.Sprintf("/careplans/%d", v.PlanID)
	status, body := coord.do("GET", page, nil)
	if status != http.StatusOK || !strings.Contains(body, `name="csrf_token" value="`+coord.csrf+`"`) || !strings.Contains(body, "Add the goal") {
		t.Fatalf("coordinator's page: %d %.300s", status, body)
	}
	form := func(c *client, path string, vals map[string]string) (int, string) {
		t.Helper()
		f := url.Values{}
		for k, v := range vals {
			f.Set(k, v)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", w.ts.URL+path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res.StatusCode, res.Header.Get("Location")
	}
	based := fmt.Sprint(v.Number)
	if status, _ := form(coord, page+"/goals", map[string]string{"text": "Swim again", "based_on": based}); status != http.StatusForbidden {
		t.Fatalf("a form without the CSRF token: %d", status)
	}
	status, loc := form(coord, page+"/goals", map[string]string{"csrf_token": coord.csrf, "text": "Swim again", "based_on": based})
	if status != http.StatusSeeOther || loc != page+"?done=goal" {
		t.Fatalf("add a goal: %d %s", status, loc)
	}
	status, loc = form(coord, page+"/goals/g1", map[string]string{"csrf_token": coord.csrf, "text": "Old words", "based_on": based})
	if status != http.StatusSeeOther || loc != page+"?error=stale" {
		t.Fatalf("a stale form: %d %s", status, loc)
	}
	if _, body := coord.do("GET", page+"?error=stale", nil); !strings.Contains(body, "Someone else changed the plan") {
		t.Fatal("the stale message is not shown")
	}
	status, body = me.do("GET", page, nil)
	if status != http.StatusOK || !strings.Contains(body, "Write about me") || strings.Contains(body, "Add the goal") || !strings.Contains(body, "Swim again") {
		t.Fatalf("the person's page: %d %.300s", status, body)
	}
	cur, _ := careplan.NewService(w.db, w.clock.now).Current(t.Context(), v.PlanID)
	status, loc = form(me, page+"/about-me", map[string]string{"csrf_token": me.csrf, "most_important": "My dog, Bramble", "based_on": fmt.Sprint(cur.Number)})
	if status != http.StatusSeeOther || loc != page+"?done=about-me" {
		t.Fatalf("About me: %d %s", status, loc)
	}
	if status, _ := form(me, page+"/goals", map[string]string{"csrf_token": me.csrf, "text": "x", "based_on": fmt.Sprint(cur.Number + 1)}); status != http.StatusForbidden {
		t.Fatalf("a service user adding a goal: %d", status)
	}
	if _, body := me.do("GET", page, nil); !strings.Contains(body, "My dog, Bramble") {
		t.Fatal("About me not saved")
	}
}
