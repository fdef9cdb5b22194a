package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/registry"
	"github.com/wholecare/wholecare/internal/web"
)

var (
	peopleInputRe = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	peopleIDRe    = regexp.MustCompile(`\bid="([^"]+)"`)
	peopleTypeRe  = regexp.MustCompile(`\btype="([^"]+)"`)
)

// peopleAssertPage checks a page's accessible shape cheaply: one h1, no
// inline style or script, every visible form control labelled, headings
// that do not skip a level.
func peopleAssertPage(t *testing.T, name, body string) {
	t.Helper()
	if n := strings.Count(body, "<h1"); n != 1 {
		t.Errorf("%s: %d h1 elements, want 1", name, n)
	}
	for _, bad := range []string{"style=", "<style", "<script"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s: contains %q", name, bad)
		}
	}
	for _, m := range peopleInputRe.FindAllString(body, -1) {
		if tm := peopleTypeRe.FindStringSubmatch(m); tm != nil && (tm[1] == "hidden" || tm[1] == "submit") {
			continue
		}
		id := peopleIDRe.FindStringSubmatch(m)
		if id == nil {
			t.Errorf("%s: a form control without an id: %s", name, m)
			continue
		}
		if !strings.Contains(body, `<label for="`+id[1]+`"`) {
			t.Errorf("%s: no <label for=%q>", name, id[1])
		}
	}
	last := 1
	for _, m := range regexp.MustCompile(`<h([1-6])`).FindAllStringSubmatch(body, -1) {
		lv := int(m[1][0] - '0')
		if lv > last+1 {
			t.Errorf("%s: heading h%d follows h%d", name, lv, last)
		}
		last = lv
	}
	if len(body) > 100_000 {
		t.Errorf("%s: %d bytes, over 100 KB", name, len(body))
	}
}

