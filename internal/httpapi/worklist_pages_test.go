package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/directory"
)

// worklistAssertPage checks what every page of ours promises: one h1, no
// inline style or script, every visible form control labelled, small.
func worklistAssertPage(t *testing.T, body string) {
	t.Helper()
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("%d h1 elements, want 1", n)
	}
	for _, bad := range []string{"style=", "<style", "<script"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if len(body) > 100_000 {
		t.Errorf("page is %d bytes, over 100 KB", len(body))
	}
	ctl := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	for _, tag := range ctl.FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, `type="submit"`) {
			continue
		}
		m := regexp.MustCompile(`\bid="([^"]+)"`).FindStringSubmatch(tag)
		if m == nil {
			t.Errorf("form control without an id: %s", tag)
			continue
		}
		if !strings.Contains(body, `for="`+m[1]+`"`) {
			t.Errorf("form control %q has no label", m[1])
		}
	}
}

// worklistTeams finds, in the test world's directory, the gp-practice team
// of the first two practices and, for the second, its coordinator.
func worklistTeams(t *testing.T, w *trustWorld) (team, team2, prof2 int64) {
	t.Helper()
	dir, err := w.db.Directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var practices []string
	for _, o := range dir.Organisations {
		if o.Kind == directory.GPPractice {
			practices = append(practices, o.ID)
		}
	}
	for _, tm := range dir.Teams {
		if tm.Kind == "gp-practice" && tm.OrgID == practices[0] {
			team = tm.ID
		}
		if tm.Kind == "gp-practice" && tm.OrgID == practices[1] {
			team2 = tm.ID
		}
	}
	for _, m := range dir.Members {
		if m.TeamID == team2 && m.Role == "coordinator" {
			prof2 = m.ProfessionalID
		}
	}
	if team == 0 || team2 == 0 || prof2 == 0 {
		t.Fatalf("directory: teams %d %d, coordinator %d", team, team2, prof2)
	}
	return team, team2, prof2
}

