package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
)

// planBody is what the care plan routes answer, as a client reads it.
type planBody struct {
	PlanID   int64         `json:"plan_id"`
	Version  int           `json:"version"`
	PersonID int64         `json:"person_id"`
	Plan     careplan.Plan `json:"plan"`
	Agreed   bool          `json:"agreed"`
}

// mustPlan sends a request and reads the plan it answers, failing unless
// the status is want.
func (c *client) mustPlan(want int, method, path string, req any, h ...map[string]string) planBody {
	t := c.w.t
	t.Helper()
	var hs map[string]string
	if len(h) > 0 {
		hs = h[0]
	}
	status, body := c.doHeaders(method, path, req, hs)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %.400s", method, path, status, want, body)
	}
	var b planBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("%v: %.200s", err, body)
	}
	return b
}

// copdPlan is a plan as a coordinator and a person with COPD and diabetes
// might start it.
func (w *trustWorld) copdPlan() careplan.Plan {
	return careplan.Plan{
		Title:           "Living well with my lungs and my diabetes",
		WhatMattersMost: "Getting out to my allotment and seeing my grandchildren",
		Strengths:       []string{"My daughter lives nearby", "I used to walk everywhere"},
		Needs: []careplan.Need{{ID: "n1", Description: "I get out of breath on the hill to the allotment"},
			{ID: "n2", Description: "My sugars go up when I'm poorly"}},
		Goals: []careplan.Goal{{ID: "g1", NeedID: "n1", Text: "Get to my allotment twice a week", Importance: 9, TargetDate: "2025-07-01"},
			{ID: "g2", NeedID: "n2", Text: "Know what to do with my tablets when I'm ill", Importance: 7}},
		Actions: []careplan.Action{
			{GoalID: "g1", What: "Pulmonary rehab at the leisure centre", Who: careplan.Who{Kind: careplan.ByOrganisation, Name: "Community respiratory team"},
				When: "Tuesdays for 8 weeks", Area: careplan.SkillsEducation},
			{GoalID: "g2", What: "Go through sick day rules", Who: careplan.Who{Kind: careplan.ByProfessional, Name: "Practice nurse"},
				When: "next diabetes review", Area: careplan.Information}},
		Coordinator: careplan.Coordinator{ProfessionalID: w.prof, Contact: "01632 960000 (care coordination hub)"},
		Review:      careplan.ReviewSchedule{IntervalMonths: 3, Next: "2025-07-01"},
	}
}