// peopleWithNHS is a person of the given ones with a valid NHS number.
func peopleWithNHS(t *testing.T, w *trustWorld, ids ...int64) registry.Person {
	t.Helper()
	for _, id := range ids {
		p, err := w.db.Person(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if registry.ValidNHSNumber(p.NHSNumber) && !p.BirthDate.IsZero() {
			return p
		}
	}
	t.Fatalf("none of %v has a valid NHS number and a date of birth", ids)
	return registry.Person{}
}

func TestPeopleSearchPage(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("find.coord", auth.CareCoordinator)
	w.addUser("find.analyst", auth.Analyst)
	w.addUser("find.self", auth.ServiceUser)
	c := w.signIn("find.coord")

	me := peopleWithNHS(t, w, w.related, w.carerOf, w.withdrawn)
	link := fmt.Sprintf(`href="/people/%d"`, me.ID)

	status, body, _ := c.page("/people")
	if status != http.StatusOK || !strings.Contains(body, `<label for="q"`) {
		t.Fatalf("search page: %d %.300s", status, body)
	}
	peopleAssertPage(t, "people (empty)", body)

	// By NHS number, written with spaces.
	status, body, _ = c.page("/people?q=" + url.QueryEscape(web.NHSNumber(me.NHSNumber)))
	if status != http.StatusOK || !strings.Contains(body, link) || !strings.Contains(body, web.NHSNumber(me.NHSNumber)) {
		t.Fatalf("search by NHS number: %d, link %v", status, strings.Contains(body, link))
	}
	if !strings.Contains(body, html.EscapeString(me.FamilyName)) || !strings.Contains(body, "In the care of your team") {
		t.Errorf("search by NHS number does not show the name and the relationship")
	}
	peopleAssertPage(t, "people (NHS number)", body)

	// A wrong check digit says so and finds no one.
	bad := me.NHSNumber[:9] + string('0'+(me.NHSNumber[9]-'0'+1)%10)
	status, body, _ = c.page("/people?q=" + bad)
	if status != http.StatusBadRequest || !strings.Contains(body, "check digit") || strings.Contains(body, link) {
		t.Errorf("bad check digit: %d, says check digit %v", status, strings.Contains(body, "check digit"))
	}
	peopleAssertPage(t, "people (bad NHS number)", body)
	if status, body, _ = c.page("/people?q=12345"); status != http.StatusBadRequest || !strings.Contains(body, "10 digits") {
		t.Errorf("short NHS number: %d", status)
	}

	// By name: family name; given and family; "family, given".
	given := strings.Fields(me.GivenName)[0]
	for _, q := range []string{me.FamilyName, given + " " + me.FamilyName, me.FamilyName + ", " + given, strings.ToLower(me.FamilyName)} {
		status, body, _ = c.page("/people?q=" + url.QueryEscape(q))
		if status != http.StatusOK || !strings.Contains(body, link) {
			t.Errorf("search by name %q: %d, found %v", q, status, strings.Contains(body, link))
		}
	}
	// By date of birth, in each way people write it, and in the separate fields.
	for _, q := range []string{me.BirthDate.Format("02/01/2006"), me.BirthDate.Format("2 January 2006"), me.BirthDate.Format("2006-01-02")} {
		status, body, _ = c.page("/people?q=" + url.QueryEscape(q))
		if status != http.StatusOK || !strings.Contains(body, link) {
			t.Errorf("search by date of birth %q: %d, found %v", q, status, strings.Contains(body, link))
		}
	}
	status, body, _ = c.page("/people?name=" + url.QueryEscape(me.FamilyName) + "&dob=" + url.QueryEscape(me.BirthDate.Format("2 Jan 2006")))
	if status != http.StatusOK || !strings.Contains(body, link) {
		t.Errorf("search by name and date fields: %d", status)
	}
	peopleAssertPage(t, "people (fields)", body)
	// The wrong date of birth with the right name finds no one.
	status, body, _ = c.page("/people?q=" + url.QueryEscape(me.FamilyName+" "+me.BirthDate.AddDate(0, 0, 1).Format("02/01/2006")))
	if status != http.StatusOK || strings.Contains(body, link) {
		t.Errorf("search with the wrong date of birth found the person: %d", status)
	}
	if status, body, _ = c.page("/people?dob=31/02/1950"); status != http.StatusBadRequest || !strings.Contains(body, "could not be read") {
		t.Errorf("impossible date: %d", status)
	}

	// Someone the caller has no relationship with is not listed, as in
	// the FHIR Patient search.
	other := peopleWithNHS(t, w, w.unrelated, w.glass)
	status, body, _ = c.page("/people?q=" + other.NHSNumber)
	if status != http.StatusOK || strings.Contains(body, fmt.Sprintf(`href="/people/%d"`, other.ID)) {
		t.Errorf("search found a person without a relationship: %d", status)
	}

	// Each person listed is audited as a search result.
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: me.ID, Action: "search", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[0].UserName != "find.coord" || evs[0].ResourceType != "Patient" {
		t.Errorf("search not audited: %+v", evs)
	}
	if evs, _ := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: other.ID, Action: "search", Limit: 10}); len(evs) != 0 {
		t.Errorf("a person not listed was audited as found: %+v", evs)
	}

	// A search that finds more people than can be checked asks for a
	// narrower one and lists no one.
	w.srv.deps.People = manyPeople{n: searchScan + 1, p: me}
	status, body, _ = c.page("/people?q=" + url.QueryEscape(me.FamilyName))
	w.srv.deps.People = w.db
	if status != http.StatusOK || !strings.Contains(body, "Too many people match") || strings.Contains(body, link) {
		t.Errorf("too many: %d, says so %v", status, strings.Contains(body, "Too many people match"))
	}

	// Roles that do not read records as professionals are refused.
	for _, who := range []string{"find.analyst", "find.self"} {
		if status, _, _ := w.signIn(who).page("/people?q=" + me.NHSNumber); status != http.StatusForbidden {
			t.Errorf("%s searching: %d, want 403", who, status)
		}
	}
	if status, _, loc := w.browser().page("/people?q=smith"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in") {
		t.Errorf("signed out: %d %q", status, loc)
	}
}

// manyPeople is a searcher that finds n copies of one person.
type manyPeople struct {
	n int
	p registry.Person
}

func (m manyPeople) SearchPeople(_ context.Context, _, _ string, _ []string, _ time.Time, limit int) ([]registry.Person, error) {
	out := make([]registry.Person, min(m.n, limit))
	for i := range out {
		out[i] = m.p
		out[i].ID = m.p.ID + int64(i)
	}
	return out, nil
}