// worklistUserAt stores a care coordinator who is professional prof.
func worklistUserAt(t *testing.T, w *trustWorld, name string, prof int64) string {
	t.Helper()
	h, err := w.hasher.Hash(t.Context(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.PutUser(t.Context(), auth.User{Name: name, DisplayName: name, Role: auth.CareCoordinator, OrgID: "ZZOTHER",
		ProfessionalID: prof, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	return name
}

func worklistRaise(t *testing.T, w *trustWorld, as ...alerts.Alert) []alerts.Alert {
	t.Helper()
	now := w.clock.now()
	for i := range as {
		if as[i].RuleVer == 0 {
			as[i].RuleVer = 1
		}
		if as[i].Due.IsZero() {
			as[i].Due = now.Add(48 * time.Hour)
		}
		if as[i].Causes == nil {
			as[i].Causes = []alerts.Cause{{Kind: "encounter", Ref: "encounter 1", What: "an emergency admission ended"}}
		}
	}
	raised, err := w.db.RaiseAlerts(t.Context(), as, now)
	if err != nil || len(raised) != len(as) {
		t.Fatalf("raise alerts: %d of %d, %v", len(raised), len(as), err)
	}
	return raised
}

func TestWorklistPagesShowTheCallersAlerts(t *testing.T) {
	w := newTrustWorld(t)
	ctx := t.Context()
	team, team2, prof2 := worklistTeams(t, w)
	raised := worklistRaise(t, w,
		alerts.Alert{PersonID: w.related, Rule: "discharge-follow-up", Key: "enc:1", Title: "Follow up after discharge", Reason: "Discharged from hospital yesterday", Priority: alerts.High, TeamID: team},
		alerts.Alert{PersonID: w.carerOf, Rule: "risk-rise", Key: "band:4", Title: "Risk rose", Reason: "Risk band rose from 2 to 4", Priority: alerts.Urgent, AssigneeID: w.prof, TeamID: team},
		alerts.Alert{PersonID: w.unrelated, Rule: "discharge-follow-up", Key: "enc:2", Title: "Follow up after discharge", Reason: "Discharged on Monday", Priority: alerts.Normal, TeamID: team2},
		alerts.Alert{PersonID: w.withdrawn, Rule: "discharge-follow-up", Key: "enc:3", Title: "Follow up after discharge", Reason: "Discharged today", Priority: alerts.Normal, TeamID: team},
		// Someone the coordinator may see, but the work of another team.
		alerts.Alert{PersonID: w.related, Rule: "flu-vaccination", Key: "season", Title: "Flu vaccination due", Reason: "Not vaccinated", Priority: alerts.Low, TeamID: team2},
	)
	mine, theirs, withdrawn, otherTeams := raised[0], raised[2], raised[3], raised[4]
	related, err := w.db.Person(ctx, w.related)
	if err != nil {
		t.Fatal(err)
	}
	coord := w.signIn(w.addUser("wl.coord", auth.CareCoordinator).Name)
	other := w.signIn(worklistUserAt(t, w, "wl.other", prof2))

	status, body, _ := coord.page("/worklist")
	if status != http.StatusOK {
		t.Fatalf("worklist: %d %.300s", status, body)
	}
	worklistAssertPage(t, body)
	for _, want := range []string{related.FamilyName, related.NHSNumber[:3] + " " + related.NHSNumber[3:6], fmt.Sprintf(`href="/people/%d"`, w.related),
		fmt.Sprintf(`href="/alerts/%d"`, mine.ID), "Follow up after discharge", ">Urgent<", ">High<", fmt.Sprintf(`href="/teams/%d/worklist"`, team)} {
		if !strings.Contains(body, want) {
			t.Errorf("coordinator's worklist lacks %q", want)
		}
	}
	// Urgent comes before high.
	if strings.Index(body, fmt.Sprintf(`/alerts/%d"`, raised[1].ID)) > strings.Index(body, fmt.Sprintf(`/alerts/%d"`, mine.ID)) {
		t.Error("the urgent alert is not listed first")
	}
	if strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, theirs.ID)) || strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, otherTeams.ID)) {
		t.Error("another team's alert is on the coordinator's worklist")
	}
	// The person who withdrew consent is counted, not shown.
	if strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, withdrawn.ID)) || !strings.Contains(body, "1 on this page is not shown because the person has not consented") {
		t.Error("the alert of a person who withdrew consent is shown, or not counted")
	}
	status, body, _ = other.page("/worklist")
	if status != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, theirs.ID)) || strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, mine.ID)) {
		t.Errorf("the other coordinator's worklist: %d, has theirs %v, has mine %v", status,
			strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, theirs.ID)), strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, mine.ID)))
	}

	// Filters.
	_, body, _ = coord.page("/worklist?priority=urgent")
	if !strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, raised[1].ID)) || strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, mine.ID)) {
		t.Error("urgent only still lists the high alert, or lost the urgent one")
	}
	_, body, _ = coord.page("/worklist?kind=risk-rise")
	if strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, mine.ID)) {
		t.Error("the kind filter does not filter")
	}
	if status, body, _ := coord.page("/worklist?status=nonsense"); status != http.StatusBadRequest || !strings.Contains(body, "filter") {
		t.Errorf("an unknown status: %d", status)
	}

	// A team's worklist: for its members, with who each is assigned to.
	status, body, _ = coord.page(fmt.Sprintf("/teams/%d/worklist", team))
	if status != http.StatusOK || !strings.Contains(body, "Assign to") || !strings.Contains(body, "Not assigned") || strings.Contains(body, fmt.Sprintf(`/alerts/%d"`, theirs.ID)) {
		t.Fatalf("team worklist: %d %.300s", status, body)
	}
	worklistAssertPage(t, body)
	if status, _, _ := coord.page(fmt.Sprintf("/teams/%d/worklist", team2)); status != http.StatusForbidden {
		t.Errorf("another team's worklist: %d, want 403", status)
	}
	analyst := w.signIn(w.addUser("wl.analyst", auth.Analyst).Name)
	if status, _, _ := analyst.page("/worklist"); status != http.StatusForbidden {
		t.Errorf("analyst's worklist: %d, want 403", status)
	}
	if status, _, loc := w.browser().page("/worklist"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
		t.Errorf("signed out: %d to %q", status, loc)
	}

	// Pages of 25.
	var more []alerts.Alert
	for i := range 30 {
		more = append(more, alerts.Alert{PersonID: w.related, Rule: "flu-vaccination", Key: fmt.Sprintf("k%d", i), Title: "Flu vaccination due",
			Reason: "Not vaccinated this season", Priority: alerts.Low, TeamID: team})
	}
	worklistRaise(t, w, more...)
	_, body, _ = coord.page("/worklist")
	if !strings.Contains(body, "Showing 1 to 25 of 33 alerts") || !strings.Contains(body, `href="/worklist?page=2"`) {
		t.Errorf("first page of 33: %.200s", body[strings.Index(body, "<main"):])
	}
	_, body, _ = coord.page("/worklist?page=2")
	if !strings.Contains(body, "Showing 26 to 33 of 33 alerts") || !strings.Contains(body, "Previous page") || strings.Contains(body, "Next page") {
		t.Error("second page of 33 is wrong")
	}
}

