package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/auth"
)

var caseFindingLink = regexp.MustCompile(`<a href="/people/(\d+)">`)

func caseFindingIDs(t *testing.T, body string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range caseFindingLink.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

// TestCaseFindingPage lists only people the caller may see, in the order
// the API ranks them, filters them, and explains a bad cohort.
func TestCaseFindingPage(t *testing.T) {
	w := dashboardWorld(t)
	w.addUser("case.coord", auth.CareCoordinator)
	w.addUser("case.analyst", auth.Analyst)
	c := w.signIn("case.coord")

	if status, _, loc := w.browser().page("/case-finding"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in") {
		t.Fatalf("signed out: %d to %q", status, loc)
	}
	w.addUser("case.person", auth.ServiceUser)
	if status, _, _ := w.signIn("case.person").page("/case-finding?search=1"); status != http.StatusForbidden {
		t.Errorf("a service user's case finding: %d, want 403", status)
	}
	if status, _, _ := w.signIn("case.analyst").page("/case-finding?search=1"); status != http.StatusForbidden {
		t.Fatalf("analyst (no record access): %d, want 403", status)
	}

	status, body, _ := c.page("/case-finding?search=1")
	if status != http.StatusOK {
		t.Fatalf("coordinator: %d %.500s", status, body)
	}
	dashboardAssertPage(t, body)
	got := caseFindingIDs(t, body)
	if len(got) == 0 || len(got) > caseFindingPageSize {
		t.Fatalf("%d people listed, want 1 to %d", len(got), caseFindingPageSize)
	}
	// The API, for the same caller, decides who may be seen.
	apiStatus, apiBody := c.do("GET", "/api/v1/casefinding?limit=200", nil)
	var api struct {
		People []struct {
			PersonID int64 `json:"person_id"`
		} `json:"people"`
	}
	if apiStatus != http.StatusOK || json.Unmarshal([]byte(apiBody), &api) != nil {
		t.Fatalf("API: %d %.300s", apiStatus, apiBody)
	}
	var want []int64
	for _, p := range api.People {
		want = append(want, p.PersonID)
	}
	if !slices.Equal(got, want[:len(got)]) {
		t.Errorf("page lists %v, the API ranks %v", got, want[:min(len(want), len(got))])
	}
	for _, id := range []int64{w.unrelated, w.glass} {
		if slices.Contains(got, id) {
			t.Errorf("person %d, with no relationship to the caller, is listed", id)
		}
	}
	// A list checked only as far as the page needs says so; a whole one
	// gives its total.
	switch {
	case len(want) > caseFindingPageSize && !strings.Contains(body, fmt.Sprintf("of more than %d people you may see", caseFindingPageSize)):
		t.Errorf("a longer list than one page (%d people) does not say there are more than %d", len(want), caseFindingPageSize)
	case len(want) <= caseFindingPageSize && !strings.Contains(body, fmt.Sprintf("of %d people you may see", len(want))):
		t.Errorf("a list of %d people does not give its total", len(want))
	}
	// The next page goes on where this one stopped.
	if len(want) > caseFindingPageSize {
		_, body2, _ := c.page("/case-finding?search=1&page=2")
		got2 := caseFindingIDs(t, body2)
		if len(got2) == 0 || got2[0] != want[caseFindingPageSize] {
			t.Errorf("page 2 starts with %v, want person %d", got2, want[caseFindingPageSize])
		}
	}

	// Another practice's people are never shown, even when asked for.
	other := w.practiceOf(t, w.unrelated)
	_, body, _ = c.page("/case-finding?" + url.Values{"practice": {other}}.Encode())
	if ids := caseFindingIDs(t, body); len(ids) != 0 {
		t.Errorf("practice %s, where the caller has nobody: listed %v", other, ids)
	}
	// Filters narrow the list.
	_, body, _ = c.page("/case-finding?" + url.Values{"kaiser": {"0"}, "efi": {"fit"}}.Encode())
	for _, id := range caseFindingIDs(t, body) {
		sc, _ := w.pop.eng.ScoresOf(id)
		if !slices.Contains(want, id) || sc.EFIDeficits > 4 {
			t.Errorf("filtered list holds person %d (eFI deficits %d)", id, sc.EFIDeficits)
		}
	}

	// A mistake in the cohort is named, and nobody is listed.
	status, body, _ = c.page("/case-finding?" + url.Values{"q": {"has(copdd) and age >= 65"}}.Encode())
	if status != http.StatusBadRequest || !strings.Contains(body, "There is a problem") ||
		!strings.Contains(body, "Cohort: at character") || !strings.Contains(body, "copdd") {
		t.Fatalf("bad cohort: %d %.2000s", status, body)
	}
	if ids := caseFindingIDs(t, body); len(ids) != 0 {
		t.Errorf("a bad cohort listed %v", ids)
	}
	if !strings.Contains(body, "has(copdd) and age &gt;= 65</textarea>") {
		t.Error("the form does not keep what was typed")
	}
}

// TestCaseFindingSaveCohort saves the searched cohort through the form,
// for a role that may, and refuses the others and bad names.
func TestCaseFindingSaveCohort(t *testing.T) {
	w := dashboardWorld(t)
	w.addUser("case.lead", auth.TeamLead)
	w.addUser("case.coord2", auth.CareCoordinator)
	lead := w.signIn("case.lead")

	_, body, _ := lead.page("/case-finding?" + url.Values{"q": {"has(copd)"}, "kaiser": {"3"}}.Encode())
	if !strings.Contains(body, `action="/case-finding/save"`) || !strings.Contains(body, `name="expression" value="(has(copd)) and kaiser = 3"`) {
		t.Fatalf("a team lead is not offered to save the cohort: %.3000s", body)
	}
	dashboardAssertPage(t, body)
	_, coordBody, _ := w.signIn("case.coord2").page("/case-finding?q=has(copd)")
	if strings.Contains(coordBody, `action="/case-finding/save"`) {
		t.Error("a care coordinator, who may not save cohorts, is offered the form")
	}

	// A missing name saves nothing and says what to do.
	status, _, loc := lead.form("/case-finding/save", url.Values{"name": {""}, "expression": {"(has(copd)) and kaiser = 3"}})
	if status != http.StatusSeeOther || !strings.Contains(loc, "error=name") {
		t.Fatalf("no name: %d to %q", status, loc)
	}
	_, body, _ = lead.page(loc)
	if !strings.Contains(body, "Give the cohort a name") {
		t.Error("the page does not say the name is missing")
	}
	// So does an expression that cannot be read.
	if status, _, loc := lead.form("/case-finding/save", url.Values{"name": {"x"}, "expression": {"has("}}); status != http.StatusSeeOther || !strings.Contains(loc, "error=expression") {
		t.Fatalf("bad expression: %d to %q", status, loc)
	}
	if cs, _ := w.db.Cohorts(t.Context(), ""); len(cs) != 0 {
		t.Fatalf("refused saves stored %d cohorts", len(cs))
	}

	status, _, loc = lead.form("/case-finding/save", url.Values{"name": {"COPD at level 3"}, "expression": {"(has(copd)) and kaiser = 3"}, "description": {"for the huddle"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/case-finding?cohort=") || !strings.Contains(loc, "done=saved") {
		t.Fatalf("save: %d to %q", status, loc)
	}
	cs, err := w.db.Cohorts(t.Context(), "")
	if err != nil || len(cs) != 1 || cs[0].Name != "COPD at level 3" || cs[0].Expression != "(has(copd)) and kaiser = 3" || cs[0].CreatedName != "case.lead" {
		t.Fatalf("saved cohorts: %+v %v", cs, err)
	}
	status, body, _ = lead.page(loc)
	if status != http.StatusOK || !strings.Contains(body, "The cohort is saved") ||
		!strings.Contains(body, `<option value="`+strconv.FormatInt(cs[0].ID, 10)+`" selected>COPD at level 3</option>`) {
		t.Fatalf("after saving: %d %.1500s", status, body)
	}

	// Roles without aggregates may not save, and a forged token saves nothing.
	if status, _, _ := w.signIn("case.coord2").form("/case-finding/save", url.Values{"name": {"y"}, "expression": {"alive"}}); status != http.StatusForbidden {
		t.Errorf("care coordinator saving: %d, want 403", status)
	}
	if status, _, _ := lead.form("/case-finding/save", url.Values{"csrf_token": {"forged"}, "name": {"z"}, "expression": {"alive"}}); status != http.StatusForbidden {
		t.Errorf("forged token: %d, want 403", status)
	}
	if cs, _ := w.db.Cohorts(t.Context(), ""); len(cs) != 1 {
		t.Errorf("%d cohorts after refused saves, want 1", len(cs))
	}
}
