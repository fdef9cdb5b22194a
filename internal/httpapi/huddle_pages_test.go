package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/huddle"
)

func TestHuddlePagesRunAMeeting(t *testing.T) {
	w := newTrustWorld(t)
	ctx := t.Context()
	team, team2, _ := worklistTeams(t, w)
	coord := w.signIn(w.addUser("hp.coord", auth.CareCoordinator).Name)
	carer, err := w.db.Person(ctx, w.carerOf)
	if err != nil {
		t.Fatal(err)
	}
	related, err := w.db.Person(ctx, w.related)
	if err != nil {
		t.Fatal(err)
	}

	// Start a huddle: a bad form says why and saves nothing; not for
	// another team.
	if status, _, loc := coord.form("/huddles", url.Values{"team": {fmt.Sprint(team)}, "title": {" "}, "every_days": {"7"}}); status != http.StatusSeeOther || loc != "/huddles?error=huddle" {
		t.Fatalf("a huddle without a name: %d %q", status, loc)
	}
	if status, _, loc := coord.form("/huddles", url.Values{"team": {fmt.Sprint(team2)}, "title": {"Not ours"}, "every_days": {"7"}}); status != http.StatusSeeOther || loc != "/huddles?error=team" {
		t.Fatalf("a huddle for another team: %d %q", status, loc)
	}
	if hs, _ := w.db.TeamHuddles(ctx, team); len(hs) != 0 {
		t.Fatalf("refused forms made huddles: %+v", hs)
	}
	status, _, loc := coord.form("/huddles", url.Values{"team": {fmt.Sprint(team)}, "title": {"Neighbourhood MDT"}, "every_days": {"7"}})
	m := regexp.MustCompile(`^/huddles/(\d+)\?done=created$`).FindStringSubmatch(loc)
	if status != http.StatusSeeOther || m == nil {
		t.Fatalf("start a huddle: %d %q", status, loc)
	}
	hid, _ := strconv.ParseInt(m[1], 10, 64)
	status, body, _ := coord.page("/huddles")
	if status != http.StatusOK || !strings.Contains(body, "Neighbourhood MDT") || !strings.Contains(body, "Not met yet") || !strings.Contains(body, "Every week") {
		t.Fatalf("huddles: %d %.500s", status, body)
	}
	worklistAssertPage(t, body)

	// An alert the agenda picks up, and a person put on it by hand (by NHS
	// number, spaced as people write it).
	now := w.clock.now()
	raised := worklistRaise(t, w, alerts.Alert{PersonID: w.related, Rule: "discharge-follow-up", Key: "enc:9", Title: "Follow up after discharge",
		Reason: "Discharged yesterday", Priority: alerts.High, TeamID: team, Due: now.Add(48 * time.Hour)})
	status, body, _ = coord.page(fmt.Sprintf("/huddles/%d", hid))
	if status != http.StatusOK || !strings.Contains(body, "Open a meeting now") {
		t.Fatalf("huddle page: %d %.300s", status, body)
	}
	worklistAssertPage(t, body)
	nhs := carer.NHSNumber[:3] + " " + carer.NHSNumber[3:6] + " " + carer.NHSNumber[6:]
	if status, _, loc := coord.form(fmt.Sprintf("/huddles/%d/items", hid), url.Values{"person": {nhs}, "reason": {""}}); loc != fmt.Sprintf("/huddles/%d?error=reason", hid) {
		t.Fatalf("an item without a reason: %d %q", status, loc)
	}
	if status, _, loc := coord.form(fmt.Sprintf("/huddles/%d/items", hid), url.Values{"person": {"123 456"}, "reason": {"x"}}); loc != fmt.Sprintf("/huddles/%d?error=person", hid) {
		t.Fatalf("an unknown person: %d %q", status, loc)
	}
	if status, _, _ := coord.form(fmt.Sprintf("/huddles/%d/items", hid), url.Values{"person": {fmt.Sprint(w.unrelated)}, "reason": {"curious"}}); status != http.StatusForbidden {
		t.Fatalf("an unrelated person on the agenda: %d, want 403", status)
	}
	if status, _, loc := coord.form(fmt.Sprintf("/huddles/%d/items", hid), url.Values{"person": {nhs}, "reason": {"Carer struggling"}}); status != http.StatusSeeOther || loc != fmt.Sprintf("/huddles/%d?done=added", hid) {
		t.Fatalf("add an item: %d %q", status, loc)
	}

	// Open the meeting.
	status, _, loc = coord.form(fmt.Sprintf("/huddles/%d/meetings", hid), nil)
	m = regexp.MustCompile(`^/meetings/(\d+)\?done=opened$`).FindStringSubmatch(loc)
	if status != http.StatusSeeOther || m == nil {
		t.Fatalf("open a meeting: %d %q", status, loc)
	}
	mid, _ := strconv.ParseInt(m[1], 10, 64)
	if _, _, loc := coord.form(fmt.Sprintf("/huddles/%d/meetings", hid), nil); loc != fmt.Sprintf("/huddles/%d?error=open", hid) {
		t.Fatalf("a second open meeting: %q", loc)
	}
	status, body, _ = coord.page(loc)
	if status != http.StatusOK || !strings.Contains(body, "Meeting opened") || !strings.Contains(body, carer.FamilyName) || !strings.Contains(body, related.FamilyName) ||
		!strings.Contains(body, "Added by hp.coord") || !strings.Contains(body, "Discharged: follow-up alert") || !strings.Contains(body, fmt.Sprintf(`href="/alerts/%d"`, raised[0].ID)) {
		t.Fatalf("agenda: %d %.1500s", status, body)
	}
	worklistAssertPage(t, body)

	// Add someone during the meeting: back to the meeting.
	if status, _, loc := coord.form(fmt.Sprintf("/huddles/%d/items", hid), url.Values{"person": {fmt.Sprint(w.related)}, "reason": {"Missed two appointments"}, "meeting": {fmt.Sprint(mid)}}); status != http.StatusSeeOther || loc != fmt.Sprintf("/meetings/%d?done=added", mid) {
		t.Fatalf("add during the meeting: %d %q", status, loc)
	}
	mt, err := w.db.Meeting(ctx, mid)
	if err != nil || len(mt.Items) != 3 {
		t.Fatalf("meeting items: %+v %v", mt.Items, err)
	}
	var discharge, added huddle.Item
	for _, it := range mt.Items {
		switch it.Kind {
		case huddle.Discharge:
			discharge = it
		case huddle.Added:
			if it.PersonID == w.carerOf {
				added = it
			}
		}
	}
	if discharge.ID == 0 || added.ID == 0 {
		t.Fatalf("agenda kinds: %+v", mt.Items)
	}

	// Decide: a task needs someone to do it; then a task and a plan change.
	decide := func(it huddle.Item, v url.Values) string {
		t.Helper()
		status, _, loc := coord.form(fmt.Sprintf("/huddle-items/%d/decision", it.ID), v)
		if status != http.StatusSeeOther {
			t.Fatalf("decide %d: %d", it.ID, status)
		}
		return loc
	}
	// A task for nobody is refused, shown again as typed.
	status, body, _ = coord.form(fmt.Sprintf("/huddle-items/%d/decision", discharge.ID), url.Values{"outcome": {"task"}, "text": {"Visit on Tuesday"}, "assignee": {""}, "due_days": {"3"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "A task also needs the person who will do it") ||
		!strings.Contains(body, ">Visit on Tuesday</textarea>") || !strings.Contains(body, `value="task" checked`) || !strings.Contains(body, `value="3"`) {
		t.Fatalf("a task for nobody: %d %.3000s", status, body)
	}
	worklistAssertPage(t, body)
	if it, _ := w.db.HuddleItem(ctx, discharge.ID); it.Decision != nil {
		t.Fatal("a refused decision was recorded")
	}
	if loc := decide(discharge, url.Values{"outcome": {"task"}, "text": {"Visit and reconcile medicines"}, "assignee": {fmt.Sprint(w.prof)}, "due_days": {"2"}}); loc != fmt.Sprintf("/meetings/%d?done=decided#item-%d", mid, discharge.ID) {
		t.Fatalf("a task: %q", loc)
	}
	if loc := decide(added, url.Values{"outcome": {"plan-change"}, "text": {"Add a carer's assessment to the plan"}}); !strings.Contains(loc, "done=decided") {
		t.Fatalf("a plan change: %q", loc)
	}
	if loc := decide(added, url.Values{"outcome": {"no-action"}, "text": {"again"}}); !strings.Contains(loc, "error=decided") {
		t.Fatalf("deciding twice: %q", loc)
	}
	it, _ := w.db.HuddleItem(ctx, discharge.ID)
	if it.Decision == nil || it.Decision.Outcome != huddle.Task || it.Decision.AlertID == 0 || it.Decision.By != "hp.coord" {
		t.Fatalf("the task decision: %+v", it.Decision)
	}
	status, body, _ = coord.page(fmt.Sprintf("/meetings/%d", mid))
	if !strings.Contains(body, "Decided: Task") || !strings.Contains(body, "Visit and reconcile medicines") || !strings.Contains(body, "Decided: Change the care plan") ||
		!strings.Contains(body, fmt.Sprintf(`href="/alerts/%d"`, it.Decision.AlertID)) || !strings.Contains(body, "1 item is not decided") {
		t.Fatalf("agenda after deciding: %d %.2000s", status, body)
	}
	worklistAssertPage(t, body)
	// The task is on the worklist of the person it was given to.
	if _, body, _ := coord.page("/worklist?kind=huddle"); !strings.Contains(body, "Visit and reconcile medicines") {
		t.Error("the huddle's task is not on the worklist")
	}

	// Close the meeting.
	if status, _, loc := coord.form(fmt.Sprintf("/meetings/%d/close", mid), nil); status != http.StatusSeeOther || loc != fmt.Sprintf("/huddles/%d?done=closed", hid) {
		t.Fatalf("close: %d %q", status, loc)
	}
	if mt, _ := w.db.Meeting(ctx, mid); mt.Open {
		t.Fatal("the meeting is still open")
	}
	if _, _, loc := coord.form(fmt.Sprintf("/meetings/%d/close", mid), nil); loc != fmt.Sprintf("/meetings/%d?error=closed", mid) {
		t.Fatalf("closing twice: %q", loc)
	}
	status, body, _ = coord.page(fmt.Sprintf("/huddles/%d?done=closed", hid))
	if status != http.StatusOK || !strings.Contains(body, "Meeting closed") || !strings.Contains(body, "<dt>Decisions</dt><dd>2: 1 task, 1 care plan change</dd>") ||
		!strings.Contains(body, "Open a meeting now") {
		t.Fatalf("huddle after the meeting: %d %.2000s", status, body)
	}

	// A forged form changes nothing; people outside the team see nothing.
	if status, _, _ := coord.form(fmt.Sprintf("/huddles/%d/meetings", hid), url.Values{"csrf_token": {"forged"}}); status != http.StatusForbidden {
		t.Errorf("open with a forged token: %d", status)
	}
	if ms, _ := w.db.HuddleMeetings(ctx, hid); len(ms) != 1 {
		t.Errorf("a forged form opened a meeting: %d meetings", len(ms))
	}
	analyst := w.signIn(w.addUser("hp.analyst", auth.Analyst).Name)
	for _, path := range []string{"/huddles", fmt.Sprintf("/huddles/%d", hid), fmt.Sprintf("/meetings/%d", mid)} {
		if status, _, _ := analyst.page(path); status != http.StatusForbidden {
			t.Errorf("analyst %s: %d, want 403", path, status)
		}
	}
	_, _, prof2 := worklistTeams(t, w)
	other := w.signIn(worklistUserAt(t, w, "hp.other", prof2))
	if status, _, _ := other.page(fmt.Sprintf("/meetings/%d", mid)); status != http.StatusForbidden {
		t.Errorf("another team's member reads the meeting: %d, want 403", status)
	}
}
