package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
)

var (
	carePlanControlRe = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	carePlanIDRe      = regexp.MustCompile(`\bid="([^"]+)"`)
	carePlanTypeRe    = regexp.MustCompile(`\btype="([^"]+)"`)
)

// carePlanAssertPage checks what every page must be: one h1, no inline
// style or script, and a label for every control a person fills in.
func carePlanAssertPage(t *testing.T, body string) {
	t.Helper()
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("%d h1 elements, want 1", n)
	}
	for _, bad := range []string{"style=", "<style", "<script"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if len(body) > 100<<10 {
		t.Errorf("the page is %d bytes, over 100 KB", len(body))
	}
	for _, c := range carePlanControlRe.FindAllString(body, -1) {
		if m := carePlanTypeRe.FindStringSubmatch(c); m != nil && (m[1] == "hidden" || m[1] == "submit") {
			continue
		}
		m := carePlanIDRe.FindStringSubmatch(c)
		if m == nil {
			t.Errorf("a control without an id: %s", c)
			continue
		}
		if !strings.Contains(body, `for="`+m[1]+`"`) {
			t.Errorf("no label for %s", c)
		}
	}
}

// mustCarePlanPage GETs a page, wanting 200 and a well-formed page.
func mustCarePlanPage(t *testing.T, c *client, path string) string {
	t.Helper()
	status, body, loc := c.page(path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d (to %q) %.400s", path, status, loc, body)
	}
	carePlanAssertPage(t, body)
	return body
}

// mustCarePlanForm posts a form, wanting a redirect to want.
func mustCarePlanForm(t *testing.T, c *client, path string, v url.Values, want string) {
	t.Helper()
	status, body, loc := c.form(path, v)
	if status != http.StatusSeeOther || loc != want {
		t.Fatalf("POST %s: %d to %q, want 303 to %q: %.400s", path, status, loc, want, body)
	}
}

