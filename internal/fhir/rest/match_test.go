package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
)

// matchFixture serves the API with a linkage index of the population.
func matchFixture(t *testing.T, g *fakeGuard) (*fixture, []registry.Person) {
	t.Helper()
	m, err := linkage.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	ix, err := linkage.NewIndex(m, linkage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, g, func(d *Deps) { d.Matcher = ix })
	var people []registry.Person
	if err := f.db.EachPerson(t.Context(), func(p registry.Person) error {
		people = append(people, p)
		return ix.PutPerson(p)
	}); err != nil {
		t.Fatal(err)
	}
	ix.Calibrate()
	return f, people
}

// matchParams is a $match request for a Patient with these demographics.
func matchParams(p registry.Person, extra ...string) []byte {
	pat := map[string]any{"resourceType": "Patient", "name": []map[string]any{{"family": p.FamilyName, "given": []string{p.GivenName}}},
		"gender": string(p.Sex), "birthDate": p.BirthDate.Format("2006-01-02"), "address": []map[string]any{{"postalCode": p.Postcode}}}
	params := []string{`{"name":"resource","resource":` + asJSON(pat) + `}`}
	params = append(params, extra...)
	return []byte(`{"resourceType":"Parameters","parameter":[` + strings.Join(params, ",") + `]}`)
}

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type matchBundle struct {
	Total int
	Entry []struct {
		FullURL string
		Search  struct {
			Mode      string
			Score     float64
			Extension []struct{ URL, ValueCode string }
		}
	}
}

func postMatch(t *testing.T, f *fixture, body []byte) (response, matchBundle) {
	t.Helper()
	res := f.do(t, "POST", Prefix+"/Patient/$match", body, "Content-Type", "application/fhir+json")
	var b matchBundle
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &b); err != nil {
			t.Fatal(err)
		}
	}
	return res, b
}

func TestPatientMatch(t *testing.T) {
	g := &fakeGuard{}
	f, people := matchFixture(t, g)
	target := people[len(people)/2]
	// The same person as another system typed them.
	in := target
	in.GivenName = in.GivenName[:len(in.GivenName)-1] + "x"
	res, b := postMatch(t, f, matchParams(in))
	if res.status != http.StatusOK {
		t.Fatalf("$match: %d %s", res.status, res.body)
	}
	if b.Total == 0 || len(b.Entry) != b.Total {
		t.Fatalf("no candidates: %s", res.body)
	}
	first := b.Entry[0]
	if !strings.HasSuffix(first.FullURL, fmt.Sprintf("/Patient/p%d", target.ID)) {
		t.Errorf("best candidate %s, want person %d", first.FullURL, target.ID)
	}
	if s := first.Search; s.Mode != "match" || s.Score <= 0.5 || s.Score > 1 || len(s.Extension) != 1 ||
		s.Extension[0].URL != extMatchGrade || (s.Extension[0].ValueCode != "certain" && s.Extension[0].ValueCode != "probable") {
		t.Errorf("search %+v", s)
	}
	for i := 1; i < len(b.Entry); i++ {
		if b.Entry[i].Search.Score > b.Entry[i-1].Search.Score {
			t.Errorf("entries not best first: %v after %v", b.Entry[i].Search.Score, b.Entry[i-1].Search.Score)
		}
	}
	calls := g.takeCalls()
	if len(calls) != 1 || calls[0].Action != "match" || calls[0].Type != "Patient" || len(calls[0].People) != b.Total || calls[0].People[0] != target.ID {
		t.Errorf("audit %+v", calls)
	}

	// count and onlyCertainMatches.
	if _, b := postMatch(t, f, matchParams(in, `{"name":"count","valueInteger":1}`)); len(b.Entry) > 1 {
		t.Errorf("count=1 gave %d", len(b.Entry))
	}
	_, b = postMatch(t, f, matchParams(in, `{"name":"onlyCertainMatches","valueBoolean":true}`))
	for _, e := range b.Entry {
		if e.Search.Extension[0].ValueCode != "certain" {
			t.Errorf("onlyCertainMatches returned a %s match", e.Search.Extension[0].ValueCode)
		}
	}
	// Nobody like this.
	g.takeCalls()
	nobody := registry.Person{GivenName: "Xanthippe", FamilyName: "Qwertyuiop", Sex: registry.Female, BirthDate: target.BirthDate.AddDate(-3, 2, 1), Postcode: "ZZ99 9ZZ"}
	if res, b := postMatch(t, f, matchParams(nobody)); res.status != http.StatusOK || b.Total != 0 {
		t.Errorf("a stranger: %d %s", res.status, res.body)
	}
	if calls := g.takeCalls(); len(calls) != 0 {
		t.Errorf("an empty answer was audited as access: %+v", calls)
	}
}

// TestPatientMatchShowsOnlyWhomTheCallerMaySee: the candidates a caller
// may not see are left out, and not audited as seen.
func TestPatientMatchShowsOnlyWhomTheCallerMaySee(t *testing.T) {
	g := &fakeGuard{allow: map[int64]bool{}}
	f, people := matchFixture(t, g)
	target := people[7]
	res, b := postMatch(t, f, matchParams(target))
	if res.status != http.StatusOK || b.Total != 0 || len(g.takeCalls()) != 0 {
		t.Errorf("a caller who sees nobody: %d %s", res.status, res.body)
	}
	g.set(func(g *fakeGuard) { g.allow = map[int64]bool{target.ID: true} })
	_, b = postMatch(t, f, matchParams(target))
	if b.Total != 1 || !strings.HasSuffix(b.Entry[0].FullURL, fmt.Sprintf("/Patient/p%d", target.ID)) {
		t.Errorf("a caller who sees the person: %+v", b)
	}
}

func TestPatientMatchBadInput(t *testing.T) {
	f, people := matchFixture(t, nil)
	p := people[0]
	tests := map[string][]byte{
		"not JSON":          []byte("{"),
		"not Parameters":    []byte(`{"resourceType":"Patient"}`),
		"no resource":       []byte(`{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":2}]}`),
		"count of zero":     matchParams(p, `{"name":"count","valueInteger":0}`),
		"unknown parameter": matchParams(p, `{"name":"fuzziness","valueInteger":2}`),
		"not a Patient":     []byte(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}}}]}`),
		"invalid Patient":   []byte(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","gender":"dragon"}}]}`),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			res, _ := postMatch(t, f, body)
			if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "OperationOutcome") {
				t.Errorf("%d %s", res.status, res.body)
			}
		})
	}
	plain := newFixture(t, nil)
	if res, _ := postMatch(t, plain, matchParams(p)); res.status != http.StatusNotImplemented {
		t.Errorf("without linkage: %d %s", res.status, res.body)
	}
}