// planFor stores a plan for a person directly (as if made earlier by
// someone with access), returning it.
func (w *trustWorld) planFor(personID int64) careplan.Version {
	w.t.Helper()
	svc := careplan.NewService(w.db, w.clock.now)
	pl := w.copdPlan()
	if personID == w.unrelated || personID == w.glass {
		// Someone else coordinates their plan: the test's staff, who are
		// w.prof, must have no relationship with them, and a plan's
		// coordinator has one.
		dir, err := w.db.Directory(w.t.Context())
		if err != nil {
			w.t.Fatal(err)
		}
		for _, p := range dir.Professionals {
			if p.ID != w.prof {
				pl.Coordinator.ProfessionalID = p.ID
				break
			}
		}
	}
	v, err := svc.Create(w.t.Context(), careplan.Actor{UserID: 1, Name: "setup", Role: "care_coordinator", ProfessionalID: w.prof}, personID, pl, "set up for the test")
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// TestCarePlanAccess checks every role against a plan of a person they
// are related to, one who withdrew consent and one they are not related
// to: content follows consent, existence and the coordinator follow the
// relationship.
func TestCarePlanAccess(t *testing.T) {
	w := newTrustWorld(t)
	related, withdrawn, unrelated := w.planFor(w.related), w.planFor(w.withdrawn), w.planFor(w.unrelated)
	staff := map[auth.Role]bool{auth.CareCoordinator: true, auth.Clinician: true, auth.SocialCare: true, auth.TeamLead: true}
	w.addUser("cp.reader", auth.CareCoordinator)
	reader := w.signIn("cp.reader") // reads the current version between writes
	for _, role := range auth.Roles {
		u := w.addUser("cp."+strings.ReplaceAll(string(role), "_", "-"), role)
		var c *client
		if role == auth.SystemClient {
			c = w.token(u, "system/*.read", time.Hour)
		} else {
			c = w.signIn(u.Name)
		}
		reads := staff[role] || role == auth.ServiceUser || role == auth.Carer || role == auth.SystemClient
		check := func(what string, status int, body string, want bool) {
			t.Helper()
			if got := status == http.StatusOK; got != want {
				t.Errorf("%s %s: %d %.200s; want allowed=%v", role, what, status, body, want)
			}
			if status != http.StatusOK && status != http.StatusForbidden {
				t.Errorf("%s %s: refused with %d, want 403", role, what, status)
			}
		}
		status, body := c.do("GET", fmt.Sprintf("/api/v1/careplans/%d", related.PlanID), nil)
		check("reading a related person's plan", status, body, reads)
		status, body = c.do("GET", fmt.Sprintf("/api/v1/careplans/%d/versions", related.PlanID), nil)
		check("reading its versions", status, body, reads)

		// Consent withdrawn: staff with a relationship learn that the plan
		// exists and whom to contact, not what it says.
		status, body = c.do("GET", fmt.Sprintf("/api/v1/careplans/%d", withdrawn.PlanID), nil)
		check("reading the plan of a person who withdrew consent", status, body, role == auth.SystemClient)
		if staff[role] && !strings.Contains(body, "01632 960000") {
			t.Errorf("%s refused content: %s; want the coordinator's contact", role, body)
		}
		if strings.Contains(body, "allotment") && role != auth.SystemClient {
			t.Errorf("%s saw content of a withdrawn plan: %s", role, body)
		}
		status, body = c.do("GET", fmt.Sprintf("/api/v1/people/%d/careplans", w.withdrawn), nil)
		check("listing the plans of a person who withdrew consent", status, body, staff[role] || role == auth.SystemClient)
		if staff[role] {
			var b struct {
				Plans []struct {
					PlanID         int64                `json:"plan_id"`
					Coordinator    careplan.Coordinator `json:"coordinator"`
					ContentVisible bool                 `json:"content_visible"`
				}
			}
			json.Unmarshal([]byte(body), &b)
			if len(b.Plans) != 1 || b.Plans[0].PlanID != withdrawn.PlanID || b.Plans[0].ContentVisible ||
				b.Plans[0].Coordinator.Contact == "" || b.Plans[0].Coordinator.Name == "" {
				t.Errorf("%s listing a withdrawn person's plans: %s", role, body)
			}
			if strings.Contains(body, "allotment") {
				t.Errorf("the listing shows content: %s", body)
			}
		}

		// No relationship: nothing at all.
		status, body = c.do("GET", fmt.Sprintf("/api/v1/careplans/%d", unrelated.PlanID), nil)
		check("reading an unrelated person's plan", status, body, role == auth.SystemClient)
		status, body = c.do("GET", fmt.Sprintf("/api/v1/people/%d/careplans", w.unrelated), nil)
		check("listing an unrelated person's plans", status, body, role == auth.SystemClient)

		// Writing: staff change goals; the person writes About Me; a
		// system client with a read scope writes nothing.
		cur := reader.mustPlan(http.StatusOK, "GET", fmt.Sprintf("/api/v1/careplans/%d", related.PlanID), nil)
		status, body = c.doHeaders("POST", fmt.Sprintf("/api/v1/careplans/%d/goals", related.PlanID),
			map[string]any{"text": "Sleep better", "reason": "matrix"}, map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, cur.Version)})
		check("adding a goal", status, body, staff[role])
		cur = reader.mustPlan(http.StatusOK, "GET", fmt.Sprintf("/api/v1/careplans/%d", related.PlanID), nil)
		status, body = c.do("PUT", fmt.Sprintf("/api/v1/careplans/%d/about-me", related.PlanID),
			map[string]any{"most_important": "My garden", "supported_by": "myself", "based_on": cur.Version})
		check("writing About Me", status, body, staff[role] || role == auth.ServiceUser)
		status, body = c.do("POST", fmt.Sprintf("/api/v1/careplans/%d/goals", withdrawn.PlanID),
			map[string]any{"text": "Sleep better", "reason": "matrix", "based_on": 1})
		check("adding a goal to a withdrawn person's plan", status, body, false)
	}

	// The reads are in the audit log under CarePlan, the existence-only
	// ones saying so, and the chain is whole.
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.withdrawn, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var existence int
	for _, e := range evs {
		if e.ResourceType == "CarePlan" && e.Outcome == "allowed" && strings.HasPrefix(e.Detail, "existence only") {
			existence++
		}
	}
	if existence == 0 {
		t.Error("no existence-only care plan access in the withdrawn person's audit log")
	}
	rep, err := audit.Verify(t.Context(), w.db, audit.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("audit verify: %+v %v", rep, err)
	}
}