func TestParseSearch(t *testing.T) {
	now := time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC)
	born := time.Date(1948, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		q, name, dob string
		want         searchCriteria
		prob         string
	}{
		{q: "943 476 5919", want: searchCriteria{NHS: "9434765919"}},
		{q: "9434765918", prob: "nhs-check"},
		{q: "smith", want: searchCriteria{Words: []string{"smith"}}},
		{q: "Jane Smith", want: searchCriteria{Words: []string{"Jane", "Smith"}}},
		{q: "smith, jane", want: searchCriteria{Family: "smith", Words: []string{"jane"}}},
		{q: "O'Neil 12/03/1948", want: searchCriteria{Words: []string{"O'Neil"}, Birth: born}},
		{q: "12 March 1948", want: searchCriteria{Birth: born}},
		{q: "12 mar 1948 smith", want: searchCriteria{Words: []string{"smith"}, Birth: born}},
		{q: "1948-03-12", want: searchCriteria{Birth: born}},
		{name: "smith", dob: "12.03.1948", want: searchCriteria{Words: []string{"smith"}, Birth: born}},
		{q: "12/03/2030", prob: "date-range"},
		{q: "smith 1948", prob: "unclear"},
		{q: "  ", prob: "empty"},
	} {
		got, prob := parseSearch(tc.q, tc.name, tc.dob, now)
		if prob != tc.prob {
			t.Errorf("%q %q %q: problem %q, want %q", tc.q, tc.name, tc.dob, prob, tc.prob)
			continue
		}
		if prob == "" && (got.NHS != tc.want.NHS || got.Family != tc.want.Family || !slices.Equal(got.Words, tc.want.Words) || !got.Birth.Equal(tc.want.Birth)) {
			t.Errorf("%q %q %q: %+v, want %+v", tc.q, tc.name, tc.dob, got, tc.want)
		}
	}
}