func mustCurrentPlan(t *testing.T, w *trustWorld, id int64) careplan.Version {
	t.Helper()
	v, err := careplan.NewService(w.db, w.clock.now).Current(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var carePlanKeyRe = regexp.MustCompile(`name="key_(\d+)" value="([^"]+)"`)

// carePlanItems maps each protocol item's key to its place on the form.
func carePlanItems(body string) map[string]string {
	out := map[string]string{}
	for _, m := range carePlanKeyRe.FindAllStringSubmatch(body, -1) {
		out[m[2]] = m[1]
	}
	return out
}

// TestCarePlanPagesFullPath is the coordinator's path through forms: start
// a plan, apply the COPD protocol (accept, edit, decline; a goal without
// the person's words refused), agreed by the person and by the
// professional, and the plan is agreed.
func TestCarePlanPagesFullPath(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("pp.coord", auth.CareCoordinator)
	w.addUser("pp.person", auth.ServiceUser)
	coord, me := w.signIn("pp.coord"), w.signIn("pp.person")
	person := fmt.Sprint(w.related)

	body := mustCarePlanPage(t, coord, "/people/"+person+"/careplans/new")
	if !strings.Contains(body, "Start the plan") || !strings.Contains(body, `href="/people/`+person+`"`) {
		t.Fatalf("new plan page: %.600s", body)
	}
	// A plan without how to reach the coordinator is refused, and none is stored.
	mustCarePlanForm(t, coord, "/people/"+person+"/careplans/new", url.Values{"title": {"x"}}, "/people/"+person+"/careplans/new?error=create")
	if hs, _ := w.db.PersonPlans(t.Context(), w.related); len(hs) != 0 {
		t.Fatalf("a refused plan was stored: %+v", hs)
	}
	status, _, loc := coord.form("/people/"+person+"/careplans/new", url.Values{"title": {"Breathing easier"},
		"what_matters_most": {"Getting to the allotment"}, "contact": {"01632 960111"}})
	if status != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=created") {
		t.Fatalf("create: %d %q", status, loc)
	}
	page, _, _ := strings.Cut(loc, "?")
	var id int64
	fmt.Sscanf(page, "/careplans/%d", &id)
	body = mustCarePlanPage(t, coord, loc)
	for _, want := range []string{"Breathing easier", "Getting to the allotment", "The plan is started", "Draft",
		`class="button" href="/people/` + person + `/protocols?plan=`} {
		if !strings.Contains(body, want) {
			t.Errorf("new plan page lacks %q", want)
		}
	}
	if n := strings.Count(body, `class="button"`); n != 1 {
		t.Errorf("%d primary buttons on the plan page, want 1", n)
	}

	body = mustCarePlanPage(t, coord, "/people/"+person+"/protocols?plan="+fmt.Sprint(id))
	if !strings.Contains(body, page+"/protocols/copd") || !strings.Contains(body, "Protocols that apply") {
		t.Fatalf("protocols page: %.800s", body)
	}
	body = mustCarePlanPage(t, coord, page+"/protocols/copd")
	if !strings.Contains(body, "<legend><span class=\"tag blue\">Action</span> Offer a referral to pulmonary rehabilitation</legend>") {
		t.Errorf("the COPD form does not show what an item proposes: %.1500s", body)
	}
	items := carePlanItems(body)
	for _, k := range []string{"copd/goal/breathing", "copd/action/pulmonary-rehab", "copd/action/inhaler-technique", "copd/action/vaccines", "copd/review/interval"} {
		if items[k] == "" {
			t.Fatalf("the COPD form lacks %s: %v", k, items)
		}
	}
	before := mustCurrentPlan(t, w, id)
	decide := func(extra url.Values) url.Values {
		v := url.Values{"based_on": {fmt.Sprint(before.Number)}}
		for k, x := range items {
			v.Set("key_"+x, k)
		}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	g, rehab, inhaler, vacc, review := items["copd/goal/breathing"], items["copd/action/pulmonary-rehab"], items["copd/action/inhaler-technique"],
		items["copd/action/vaccines"], items["copd/review/interval"]
	// A goal accepted without the person's words is refused, what was
	// typed is kept, and nothing is written.
	status, body, _ = coord.form(page+"/protocols/copd", decide(url.Values{"choice_" + g: {"accept"}, "choice_" + rehab: {"accept"},
		"choice_" + vacc: {"decline"}, "reason_" + vacc: {"had both this autumn"}}))
	if status != http.StatusBadRequest || !strings.Contains(body, "in the person&#39;s own words") || !strings.Contains(body, "had both this autumn") {
		t.Fatalf("goal without words: %d %.600s", status, body)
	}
	carePlanAssertPage(t, body)
	if v := mustCurrentPlan(t, w, id); v.Number != before.Number {
		t.Fatalf("a refused decision wrote version %d", v.Number)
	}
	mustCarePlanForm(t, coord, page+"/protocols/copd", decide(url.Values{
		"choice_" + g: {"accept"}, "words_" + g: {"Walk up the hill to the allotment without stopping"},
		"choice_" + rehab: {"accept"}, "text_" + rehab: {"Offer a referral to pulmonary rehabilitation"}, // as a browser sends the prefilled box
		"choice_" + inhaler: {"edit"}, "text_" + inhaler: {"Show the nurse how I use my new inhaler"}, "goal_" + inhaler: {"item:copd/goal/breathing"},
		"choice_" + vacc: {"decline"}, "reason_" + vacc: {"had both this autumn"},
		"choice_" + review: {"accept"}}), page+"?done=protocol")
	v := mustCurrentPlan(t, w, id)
	var edited careplan.Action
	for _, a := range v.Plan.Actions {
		if a.FromProtocol == "copd/action/inhaler-technique" {
			edited = a
		}
	}
	if len(v.Plan.Goals) != 1 || v.Plan.Goals[0].Text != "Walk up the hill to the allotment without stopping" || len(v.Plan.Actions) != 2 ||
		edited.What != "Show the nurse how I use my new inhaler" || edited.GoalID != v.Plan.Goals[0].ID ||
		v.Plan.Review.IntervalMonths != 12 || len(v.Plan.Protocols) != 1 || len(v.Plan.Protocols[0].Items) != 5 {
		t.Fatalf("after the COPD form: %+v", v.Plan)
	}
	// The same form again, based on the version before: stale, nothing written.
	mustCarePlanForm(t, coord, page+"/protocols/copd", decide(url.Values{"choice_" + items["copd/action/breathe-easy"]: {"accept"},
		"goal_" + items["copd/action/breathe-easy"]: {v.Plan.Goals[0].ID}}), page+"?error=stale")
	if again := mustCurrentPlan(t, w, id); again.Number != v.Number {
		t.Fatalf("a stale protocol form wrote version %d", again.Number)
	}
	body = mustCarePlanPage(t, coord, page+"/protocols/copd")
	if !strings.Contains(body, "Already in the plan") {
		t.Error("accepted items are not marked as in the plan")
	}

	// Agreement: the professional, then the person from their own view.
	body = mustCarePlanPage(t, coord, page)
	if !strings.Contains(body, "Record my agreement") || !strings.Contains(body, "Walk up the hill") {
		t.Fatalf("plan page before agreement: %.600s", body)
	}
	mustCarePlanForm(t, coord, page+"/agree", url.Values{"based_on": {fmt.Sprint(v.Number)}, "note": {"at the home visit"}}, page+"?done=agreed")
	v = mustCurrentPlan(t, w, id)
	mustCarePlanForm(t, coord, page+"/agree", url.Values{"based_on": {fmt.Sprint(v.Number)}}, page+"?error=agree-twice")
	body = mustCarePlanPage(t, me, page)
	if !strings.Contains(body, "I agree to this plan") || strings.Contains(body, "Record my agreement") {
		t.Fatalf("the person's page: %.600s", body)
	}
	mustCarePlanForm(t, me, page+"/agree", url.Values{"based_on": {fmt.Sprint(v.Number)}}, page+"?done=agreed")
	v = mustCurrentPlan(t, w, id)
	if v.Plan.Status != careplan.Agreed || !v.Plan.FullyAgreed() {
		t.Fatalf("after both agreed: %s", v.Plan.Status)
	}
	body = mustCarePlanPage(t, coord, page)
	if !strings.Contains(body, `<span class="tag blue">Agreed</span>`) || !strings.Contains(body, "Agreed by the person and by a professional") ||
		!strings.Contains(body, `<select id="st-status" name="status"><option value="active">Active</option>`) {
		t.Fatalf("the agreed plan's page: %.600s", body)
	}
	if n := strings.Count(body, `class="button"`); n != 1 {
		t.Errorf("%d primary buttons on the agreed plan's page, want 1", n)
	}
}

// TestCarePlanPagesEditing edits an action and the contingency plan,
// refuses a stale form without writing, records a review, and shows the
// change in the history and compare pages.
func TestCarePlanPagesEditing(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("pe.coord", auth.CareCoordinator)
	w.addUser("pe.person", auth.ServiceUser)
	coord := w.signIn("pe.coord")
	v := w.planFor(w.related)
	page := fmt.Sprintf("/careplans/%d", v.PlanID)

	body := mustCarePlanPage(t, coord, page)
	if !strings.Contains(body, page+"/actions/a3") || !strings.Contains(body, page+"/contingency") {
		t.Fatalf("plan page lacks edit links: %.600s", body)
	}
	body = mustCarePlanPage(t, coord, page+"/actions/a3")
	if !strings.Contains(body, "Pulmonary rehab at the leisure centre") || !strings.Contains(body, "Community respiratory team") {
		t.Fatalf("action page: %.600s", body)
	}
	based := fmt.Sprint(v.Number)
	action := url.Values{"based_on": {based}, "what": {"Pulmonary rehab at the leisure centre, with my daughter"}, "goal_id": {"g1"},
		"who_kind": {"organisation"}, "who_name": {"Community respiratory team"}, "when": {"Tuesdays"}, "area": {"skills-education"},
		"status": {"in-progress"}, "confidence": {"7"}}
	bad := url.Values{}
	for k, x := range action {
		bad[k] = x
	}
	bad.Set("confidence", "11")
	mustCarePlanForm(t, coord, page+"/actions/a3", bad, page+"/actions/a3?error=action")
	mustCarePlanForm(t, coord, page+"/actions/a3", action, page+"?done=action")
	cur := mustCurrentPlan(t, w, v.PlanID)
	a := cur.Plan.Actions[0]
	if a.What != "Pulmonary rehab at the leisure centre, with my daughter" || a.Confidence == nil || *a.Confidence != 7 || a.Status != careplan.ActionInProgress {
		t.Fatalf("action after the form: %+v", a)
	}
	// The same form again, based on the old version: refused as stale,
	// nothing written.
	mustCarePlanForm(t, coord, page+"/actions/a3", action, page+"?error=stale")
	mustCarePlanForm(t, coord, page+"/contingency", url.Values{"based_on": {based}, "triggers": {"Cold weather"}}, page+"?error=stale")
	if again := mustCurrentPlan(t, w, v.PlanID); again.Number != cur.Number {
		t.Fatalf("a stale form wrote version %d", again.Number)
	}
	if body := mustCarePlanPage(t, coord, page+"?error=stale"); !strings.Contains(body, "Someone else changed the plan") {
		t.Fatal("the stale message is not shown")
	}

	mustCarePlanPage(t, coord, page+"/contingency")
	mustCarePlanForm(t, coord, page+"/contingency", url.Values{"based_on": {fmt.Sprint(cur.Number)},
		"early_warning_signs": {"I stop going out"}, "triggers": {"Cold weather"}, "what_should_happen": {"Ring my daughter, then the hub"},
		"coping_strategies": {"Pursed-lip breathing"}, "contact_name": {"Jo", "", ""}, "contact_role": {"daughter", "", ""},
		"contact_how": {"07700 900123", "", ""}}, page+"?done=contingency")
	cur = mustCurrentPlan(t, w, v.PlanID)
	if c := cur.Plan.Contingency; c.Triggers != "Cold weather" || len(c.WhoToContact) != 1 || c.WhoToContact[0].Contact != "07700 900123" {
		t.Fatalf("contingency after the form: %+v", c)
	}
	// A contact without how to reach them is refused.
	mustCarePlanForm(t, coord, page+"/contingency", url.Values{"based_on": {fmt.Sprint(cur.Number)}, "contact_name": {"Sam"}, "contact_role": {""},
		"contact_how": {""}}, page+"/contingency?error=contingency")

	// A COPD action plan with the person's thresholds, then its zones.
	mustCarePlanPage(t, coord, page+"/action-plans/copd")
	mustCarePlanForm(t, coord, page+"/action-plans/copd", url.Values{"based_on": {fmt.Sprint(cur.Number)},
		"usual_breathlessness": {"MRC 3"}, "usual_sputum": {"clear, mornings"}}, page+"?done=action-plan")
	cur = mustCurrentPlan(t, w, v.PlanID)
	body = mustCarePlanPage(t, coord, page+"/action-plans/copd")
	if !strings.Contains(body, "My breathing is as usual: MRC 3") {
		t.Fatalf("the COPD zones are not shown to edit: %.600s", body)
	}

	// Agreed, active, then reviewed.
	svc := careplan.NewService(w.db, w.clock.now)
	cur, _ = svc.Agree(t.Context(), careplan.Actor{UserID: 99, Name: "person", Party: careplan.PartyPerson}, v.PlanID, cur.Number, "")
	mustCarePlanForm(t, coord, page+"/agree", url.Values{"based_on": {fmt.Sprint(cur.Number)}}, page+"?done=agreed")
	cur = mustCurrentPlan(t, w, v.PlanID)
	mustCarePlanForm(t, coord, page+"/status", url.Values{"based_on": {fmt.Sprint(cur.Number)}, "status": {"closed"}}, page+"?error=status")
	mustCarePlanForm(t, coord, page+"/status", url.Values{"based_on": {fmt.Sprint(cur.Number)}, "status": {"active"}, "reason": {"copies given"}}, page+"?done=status")
	cur = mustCurrentPlan(t, w, v.PlanID)
	w.clock.advance(30 * 24 * time.Hour)
	coord = w.signIn("pe.coord")
	body = mustCarePlanPage(t, coord, page+"/review")
	if !strings.Contains(body, "Get to my allotment twice a week") {
		t.Fatalf("review page: %.600s", body)
	}
	review := url.Values{"based_on": {fmt.Sprint(cur.Number)}, "date": {"2025-05-02"}, "scheduled": {"no"}, "trigger": {"after a chest infection"},
		"goal": {"g1", "g2"}, "progress_g1": {"changed"}, "new_text_g1": {"Sit in my allotment with a flask"}, "next_review": {"2025-08-01"}}
	mustCarePlanForm(t, coord, page+"/review", review, page+"/review?error=review") // g2 has no progress
	review.Set("progress_g2", "achieved")
	mustCarePlanForm(t, coord, page+"/review", review, page+"?done=review")
	cur = mustCurrentPlan(t, w, v.PlanID)
	if len(cur.Plan.Reviews) != 1 || cur.Plan.Goals[0].Text != "Sit in my allotment with a flask" || cur.Plan.Goals[1].Status != careplan.GoalAchieved ||
		cur.Plan.Review.Next != "2025-08-01" {
		t.Fatalf("after the review: %+v", cur.Plan)
	}

	body = mustCarePlanPage(t, coord, page+"/history")
	if !strings.Contains(body, "pe.coord") || !strings.Contains(body, "unscheduled review: after a chest infection") ||
		!strings.Contains(body, fmt.Sprintf("compare?from=%d&amp;to=%d", cur.Number-1, cur.Number)) {
		t.Fatalf("history: %.800s", body)
	}
	body = mustCarePlanPage(t, coord, fmt.Sprintf("%s/compare?from=%d&to=%d", page, cur.Number-1, cur.Number))
	for _, want := range []string{"Get to my allotment twice a week", "Sit in my allotment with a flask", "Goal g1", "Review"} {
		if !strings.Contains(body, want) {
			t.Errorf("compare lacks %q: %.800s", want, body)
		}
	}
	if status, _, _ := coord.page(page + "/compare?from=0&to=1"); status != http.StatusBadRequest {
		t.Errorf("compare with version 0: %d", status)
	}
}

// TestCarePlanPagesWhoSeesWhat: the person sees their own view without
// the staff's forms and cannot post them; a coordinator with no
// relationship to a person is refused their plan and its pages.
func TestCarePlanPagesWhoSeesWhat(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("pw.coord", auth.CareCoordinator)
	w.addUser("pw.person", auth.ServiceUser)
	coord, me := w.signIn("pw.coord"), w.signIn("pw.person")
	v := w.planFor(w.related)
	page := fmt.Sprintf("/careplans/%d", v.PlanID)

	body := mustCarePlanPage(t, me, page)
	for _, want := range []string{"My care and support plan", "My care coordinator is", "My goals and what we will do", "Write about me", "I agree to this plan"} {
		if !strings.Contains(body, want) {
			t.Errorf("the person's view lacks %q", want)
		}
	}
	for _, staff := range []string{"/actions/", "/contingency", "/details\"", "/status", "/review-schedule", "Add the goal"} {
		if strings.Contains(body, staff) {
			t.Errorf("the person's view shows the staff's %q", staff)
		}
	}
	if status, _, _ := me.page(page + "/actions/a3"); status != http.StatusForbidden {
		t.Errorf("the person opening the action editor: %d, want 403", status)
	}
	if status, _, _ := me.form(page+"/contingency", url.Values{"based_on": {"1"}, "triggers": {"x"}}); status != http.StatusForbidden {
		t.Errorf("the person posting the contingency form: %d, want 403", status)
	}
	if status, _, _ := me.page(fmt.Sprintf("/people/%d/careplans/new", w.related)); status != http.StatusForbidden {
		t.Errorf("the person starting a plan: %d, want 403", status)
	}

	other := w.planFor(w.unrelated)
	for _, path := range []string{fmt.Sprintf("/careplans/%d", other.PlanID), fmt.Sprintf("/careplans/%d/history", other.PlanID),
		fmt.Sprintf("/careplans/%d/protocols/copd", other.PlanID), fmt.Sprintf("/people/%d/careplans/new", w.unrelated),
		fmt.Sprintf("/people/%d/protocols", w.unrelated)} {
		if status, body, _ := coord.page(path); status != http.StatusForbidden || strings.Contains(body, "allotment") {
			t.Errorf("an unrelated coordinator GET %s: %d, want 403", path, status)
		}
	}
	if status, _, _ := coord.form(fmt.Sprintf("/careplans/%d/agree", other.PlanID), url.Values{"based_on": {"1"}}); status != http.StatusForbidden {
		t.Errorf("an unrelated coordinator agreeing: %d, want 403", status)
	}
	if status, _, loc := w.browser().page(page); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
		t.Errorf("signed out: %d to %q", status, loc)
	}
}

// mustLongPlan builds a plan with five years of history: 60 versions, 10
// of them reviews, as BenchmarkCarePlanOpen does for the API.
func mustLongPlan(b testing.TB, w *trustWorld) careplan.Version {
	b.Helper()
	svc := careplan.NewService(w.db, w.clock.now)
	ctx := b.Context()
	a := careplan.Actor{UserID: 1, Name: "bench", Role: "care_coordinator", ProfessionalID: w.prof, Party: careplan.PartyProfessional}
	v, err := svc.Create(ctx, a, w.related, w.copdPlan(), "bench")
	must := func(nv careplan.Version, err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		v = nv
	}
	must(v, err)
	must(svc.PutActionPlan(ctx, a, v.PlanID, v.Number, careplan.ActionPlan{Condition: careplan.COPD,
		Thresholds: careplan.Thresholds{UsualBreathlessness: "MRC 3", UsualSputum: "clear, mornings"}}, "copd"))
	must(svc.Agree(ctx, careplan.Actor{UserID: 2, Name: "person", Party: careplan.PartyPerson}, v.PlanID, v.Number, ""))
	must(svc.Agree(ctx, a, v.PlanID, v.Number, ""))
	must(svc.SetStatus(ctx, a, v.PlanID, v.Number, careplan.Active, "start"))
	next := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; v.Number < 60; i++ {
		if i%5 == 4 && len(v.Plan.Reviews) < 10 {
			next = next.AddDate(0, 6, 0)
			var gs []careplan.GoalProgress
			for _, g := range v.Plan.Goals {
				if g.Status.Open() {
					gs = append(gs, careplan.GoalProgress{GoalID: g.ID, Progress: careplan.ProgressPartly, Note: "getting there"})
				}
			}
			must(svc.RecordReview(ctx, a, v.PlanID, v.Number, careplan.Review{Scheduled: true, NextReview: careplan.DateOf(next), Goals: gs,
				WhatChanged: "reviewed with the person at home; " + strings.Repeat("notes ", 20)}))
			continue
		}
		if i%2 == 0 {
			g, _, err := svc.PutGoal(ctx, a, v.PlanID, v.Number, careplan.Goal{Text: fmt.Sprintf("Goal %d in the person's words, with some detail about why it matters to them", i), Importance: 5}, "new goal")
			must(g, err)
		} else {
			ac, _, err := svc.PutAction(ctx, a, v.PlanID, v.Number, careplan.Action{GoalID: "g1", What: fmt.Sprintf("Action %d: something specific the person will do", i),
				Who: careplan.Who{Kind: careplan.ByPerson}, When: "weekly", Area: careplan.HealthyLife}, "new action")
			must(ac, err)
		}
	}
	return v
}

// BenchmarkCarePlanPage opens the plan page (with the editor) of a plan
// with 60 versions as its coordinator, the policy decision and audit
// entry included; and its history page.
func BenchmarkCarePlanPage(b *testing.B) {
	w := newTrustWorld(b)
	v := mustLongPlan(b, w)
	w.addUser("bench.coordinator", auth.CareCoordinator)
	c := w.signIn("bench.coordinator")
	for _, path := range []string{fmt.Sprintf("/api/v1/careplans/%d", v.PlanID), fmt.Sprintf("/careplans/%d", v.PlanID), fmt.Sprintf("/careplans/%d/history", v.PlanID),
		fmt.Sprintf("/people/%d/protocols", w.related)} {
		b.Run(strings.ReplaceAll(strings.Trim(path, "/"), "/", "-"), func(b *testing.B) {
			status, body := c.do("GET", path, nil)
			if status != http.StatusOK {
				b.Fatalf("%d %.300s", status, body)
			}
			for b.Loop() {
				if status, _ := c.do("GET", path, nil); status != http.StatusOK {
					b.Fatal(status)
				}
			}
			b.ReportMetric(float64(len(body)), "page-bytes")
		})
	}
}
