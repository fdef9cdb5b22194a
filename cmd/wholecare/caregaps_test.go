package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// TestCareGapsServed serves a generated population and asks for care
// gaps: the whole population by practice as a commissioner (small counts
// suppressed), refused to a coordinator (who reads records, not
// aggregates), and one person's own gaps as that person.
func TestCareGapsServed(t *testing.T) {
	dir := t.TempDir()
	e := envOf(map[string]string{"WHOLECARE_DB": "sqlite:" + filepath.Join(dir, "gaps.db")})
	if _, _, err := runCmd(t, e, "generate", "--people", "2000", "--seed", "5", "--now", "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	base, out := startServing(t, e, "demo", "--addr", "127.0.0.1:0")
	text := out.String()

	commissioner := signInDemo(t, base, text, "demo.commissioner")
	status, body := commissioner.getReady("/api/v1/caregaps?by=practice&as_of=2026-03-31")
	var rep struct {
		AsOf       string `json:"as_of"`
		Indicators []struct {
			ID       string `json:"id"`
			Eligible *int64 `json:"eligible"`
			Gaps     *int64 `json:"gaps"`
			Groups   []struct {
				Key        string `json:"key"`
				Eligible   *int64 `json:"eligible"`
				Suppressed bool   `json:"suppressed"`
			} `json:"groups"`
		} `json:"indicators"`
	}
	if err := json.Unmarshal(body, &rep); status != http.StatusOK || err != nil || rep.AsOf != "2026-03-31" || len(rep.Indicators) != 12 {
		t.Fatalf("care gaps as the commissioner: %d %.400s", status, body)
	}
	for _, in := range rep.Indicators {
		if in.ID == "HYP008" && (in.Eligible == nil || *in.Eligible < 50 || len(in.Groups) < 2) {
			t.Fatalf("HYP008: %+v", in)
		}
		for _, g := range in.Groups {
			if g.Eligible != nil && *g.Eligible > 0 && *g.Eligible < 5 {
				t.Fatalf("%s %s: a count of %d is shown", in.ID, g.Key, *g.Eligible)
			}
		}
	}
	// The same through FHIR: a summary MeasureReport stratified by practice.
	status, body = commissioner.getReady("/fhir/R4/Measure/HYP008/$evaluate-measure?periodEnd=2026-03-31&stratify=practice")
	var mr struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Measure      string `json:"measure"`
		Period       struct{ Start, End string }
		Group        []struct {
			Population []struct {
				Count int `json:"count"`
			} `json:"population"`
		} `json:"group"`
	}
	if err := json.Unmarshal(body, &mr); status != http.StatusOK || err != nil || mr.Type != "summary" || mr.Measure != "urn:wholecare:measure:HYP008" ||
		mr.Period.Start != "2025-04-01" || len(mr.Group) < 3 {
		t.Fatalf("$evaluate-measure: %d %.400s", status, body)
	}
	for _, in := range rep.Indicators {
		if in.ID == "HYP008" && int64(mr.Group[0].Population[0].Count) != *in.Eligible {
			t.Fatalf("FHIR denominator %d, JSON API %d", mr.Group[0].Population[0].Count, *in.Eligible)
		}
	}
	if status, _ := commissioner.getReady("/fhir/R4/Measure/NOPE/$evaluate-measure"); status != http.StatusNotFound {
		t.Fatalf("unknown measure: %d", status)
	}
	// By primary care network: the practices' counts added up.
	status, body = commissioner.getReady("/api/v1/caregaps?by=pcn&as_of=2026-03-31")
	var byPCN struct {
		Indicators []struct {
			ID       string `json:"id"`
			Eligible *int64 `json:"eligible"`
			Groups   []struct {
				Key      string `json:"key"`
				Eligible *int64 `json:"eligible"`
			} `json:"groups"`
		} `json:"indicators"`
	}
	if err := json.Unmarshal(body, &byPCN); status != http.StatusOK || err != nil {
		t.Fatalf("by pcn: %d %.300s", status, body)
	}
	for _, in := range byPCN.Indicators {
		if in.ID != "HYP008" {
			continue
		}
		var sum int64
		for _, g := range in.Groups {
			if g.Eligible != nil {
				sum += *g.Eligible
			}
		}
		if len(in.Groups) == 0 || len(in.Groups) >= len(rep.Indicators[8].Groups) || sum > *in.Eligible || sum < *in.Eligible-20 {
			t.Fatalf("HYP008 by PCN: %d groups (%d practices), eligible %d of %d", len(in.Groups), len(rep.Indicators[8].Groups), sum, *in.Eligible)
		}
	}
	if status, _ := signInDemo(t, base, text, "demo.coordinator").getReady("/api/v1/caregaps"); status != http.StatusForbidden {
		t.Fatalf("care gaps as the coordinator: %d, want 403", status)
	}

	me := signInDemo(t, base, text, "demo.person")
	status, body = me.getReady("/api/v1/me")
	var who struct {
		PersonID int64 `json:"person_id"`
	}
	if err := json.Unmarshal(body, &who); status != http.StatusOK || err != nil || who.PersonID == 0 {
		t.Fatalf("me: %d %.200s", status, body)
	}
	status, body = me.getReady(fmt.Sprintf("/api/v1/people/%d/caregaps", who.PersonID))
	var mine struct {
		Person     int64             `json:"person"`
		Indicators []json.RawMessage `json:"indicators"`
	}
	if err := json.Unmarshal(body, &mine); status != http.StatusOK || err != nil || mine.Person != who.PersonID {
		t.Fatalf("my care gaps: %d %.300s", status, body)
	}
	status, body = me.getReady(fmt.Sprintf("/fhir/R4/Measure/$care-gaps?subject=Patient/p%d&periodEnd=2026-11-01", who.PersonID))
	var b struct {
		Type  string            `json:"type"`
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); status != http.StatusOK || err != nil || b.Type != "collection" || len(b.Entry) != len(mine.Indicators) {
		t.Fatalf("$care-gaps: %d %.300s (JSON API: %d indicators)", status, body, len(mine.Indicators))
	}
	if status, _ := me.getReady(fmt.Sprintf("/fhir/R4/Measure/$care-gaps?subject=Patient/p%d", who.PersonID+1)); status < 400 {
		t.Fatalf("someone else's $care-gaps as a service user: %d", status)
	}
	if status, _ := me.getReady(fmt.Sprintf("/api/v1/people/%d/caregaps", who.PersonID+1)); status != http.StatusForbidden && status != http.StatusNotFound {
		t.Fatalf("someone else's care gaps as a service user: %d, want a refusal", status)
	}
}