func TestPersonPage(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("sum.coord", auth.CareCoordinator)
	w.addUser("sum.clin", auth.Clinician)
	w.addUser("sum.analyst", auth.Analyst)
	w.addUser("sum.self", auth.ServiceUser)
	c := w.signIn("sum.coord")

	// What the JSON summary says the page must show.
	status, js := c.do("GET", fmt.Sprintf("/api/v1/people/%d/summary", w.related), nil)
	if status != http.StatusOK {
		t.Fatalf("JSON summary: %d %s", status, js)
	}
	var sum struct {
		Demographics struct {
			NHSNumber  string `json:"nhs_number"`
			FamilyName string `json:"family_name"`
		} `json:"demographics"`
		Conditions []struct {
			Name string `json:"name"`
		} `json:"active_conditions"`
		Observations []struct {
			Name string `json:"name"`
		} `json:"key_observations"`
	}
	if err := json.Unmarshal([]byte(js), &sum); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, body, _ := c.page(fmt.Sprintf("/people/%d", w.related))
	took := time.Since(start)
	if status != http.StatusOK {
		t.Fatalf("summary page: %d %.500s", status, body)
	}
	t.Logf("person summary page: %v over loopback HTTP, %d bytes", took, len(body))
	peopleAssertPage(t, "person", body)
	want := []string{html.EscapeString(sum.Demographics.FamilyName), "Care team", "Conditions", "Measurements", "Recent contacts and measurements", "Consent"}
	if sum.Demographics.NHSNumber != "" {
		want = append(want, web.NHSNumber(sum.Demographics.NHSNumber))
	}
	if len(sum.Conditions) > 0 {
		want = append(want, html.EscapeString(sum.Conditions[0].Name))
	}
	if len(sum.Observations) > 0 {
		want = append(want, html.EscapeString(sum.Observations[0].Name))
	}
	if len(sum.Conditions)+len(sum.Observations) == 0 {
		t.Fatalf("the related person has no conditions or observations: the test shows nothing")
	}
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("summary page lacks %q", s)
		}
	}
	// The one decision is audited once, as the JSON route's.
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.related, UserID: 0, Action: "read", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, e := range evs {
		if e.UserName == "sum.coord" && e.ResourceType == "Patient" {
			reads++
		}
	}
	if reads != 2 { // the JSON summary and the page
		t.Errorf("%d audited reads of the related person by the coordinator, want 2", reads)
	}

	// An open alert and a care plan are shown, linked.
	teams, err := w.db.ProfessionalTeams(t.Context(), w.prof, w.clock.now())
	if err != nil || len(teams) == 0 {
		t.Fatalf("the coordinator's teams: %v %v", teams, err)
	}
	raised, err := w.db.RaiseAlerts(t.Context(), []alerts.Alert{{PersonID: w.related, Rule: "discharge", RuleVer: 1, Key: "enc:people-page", TeamID: teams[0],
		Title: "Follow up after discharge", Reason: "discharged from an emergency admission", Priority: alerts.High,
		Due: w.clock.now().Add(48 * time.Hour), Causes: []alerts.Cause{{Kind: "encounter", Ref: "encounter 1", What: "emergency admission ended"}}}}, w.clock.now())
	if err != nil || len(raised) != 1 {
		t.Fatalf("raising an alert: %v %v", raised, err)
	}
	plan := c.mustPlan(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/people/%d/careplans", w.related),
		map[string]any{"plan": w.copdPlan(), "reason": "first conversation"})
	_, body, _ = c.page(fmt.Sprintf("/people/%d", w.related))
	for _, s := range []string{fmt.Sprintf(`href="/alerts/%d"`, raised[0].ID), "Follow up after discharge",
		fmt.Sprintf(`href="/careplans/%d"`, plan.PlanID), html.EscapeString(w.copdPlan().Title)} {
		if !strings.Contains(body, s) {
			t.Errorf("summary page lacks %q", s)
		}
	}

	// A timeline page beyond the last shows the last; the links page.
	if status, body, _ := c.page(fmt.Sprintf("/people/%d?timeline=999", w.related)); status != http.StatusOK || !strings.Contains(body, "Recent contacts") {
		t.Errorf("timeline page 999: %d", status)
	}

	// No relationship: refused with the reason; a clinician is offered
	// break-glass, an analyst is not.
	clin := w.signIn("sum.clin")
	glassPage := fmt.Sprintf("/people/%d", w.glass)
	status, body, _ = clin.page(glassPage)
	if status != http.StatusForbidden || !strings.Contains(body, "no care relationship") || !strings.Contains(body, `action="/people/`+fmt.Sprint(w.glass)+`/break-glass"`) {
		t.Fatalf("unrelated person as a clinician: %d %.400s", status, body)
	}
	peopleAssertPage(t, "person-refused", body)
	if !strings.Contains(body, `name="csrf_token"`) {
		t.Errorf("break-glass form without the CSRF token")
	}
	status, body, _ = w.signIn("sum.analyst").page(glassPage)
	if status != http.StatusForbidden || strings.Contains(body, "break-glass\"") || strings.Contains(body, `name="reason"`) {
		t.Errorf("unrelated person as an analyst: %d, offered break-glass %v", status, strings.Contains(body, `name="reason"`))
	}
	if status, _, _ := w.signIn("sum.self").page(glassPage); status != http.StatusForbidden {
		t.Errorf("a service user on /people/{id}: %d", status)
	}

	// Too short a reason: refused, nothing granted.
	status, _, loc := clin.form(glassPage+"/break-glass", url.Values{"reason": {"urgent"}})
	if status != http.StatusSeeOther || loc != glassPage+"?error=reason" {
		t.Errorf("short reason: %d to %q", status, loc)
	}
	if status, body, _ := clin.page(loc); status != http.StatusForbidden || !strings.Contains(body, "at least 15 characters") {
		t.Errorf("after a short reason: %d", status)
	}
	u, _ := w.db.UserByName(t.Context(), "sum.clin")
	if _, ok, _ := w.db.ActiveGrant(t.Context(), u.ID, w.glass, w.clock.now()); ok {
		t.Fatalf("a short reason opened access")
	}
	// Without the CSRF token: refused.
	if status, _, _ := clin.form(glassPage+"/break-glass", url.Values{"reason": {"unconscious in A&E, need medicines"}, "csrf_token": {"wrong"}}); status != http.StatusForbidden {
		t.Errorf("break-glass without the CSRF token: %d", status)
	}
	reason := "unconscious in A&E, need medicines and allergies"
	status, _, loc = clin.form(glassPage+"/break-glass", url.Values{"reason": {reason}})
	if status != http.StatusSeeOther || loc != glassPage+"?done=glass" {
		t.Fatalf("break glass: %d to %q", status, loc)
	}
	status, body, _ = clin.page(loc)
	if status != http.StatusOK || !strings.Contains(body, "emergency access") || !strings.Contains(body, "Emergency access (break-glass)") {
		t.Errorf("after breaking glass: %d %.300s", status, body)
	}
	peopleAssertPage(t, "person (break-glass)", body)
	evs, err = w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.glass, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var opened, readUnder bool
	for _, e := range evs {
		if e.UserName != "sum.clin" {
			continue
		}
		opened = opened || (e.Action == "break-glass" && e.Reason == reason)
		readUnder = readUnder || (e.Action == "read" && e.Basis == "break-glass" && e.Reason == reason && e.Outcome == "allowed")
	}
	if !opened || !readUnder {
		t.Errorf("break-glass not audited: opened %v, read under it %v", opened, readUnder)
	}
}