func TestAlertPageResolveDismissAssign(t *testing.T) {
	w := newTrustWorld(t)
	ctx := t.Context()
	team, team2, _ := worklistTeams(t, w)
	raised := worklistRaise(t, w,
		alerts.Alert{PersonID: w.related, Rule: "discharge-follow-up", Key: "enc:1", Title: "Follow up after discharge", Reason: "Discharged from hospital yesterday", Priority: alerts.High, TeamID: team},
		alerts.Alert{PersonID: w.unrelated, Rule: "discharge-follow-up", Key: "enc:2", Title: "Follow up after discharge", Reason: "Discharged on Monday", Priority: alerts.Normal, TeamID: team2},
	)
	a := raised[0]
	coord := w.signIn(w.addUser("al.coord", auth.CareCoordinator).Name)

	// The browser path: the worklist, the first alert, resolve it.
	_, body, _ := coord.page("/worklist")
	first := regexp.MustCompile(`href="(/alerts/\d+)"`).FindStringSubmatch(body)
	if first == nil || first[1] != fmt.Sprintf("/alerts/%d", a.ID) {
		t.Fatalf("first alert on the worklist: %v", first)
	}
	status, body, _ := coord.page(first[1])
	if status != http.StatusOK || !strings.Contains(body, "Discharged from hospital yesterday") || !strings.Contains(body, "an emergency admission ended") ||
		!strings.Contains(body, "Resolve the alert") || !strings.Contains(body, "Dismiss the alert") {
		t.Fatalf("alert page: %d %.500s", status, body)
	}
	worklistAssertPage(t, body)
	csrf := csrfOf(t, body)
	move := func(c *client, v url.Values) (int, string, string) {
		t.Helper()
		return c.form(first[1]+"/move", v)
	}
	hist0, err := w.db.AlertHistory(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		got, err := w.db.Alert(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		hist, _ := w.db.AlertHistory(ctx, a.ID)
		if got.Status != alerts.Open || got.Version != a.Version || len(hist) != len(hist0) {
			t.Fatalf("%s changed the alert: %s v%d, %d changes", what, got.Status, got.Version, len(hist))
		}
	}

	// Dismissing needs a reason: a clear error, nothing changed.
	status, body, _ = move(coord, url.Values{"to": {"dismissed"}, "note": {"  "}, "version": {fmt.Sprint(a.Version)}})
	if status != http.StatusBadRequest || !strings.Contains(body, "Say why you are dismissing the alert") || !strings.Contains(body, "field-error") {
		t.Fatalf("dismiss without a reason: %d %.300s", status, body)
	}
	unchanged("a dismissal without a reason")
	// A forged or absent CSRF token is refused.
	if status, _, _ := move(coord, url.Values{"to": {"done"}, "version": {fmt.Sprint(a.Version)}, "csrf_token": {"forged"}}); status != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d, want 403", status)
	}
	bare := *coord
	bare.csrf = ""
	if status, _, _ := move(&bare, url.Values{"to": {"done"}, "version": {fmt.Sprint(a.Version)}}); status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d, want 403", status)
	}
	unchanged("a forged form")
	// Someone with no relationship to the person cannot move it.
	if status, _, _ := coord.form(fmt.Sprintf("/alerts/%d/move", raised[1].ID), url.Values{"to": {"done"}, "version": {"1"}}); status != http.StatusForbidden {
		t.Errorf("moving an unrelated person's alert: %d, want 403", status)
	}
	if status, _, _ := coord.page(fmt.Sprintf("/alerts/%d", raised[1].ID)); status != http.StatusForbidden {
		t.Errorf("reading an unrelated person's alert: %d, want 403", status)
	}

	// Resolve with an outcome note.
	status, _, loc := move(coord, url.Values{"to": {"done"}, "note": {"Called; medicines reconciled"}, "version": {fmt.Sprint(a.Version)}, "csrf_token": {csrf}})
	if status != http.StatusSeeOther || loc != first[1]+"?done=done" {
		t.Fatalf("resolve: %d to %q", status, loc)
	}
	status, body, _ = coord.page(loc)
	if status != http.StatusOK || !strings.Contains(body, "Alert resolved") || !strings.Contains(body, "Open to Resolved") || !strings.Contains(body, "Called; medicines reconciled") ||
		strings.Contains(body, "Resolve the alert") {
		t.Fatalf("after resolving: %d %.800s", status, body)
	}
	got, _ := w.db.Alert(ctx, a.ID)
	hist, _ := w.db.AlertHistory(ctx, a.ID)
	if got.Status != alerts.Done || len(hist) != len(hist0)+1 || hist[len(hist)-1].To != alerts.Done || hist[len(hist)-1].Note != "Called; medicines reconciled" || hist[len(hist)-1].By != "al.coord" {
		t.Fatalf("stored: %s, history %+v", got.Status, hist)
	}
	_, body, _ = coord.page("/worklist")
	if strings.Contains(body, first[1]+`"`) {
		t.Error("the resolved alert is still on the open worklist")
	}
	if _, body, _ = coord.page("/worklist?status=done"); !strings.Contains(body, first[1]+`"`) {
		t.Error("the resolved alert is not on the resolved list")
	}
	// The same form again is stale: said so, the note kept, nothing saved.
	status, body, _ = move(coord, url.Values{"to": {"dismissed"}, "note": {"duplicate of another"}, "version": {fmt.Sprint(a.Version)}})
	if status != http.StatusConflict || !strings.Contains(body, "Someone changed this alert") {
		t.Fatalf("stale move: %d %.300s", status, body)
	}
	if hist, _ := w.db.AlertHistory(ctx, a.ID); len(hist) != len(hist0)+1 {
		t.Fatalf("a stale move was recorded: %+v", hist)
	}

	// In progress, then assigned to a team member from the team worklist.
	b := worklistRaise(t, w, alerts.Alert{PersonID: w.carerOf, Rule: "risk-rise", Key: "band:4", Title: "Risk rose", Reason: "Risk band rose", Priority: alerts.Urgent, TeamID: team})[0]
	if status, _, loc := coord.form(fmt.Sprintf("/alerts/%d/move", b.ID), url.Values{"to": {"in_progress"}, "version": {fmt.Sprint(b.Version)}}); status != http.StatusSeeOther || !strings.HasSuffix(loc, "done=in_progress") {
		t.Fatalf("in progress: %d %q", status, loc)
	}
	// A snooze needs a day after today.
	status, body, _ = coord.form(fmt.Sprintf("/alerts/%d/move", b.ID), url.Values{"to": {"snoozed"}, "snoozed_until": {"2020-01-01"}, "version": {fmt.Sprint(b.Version + 1)}})
	if status != http.StatusBadRequest || !strings.Contains(body, "Choose a day to snooze the alert until") {
		t.Fatalf("snooze into the past: %d", status)
	}
	_, members, err := w.db.TeamRosters(ctx, []int64{team}, w.clock.now())
	if err != nil || len(members[team]) == 0 {
		t.Fatalf("team members: %v %v", members, err)
	}
	to := members[team][0]
	back := fmt.Sprintf("/teams/%d/worklist", team)
	status, _, loc = coord.form(fmt.Sprintf("/alerts/%d/assign", b.ID), url.Values{"assignee": {"999999"}, "version": {fmt.Sprint(b.Version + 1)}, "back": {back}})
	if status != http.StatusSeeOther || loc != back+"?error=assignee" {
		t.Fatalf("assign to a stranger: %d %q", status, loc)
	}
	status, _, loc = coord.form(fmt.Sprintf("/alerts/%d/assign", b.ID), url.Values{"assignee": {fmt.Sprint(to.ID)}, "version": {fmt.Sprint(b.Version + 1)}, "back": {back}})
	if status != http.StatusSeeOther || loc != back+"?done=assigned" {
		t.Fatalf("assign: %d %q", status, loc)
	}
	_, body, _ = coord.page(loc)
	if !strings.Contains(body, "Alert assigned") || !strings.Contains(body, to.GivenName+" "+to.FamilyName) {
		t.Error("the team worklist does not show the assignment")
	}
	if got, _ := w.db.Alert(ctx, b.ID); got.AssigneeID != to.ID || got.Status != alerts.InProgress {
		t.Errorf("stored after assigning: %+v", got)
	}
	// A back address elsewhere is not followed.
	status, _, loc = coord.form(fmt.Sprintf("/alerts/%d/assign", b.ID), url.Values{"assignee": {fmt.Sprint(to.ID)}, "version": {"1"}, "back": {"//evil.example/"}})
	if status != http.StatusSeeOther || loc != fmt.Sprintf("/alerts/%d?error=stale", b.ID) {
		t.Errorf("stale assignment with a foreign back: %d %q", status, loc)
	}
}