// TestCarePlanConcurrentEditors has two coordinators edit the same version:
// the second is refused with 412 and loses nothing; after reading again,
// their change is applied on top of the first.
func TestCarePlanConcurrentEditors(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("ed.one", auth.CareCoordinator)
	w.addUser("ed.two", auth.Clinician)
	one, two := w.signIn("ed.one"), w.signIn("ed.two")
	v := one.mustPlan(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/people/%d/careplans", w.related), map[string]any{"plan": w.copdPlan(), "reason": "first conversation"})
	a := one.mustPlan(http.StatusOK, "GET", fmt.Sprintf("/api/v1/careplans/%d", v.PlanID), nil)
	b := two.mustPlan(http.StatusOK, "GET", fmt.Sprintf("/api/v1/careplans/%d", v.PlanID), nil)
	path := fmt.Sprintf("/api/v1/careplans/%d/goals/g1", v.PlanID)
	ifMatch := func(n int) map[string]string { return map[string]string{"If-Match": fmt.Sprintf(`W/"%d"`, n)} }
	one.mustPlan(http.StatusOK, "PUT", path, map[string]any{"need_id": "n1", "text": "Get to my allotment every week", "importance": 10, "reason": "her words"}, ifMatch(a.Version))
	status, body := two.doHeaders("POST", fmt.Sprintf("/api/v1/careplans/%d/actions", v.PlanID),
		map[string]any{"goal_id": "g1", "what": "Borrow a mobility scooter", "who": map[string]any{"kind": "person"}, "area": "tools-devices", "reason": "idea"}, ifMatch(b.Version))
	if status != http.StatusPreconditionFailed || !strings.Contains(body, "now at version 2") {
		t.Fatalf("stale write: %d %s; want 412 naming version 2", status, body)
	}
	b = two.mustPlan(http.StatusOK, "GET", fmt.Sprintf("/api/v1/careplans/%d", v.PlanID), nil)
	got := two.mustPlan(http.StatusOK, "POST", fmt.Sprintf("/api/v1/careplans/%d/actions", v.PlanID),
		map[string]any{"goal_id": "g1", "what": "Borrow a mobility scooter", "who": map[string]any{"kind": "person"}, "area": "tools-devices", "reason": "idea"}, ifMatch(b.Version))
	if got.Version != 3 || got.Plan.Goals[0].Text != "Get to my allotment every week" || len(got.Plan.Actions) != 3 {
		t.Errorf("after both edits: version %d, goal %q, %d actions", got.Version, got.Plan.Goals[0].Text, len(got.Plan.Actions))
	}
	// A write with no version is refused, not applied blindly.
	status, body = one.do("POST", fmt.Sprintf("/api/v1/careplans/%d/goals", v.PlanID), map[string]any{"text": "x", "reason": "y"})
	if status != http.StatusBadRequest {
		t.Errorf("write without a version: %d %s", status, body)
	}
}

// TestCarePlanEndToEnd: a person with COPD and diabetes; their plan is
// started, goals put in their words, their COPD action plan added, agreed
// by them and their coordinator, reviewed twice, and read back by the
// person through their own access.
func TestCarePlanEndToEnd(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("e2e.coordinator", auth.CareCoordinator)
	w.addUser("e2e.person", auth.ServiceUser)
	coord, me := w.signIn("e2e.coordinator"), w.signIn("e2e.person")
	plans := "/api/v1/careplans/"
	v := coord.mustPlan(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/people/%d/careplans", w.related), map[string]any{"plan": w.copdPlan(), "reason": "first conversation at home"})
	id := fmt.Sprint(v.PlanID)
	if v.Plan.Status != careplan.Draft || v.Plan.Coordinator.Name == "" {
		t.Fatalf("created %+v", v.Plan)
	}
	// Goals in the person's words.
	v = coord.mustPlan(http.StatusOK, "PUT", plans+id+"/goals/g1", map[string]any{"need_id": "n1", "text": "Dig my allotment again by the summer", "importance": 10,
		"target_date": "2025-07-01", "reason": "the person's own words", "based_on": v.Version})
	v = me.mustPlan(http.StatusOK, "PUT", plans+id+"/about-me", map[string]any{"most_important": "My grandchildren and my allotment",
		"communication": "Speak slowly; I'm a bit deaf in my left ear", "please_do_dont": "Please don't call before 10", "based_on": v.Version})
	v = coord.mustPlan(http.StatusOK, "PUT", plans+id+"/action-plans/copd", map[string]any{"thresholds": map[string]any{
		"usual_breathlessness": "MRC 3: stop for breath after 100 yards", "usual_sputum": "a little, clear, mornings"},
		"medicines": "Trelegy once a day; salbutamol when needed; rescue pack at home", "reason": "COPD plan agreed with respiratory nurse",
		"based_on": v.Version})
	// A plan is agreed only when both agree the current content.
	status, body := coord.do("POST", plans+id+"/status", map[string]any{"status": "active", "reason": "go", "based_on": v.Version})
	if status != http.StatusConflict {
		t.Fatalf("activating a draft: %d %s", status, body)
	}
	v = me.mustPlan(http.StatusOK, "POST", plans+id+"/agreements", map[string]any{"note": "read it through with my daughter", "based_on": v.Version})
	if v.Plan.Status != careplan.Draft || v.Agreed {
		t.Fatalf("after the person agreed: %s agreed=%v", v.Plan.Status, v.Agreed)
	}
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/agreements", map[string]any{"based_on": v.Version})
	if v.Plan.Status != careplan.Agreed || !v.Agreed {
		t.Fatalf("after both agreed: %s agreed=%v", v.Plan.Status, v.Agreed)
	}
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/status", map[string]any{"status": "active", "reason": "agreed and copies given", "based_on": v.Version})

	// Overdue when the review date passes.
	w.clock.advance(100 * 24 * time.Hour) // 2025-07-11
	coord, me = w.signIn("e2e.coordinator"), w.signIn("e2e.person")
	status, body = coord.do("GET", "/api/v1/careplans/reviews/overdue", nil)
	if status != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`"plan_id":%d`, v.PlanID)) {
		t.Errorf("overdue reviews: %d %.300s", status, body)
	}
	status, _ = me.do("GET", "/api/v1/careplans/reviews/overdue", nil)
	if status != http.StatusForbidden {
		t.Errorf("a service user's overdue worklist: %d, want 403", status)
	}
	// Two reviews: scheduled, then unscheduled after an admission.
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/reviews", map[string]any{"scheduled": true, "next_review": "2025-10-01",
		"what_changed": "Finished rehab", "based_on": v.Version,
		"goals": []map[string]any{{"goal_id": "g1", "progress": "partly", "note": "Got there twice, not every week"},
			{"goal_id": "g2", "progress": "achieved", "note": "I have the sick day card"}}})
	w.clock.advance(30 * 24 * time.Hour)
	coord, me = w.signIn("e2e.coordinator"), w.signIn("e2e.person")
	v = coord.mustPlan(http.StatusOK, "POST", plans+id+"/reviews", map[string]any{"scheduled": false, "trigger": "after a COPD admission",
		"next_review": "2025-09-15", "based_on": v.Version,
		"goals": []map[string]any{{"goal_id": "g1", "progress": "changed", "new_text": "Sit in my allotment with a flask"}}})
	status, body = coord.do("GET", "/api/v1/careplans/reviews/overdue", nil)
	if status != http.StatusOK || strings.Contains(body, fmt.Sprintf(`"plan_id":%d`, v.PlanID)) {
		t.Errorf("overdue after the reviews: %d %.300s", status, body)
	}

	// The person reads it back.
	mine := me.mustPlan(http.StatusOK, "GET", plans+id, nil)
	p := mine.Plan
	if p.Status != careplan.Active || len(p.Reviews) != 2 || p.Goals[0].Text != "Sit in my allotment with a flask" ||
		p.Goals[1].Status != careplan.GoalAchieved || p.AboutMe.Communication == "" || len(p.ActionPlans) != 1 || p.Review.Next != "2025-09-15" {
		t.Errorf("the person's plan: %+v", p)
	}
	var hist struct{ Versions []careplan.VersionInfo }
	status, body = me.do("GET", plans+id+"/versions", nil)
	json.Unmarshal([]byte(body), &hist)
	if status != http.StatusOK || len(hist.Versions) != mine.Version || hist.Versions[2].Change.By.Role != "service_user" {
		t.Errorf("history: %d %.300s", status, body)
	}
	status, body = me.do("GET", plans+id+"/diff?from=1&to="+fmt.Sprint(mine.Version), nil)
	var d careplan.Diff
	json.Unmarshal([]byte(body), &d)
	sections := map[string]bool{}
	for _, c := range d.Changes {
		sections[c.Section] = true
	}
	for _, s := range []string{"plan", "about_me", "goals", "action_plans", "agreements", "reviews", "review"} {
		if !sections[s] {
			t.Errorf("diff 1→%d lacks %s: %.500s", mine.Version, s, body)
		}
	}
	old := me.mustPlan(http.StatusOK, "GET", plans+id+"/versions/1", nil)
	if old.Plan.Goals[0].Text != "Get to my allotment twice a week" {
		t.Errorf("version 1 goal %q", old.Plan.Goals[0].Text)
	}
	// The printable action plan: HTML, with only its own style allowed.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", w.ts.URL+"/careplans/"+id+"/action-plan", nil)
	res, err := me.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := new(strings.Builder)
	fmt.Fprint(page, readAll(res))
	if res.StatusCode != http.StatusOK || !strings.Contains(page.String(), "My COPD action plan") ||
		!strings.Contains(page.String(), "MRC 3: stop for breath after 100 yards") || strings.Contains(page.String(), "<script") {
		t.Errorf("action plan page: %d %.500s", res.StatusCode, page)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'sha256-") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("action plan CSP %q", csp)
	}
	status, body = me.do("GET", "/careplans/"+id+"/action-plan?format=text", nil)
	if status != http.StatusOK || !strings.Contains(body, "AMBER ZONE") || !strings.Contains(body, "rescue pack") {
		t.Errorf("action plan text: %d %.300s", status, body)
	}
	// Who looked at the plan is in the person's access log.
	status, body = me.do("GET", "/api/v1/me/access-log?limit=500", nil)
	if status != http.StatusOK || !strings.Contains(body, `"what":"CarePlan"`) || !strings.Contains(body, "e2e.coordinator") {
		t.Errorf("access log: %d %.300s", status, body)
	}
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	b := new(strings.Builder)
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// BenchmarkCarePlanOpen opens a plan with five years of history (60
// versions, 10 of them reviews) as its coordinator over HTTP: the policy
// decision, the durable audit entry and the read of the current version.
func BenchmarkCarePlanOpen(b *testing.B) {
	w := newTrustWorld(b)
	v := mustLongPlan(b, w)
	w.addUser("bench.coordinator", auth.CareCoordinator)
	c := w.signIn("bench.coordinator")
	path := fmt.Sprintf("/api/v1/careplans/%d", v.PlanID)
	status, body := c.do("GET", path, nil)
	if status != http.StatusOK {
		b.Fatalf("%d %s", status, body)
	}
	for b.Loop() {
		if status, _ := c.do("GET", path, nil); status != http.StatusOK {
			b.Fatal(status)
		}
	}
	b.ReportMetric(float64(len(body)), "plan-bytes")
}
