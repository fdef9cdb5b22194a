package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/summary"
)

// TestPersonSummary reads summaries over HTTP from a generated population
// and checks each against the person's whole record, read separately.
func TestPersonSummary(t *testing.T) {
	w := newTrustWorld(t)
	c := w.signIn(w.addUser("summary.coordinator", auth.CareCoordinator).Name)
	set, err := codes.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := w.db.Directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	orgName := map[string]string{}
	for _, o := range dir.Organisations {
		orgName[o.ID] = o.Name
	}
	today := time.Date(2025, 4, 2, 0, 0, 0, 0, time.UTC)
	key := func(cd record.Coding) string { return codes.SystemURI(cd.System) + "|" + cd.Code }

	rel, err := w.db.Person(t.Context(), w.related)
	if err != nil {
		t.Fatal(err)
	}
	people, err := w.db.PeopleAtPractice(t.Context(), rel.PracticeID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var rich int // people whose summary has conditions, medicines and readings
	for _, id := range people {
		rec, err := w.db.PersonRecord(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		status, body := c.do("GET", fmt.Sprintf("/api/v1/people/%d/summary", id), nil)
		if id != w.related && id != w.withdrawn && id != w.carerOf {
			// Only some of the practice's people are under the coordinator's team.
			if status != http.StatusOK && status != http.StatusForbidden {
				t.Fatalf("person %d: %d %s", id, status, body)
			}
		}
		if status != http.StatusOK {
			continue
		}
		var got summary.Summary
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("person %d: %v\n%s", id, err, body)
		}
		p := rec.People[0]
		if got.Demographics.PersonID != id || got.Demographics.FamilyName != p.FamilyName || got.Demographics.Provenance.Source != p.Source {
			t.Errorf("person %d: demographics %+v, want %+v", id, got.Demographics, p)
		}
		if got.Practice == nil || got.Practice.ODSCode != p.PracticeID || got.Practice.Name == "" || got.Practice.Name != orgName[p.PracticeID] {
			t.Errorf("person %d: practice %+v, want %s %q", id, got.Practice, p.PracticeID, orgName[p.PracticeID])
		}
		if len(got.Identities) != len(rec.Identities) {
			t.Errorf("person %d: %d identities, want %d", id, len(got.Identities), len(rec.Identities))
		}
		var wantTeams, gotTeams []int64
		for _, l := range rec.TeamLinks {
			if !l.Start.After(today) && (l.End.IsZero() || !l.End.Before(today)) && !slices.Contains(wantTeams, l.TeamID) {
				wantTeams = append(wantTeams, l.TeamID)
			}
		}
		for _, tm := range got.CareTeams {
			gotTeams = append(gotTeams, tm.ID)
			if len(tm.Members) == 0 || tm.Name == "" {
				t.Errorf("person %d: team %+v has no name or no members", id, tm)
			}
		}
		slices.Sort(wantTeams)
		if !slices.Equal(wantTeams, gotTeams) {
			t.Errorf("person %d: care teams %v, want %v", id, gotTeams, wantTeams)
		}

		// Every active condition's code is in exactly one row, and every
		// row's codes are active conditions'; no concept has two rows.
		active := map[string]bool{}
		for _, cd := range rec.Conditions {
			if cd.Status == record.ConditionActive && (cd.Abatement.IsZero() || cd.Abatement.After(today)) {
				active[key(cd.Code)] = true
			}
		}
		checkRows := func(what string, want map[string]bool, rows [][]summary.Coding, concepts []string) {
			t.Helper()
			seen := map[string]int{}
			for _, cs := range rows {
				for _, cd := range cs {
					k := cd.System + "|" + cd.Code
					seen[k]++
					if !want[k] {
						t.Errorf("person %d: %s row has code %s, which is not current", id, what, k)
					}
				}
			}
			for k := range want {
				if seen[k] != 1 {
					t.Errorf("person %d: %s code %s is in %d rows, want 1", id, what, k, seen[k])
				}
			}
			sort.Strings(concepts)
			for i := 1; i < len(concepts); i++ {
				if concepts[i] != "" && concepts[i] == concepts[i-1] {
					t.Errorf("person %d: %s concept %s has two rows", id, what, concepts[i])
				}
			}
		}
		var rows [][]summary.Coding
		var concepts []string
		for _, r := range got.Conditions {
			rows, concepts = append(rows, r.Codes), append(concepts, r.Concept)
			if len(r.Sources) == 0 {
				t.Errorf("person %d: condition %s has no source", id, r.Name)
			}
		}
		checkRows("condition", active, rows, concepts)

		current := map[string]bool{}
		for _, m := range rec.Medications {
			if m.Status == record.MedicationActive && (m.End.IsZero() || !m.End.Before(today)) {
				current[key(m.Code)] = true
			}
		}
		rows, concepts = nil, nil
		for _, r := range got.Medications {
			rows, concepts = append(rows, r.Codes), append(concepts, r.Concept)
		}
		checkRows("medication", current, rows, concepts)

		// The newest encounters, newest first.
		encs := slices.Clone(rec.Encounters)
		slices.SortStableFunc(encs, func(a, b record.Encounter) int { return b.Start.Compare(a.Start) })
		encs = encs[:min(len(encs), summary.RecentEncounters)]
		if len(got.Encounters) != len(encs) {
			t.Errorf("person %d: %d encounters, want %d", id, len(got.Encounters), len(encs))
		} else {
			for i, e := range encs {
				if g := got.Encounters[i]; g.Start != e.Start.UTC().Format(time.RFC3339) || g.Class != string(e.Class) || g.ProviderName != orgName[e.OrgID] {
					t.Errorf("person %d: encounter %d = %+v, want %+v", id, i, g, e)
				}
			}
		}

		// Each key observation is the latest of its concept's readings.
		for _, o := range got.Observations {
			var latest *record.Observation
			for i, r := range rec.Observations {
				if slices.Contains(set.ConceptsOf(r.Code.System, r.Code.Code), codes.Concept(o.Concept)) &&
					(latest == nil || r.Effective.After(latest.Effective)) {
					latest = &rec.Observations[i]
				}
			}
			if latest == nil || o.Effective != latest.Effective.UTC().Format(time.RFC3339) || (o.Value == nil) != (latest.Value == nil) ||
				(o.Value != nil && *o.Value != *latest.Value) {
				t.Errorf("person %d: %s = %+v, want the latest reading %+v", id, o.Concept, o, latest)
			}
		}
		var haveKey int
		for _, r := range rec.Observations {
			for _, cn := range set.ConceptsOf(r.Code.System, r.Code.Code) {
				if slices.Contains(summary.KeyObservations, cn) {
					haveKey++
				}
			}
		}
		if haveKey > 0 && len(got.Observations) == 0 {
			t.Errorf("person %d has key readings but the summary shows none", id)
		}
		if len(got.Conditions) > 0 && len(got.Medications) > 0 && len(got.Observations) > 0 {
			rich++
		}
	}
	t.Logf("%d people at the practice, %d rich summaries", len(people), rich)
	if rich == 0 {
		t.Fatal("no summary had conditions, medicines and readings: the checks above proved little")
	}

	// The reading is audited, as a read of the person's record.
	evs, err := w.db.AuditEvents(t.Context(), audit.Filter{PersonID: w.related, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e audit.Event) bool {
		return e.UserName == "summary.coordinator" && e.Outcome == "allowed" && e.Action == "read"
	}) {
		t.Errorf("no audit entry for the coordinator's reading of the summary")
	}
}

func TestPersonSummaryRefusals(t *testing.T) {
	w := newTrustWorld(t)
	// A token that may read Patient only may not read a summary, which
	// shows conditions too; the refusal says which type is missing.
	narrow := w.token(w.addUser("summary.feed", auth.SystemClient), "system/Patient.read", time.Hour)
	status, body := narrow.do("GET", fmt.Sprintf("/api/v1/people/%d/summary", w.related), nil)
	if status != http.StatusForbidden || !strings.Contains(body, "Condition") {
		t.Errorf("a Patient-only token: %d %s; want 403 naming Condition", status, body)
	}
	wide := w.token(w.addUser("summary.wide", auth.SystemClient), "system/*.read", time.Hour)
	if status, body := wide.do("GET", fmt.Sprintf("/api/v1/people/%d/summary", w.related), nil); status != http.StatusOK {
		t.Errorf("a system/*.read token: %d %.200s; want 200", status, body)
	}
	for _, path := range []string{"/api/v1/people/99999999/summary", "/api/v1/people/x/summary", "/api/v1/people/0/summary"} {
		if status, body := wide.do("GET", path, nil); status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s; want 404", path, status, body)
		}
	}
}