// BenchmarkWorklistPage is the whole request for a worklist page over
// loopback HTTP (session, policy, audit, store, template) with 500 open
// alerts for the caller's team and 20,000 for other teams.
func BenchmarkWorklistPage(b *testing.B) {
	w := newTrustWorld(b)
	ctx := b.Context()
	dir, err := w.db.Directory(ctx)
	if err != nil {
		b.Fatal(err)
	}
	teams, err := w.db.ProfessionalTeams(ctx, w.prof, w.clock.now())
	if err != nil || len(teams) == 0 {
		b.Fatal(teams, err)
	}
	var practice string
	for _, t := range dir.Teams {
		if t.ID == teams[0] {
			practice = t.OrgID
		}
	}
	people, err := w.db.PeopleAtPractice(ctx, practice, 200)
	if err != nil || len(people) == 0 {
		b.Fatal(people, err)
	}
	now := w.clock.now()
	cause := []alerts.Cause{{Kind: "encounter", Ref: "encounter 1", What: "an emergency admission ended"}}
	var as []alerts.Alert
	for i := range 500 {
		as = append(as, alerts.Alert{PersonID: people[i%len(people)], Rule: "discharge-follow-up", RuleVer: 1, Key: fmt.Sprintf("mine:%d", i),
			Title: "Follow up after discharge", Reason: "Discharged", Priority: alerts.Priority(1 + i%4), TeamID: teams[0],
			Due: now.Add(time.Duration(i) * time.Hour), Causes: cause})
	}
	for i := range 20000 {
		as = append(as, alerts.Alert{PersonID: int64(1 + i%400), Rule: "flu-vaccination", RuleVer: 1, Key: fmt.Sprintf("other:%d", i),
			Title: "Flu", Reason: "Due", Priority: alerts.Priority(1 + i%4), TeamID: 1000 + int64(i%50), Due: now.Add(time.Duration(i) * time.Minute), Causes: cause})
	}
	for chunk := range slices.Chunk(as, 1000) {
		if _, err := w.db.RaiseAlerts(ctx, chunk, now); err != nil {
			b.Fatal(err)
		}
	}
	c := w.signIn(w.addUser("bench.worklist", auth.CareCoordinator).Name)
	for _, path := range []string{"/worklist", "/worklist?per=50", "/worklist?per=50&page=5", fmt.Sprintf("/teams/%d/worklist?per=50", teams[0])} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				res, err := c.hc.Get(w.ts.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Follow up after discharge") {
					b.Fatalf("%s: %d", path, res.StatusCode)
				}
			}
		})
	}
}