func TestMyPages(t *testing.T) {
	w := newTrustWorld(t)
	w.addUser("me.self", auth.ServiceUser)
	w.addUser("me.carer", auth.Carer)
	w.addUser("me.coord", auth.CareCoordinator)
	self := w.signIn("me.self")
	p, err := w.db.Person(t.Context(), w.related)
	if err != nil {
		t.Fatal(err)
	}

	// A professional looks first, so the access log has someone in it.
	if status, _, _ := w.signIn("me.coord").page(fmt.Sprintf("/people/%d", w.related)); status != http.StatusOK {
		t.Fatalf("coordinator summary: %d", status)
	}

	status, body, _ := self.page("/me")
	if status != http.StatusOK || !strings.Contains(body, "<h1>My record</h1>") || !strings.Contains(body, html.EscapeString(p.FamilyName)) {
		t.Fatalf("/me as the person: %d %.300s", status, body)
	}
	if p.NHSNumber != "" && !strings.Contains(body, web.NHSNumber(p.NHSNumber)) {
		t.Errorf("/me lacks the NHS number")
	}
	if strings.Contains(body, "Risk and segment") || strings.Contains(body, "Open alerts") {
		t.Errorf("/me shows professional parts")
	}
	peopleAssertPage(t, "me", body)

	status, body, _ = w.signIn("me.carer").page("/me")
	if status != http.StatusOK || !strings.Contains(body, "The record of ") {
		t.Errorf("/me as the carer: %d", status)
	}
	peopleAssertPage(t, "me (carer)", body)

	status, body, _ = self.page("/me/access-log")
	if status != http.StatusOK || !strings.Contains(body, "me.coord") || !strings.Contains(body, "they are in a team caring for you") {
		t.Errorf("/me/access-log: %d %.500s", status, body)
	}
	peopleAssertPage(t, "me-access-log", body)
	// Paging: a page of one older entry at a time still works.
	if status, _, _ := self.page("/me/access-log?before=999999"); status != http.StatusOK {
		t.Errorf("/me/access-log older page: %d", status)
	}

	// No plan yet: a page that says so; with a plan: sent to it.
	status, body, _ = self.page("/me/plan")
	if status != http.StatusOK || !strings.Contains(body, "There is no care plan for you yet") {
		t.Errorf("/me/plan without a plan: %d %.300s", status, body)
	}
	peopleAssertPage(t, "me-plan", body)
	plan := w.signIn("me.coord").mustPlan(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/people/%d/careplans", w.related),
		map[string]any{"plan": w.copdPlan(), "reason": "first conversation"})
	if status, _, loc := self.page("/me/plan"); status != http.StatusSeeOther || loc != fmt.Sprintf("/careplans/%d", plan.PlanID) {
		t.Errorf("/me/plan with a plan: %d to %q", status, loc)
	}
	if _, body, _ := self.page("/me"); !strings.Contains(body, fmt.Sprintf(`href="/careplans/%d"`, plan.PlanID)) {
		t.Errorf("/me does not link to the plan")
	}

	// Staff are refused the person's own pages.
	coord := w.signIn("me.coord")
	for _, path := range []string{"/me", "/me/access-log", "/me/plan"} {
		if status, _, _ := coord.page(path); status != http.StatusForbidden {
			t.Errorf("%s as a coordinator: %d, want 403", path, status)
		}
	}
	// The person may not use the professionals' summary of themselves.
	if status, _, _ := self.page(fmt.Sprintf("/people/%d", w.related)); status != http.StatusForbidden {
		t.Errorf("/people/{id} as the person: %d", status)
	}
}

// TestPeoplePagesTiming measures the server time of the people pages on
// the test world (400 people), median of 20.
func TestPeoplePagesTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	w := newTrustWorld(t)
	w.addUser("time.coord", auth.CareCoordinator)
	w.addUser("time.self", auth.ServiceUser)
	c := w.signIn("time.coord")
	self := w.signIn("time.self")
	me := peopleWithNHS(t, w, w.related, w.carerOf, w.withdrawn)
	for _, tc := range []struct {
		name string
		c    *client
		path string
	}{
		{"summary", c, fmt.Sprintf("/people/%d", w.related)},
		{"search NHS", c, "/people?q=" + me.NHSNumber},
		{"search name", c, "/people?q=" + url.QueryEscape(me.FamilyName)},
		{"search DOB", c, "/people?q=" + me.BirthDate.Format("2006-01-02")},
		{"me", self, "/me"},
		{"me access log", self, "/me/access-log"},
	} {
		var ds []time.Duration
		for range 20 {
			start := time.Now()
			if status, _, _ := tc.c.page(tc.path); status != http.StatusOK {
				t.Fatalf("%s: %d", tc.name, status)
			}
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%-14s median %v, max %v (loopback HTTP, 400 people)", tc.name, ds[len(ds)/2], ds[len(ds)-1])
	}
}
