package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStoredScoresThroughFHIR trains a model on a generated population,
// stores everyone's score with `wholecare risk score --store` (twice: the
// second run adds nothing), serves the store and reads the scores back as
// FHIR RiskAssessments as a care coordinator; then saves a cohort as the
// analyst and reads it as a FHIR Group and as a case-finding list.
func TestStoredScoresThroughFHIR(t *testing.T) {
	dir := t.TempDir()
	e := envOf(map[string]string{"WHOLECARE_DB": "sqlite:" + filepath.Join(dir, "rf.db")})
	if _, _, err := runCmd(t, e, "generate", "--people", "2000", "--seed", "5", "--now", "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.json")
	if _, _, err := runCmd(t, e, "risk", "train", "--cutoff", "2024-11-01", "--out", model); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, e, "risk", "score", "--model", model, "--as-of", "2026-11-01", "--top", "0", "--store")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Scored (\d+) people as of 2026-11-01 with model (rm-\w+-[0-9a-f]{12})`).FindStringSubmatch(out)
	stored := regexp.MustCompile(`Stored (\d+) new scores with model (\S+) as of 2026-11-01 \((\d+) were already stored\)`).FindStringSubmatch(out)
	if m == nil || stored == nil || stored[1] != m[1] || stored[2] != m[2] || stored[3] != "0" {
		t.Fatalf("score --store:\n%s", out)
	}
	version := m[2]
	out, _, err = runCmd(t, e, "risk", "score", "--model", model, "--as-of", "2026-11-01", "--top", "0", "--store")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Stored 0 new scores with model "+version+" as of 2026-11-01 ("+m[1]+" were already stored)") {
		t.Errorf("a repeated run stored again:\n%s", out)
	}
	// A later day adds to the history.
	if out, _, err = runCmd(t, e, "risk", "score", "--model", model, "--as-of", "2026-11-02", "--top", "0", "--store"); err != nil ||
		!strings.Contains(out, "Stored "+m[1]+" new scores") {
		t.Fatalf("a later day: %v\n%s", err, out)
	}

	base, served := startServing(t, e, "demo", "--addr", "127.0.0.1:0", "--risk-model", model)
	text := served.String()
	coordinator, analyst := signInDemo(t, base, text, "demo.coordinator"), signInDemo(t, base, text, "demo.analyst")

	// The analyst saves a cohort once the engine is built.
	var status int
	var body []byte
	for range 200 {
		if status, body = analyst.do("POST", "/api/v1/cohorts", map[string]string{"name": "Over 65s", "expression": "alive and age >= 65"}); status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var saved struct{ ID int64 }
	if err := json.Unmarshal(body, &saved); status != http.StatusCreated || err != nil {
		t.Fatalf("saving a cohort as the analyst: %d %.300s", status, body)
	}

	// The coordinator lists the saved cohort's people most at risk...
	status, body = coordinator.do("GET", "/api/v1/casefinding?"+url.Values{"cohort": {strconv.FormatInt(saved.ID, 10)}, "limit": {"5"}}.Encode(), nil)
	var list struct {
		People []struct {
			PersonID int64 `json:"person_id"`
		} `json:"people"`
	}
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || len(list.People) == 0 {
		t.Fatalf("case finding by saved cohort: %d %.300s", status, body)
	}
	// ... and reads their stored scores as RiskAssessments, newest first.
	person := list.People[0].PersonID
	status, body = coordinator.do("GET", fmt.Sprintf("/fhir/R4/RiskAssessment?patient=Patient/p%d", person), nil)
	var bundle struct {
		Total int
		Entry []struct {
			Resource struct {
				ID                 string
				Status             string
				OccurrenceDateTime string
				Method             struct{ Coding []struct{ Code string } }
				Prediction         []struct {
					ProbabilityDecimal float64
					QualitativeRisk    struct{ Coding []struct{ Code string } }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &bundle); status != http.StatusOK || err != nil || bundle.Total != 2 || len(bundle.Entry) != 2 {
		t.Fatalf("RiskAssessment search: %d %.400s", status, body)
	}
	ra := bundle.Entry[0].Resource
	if ra.Status != "final" || ra.OccurrenceDateTime != "2026-11-02" || ra.Method.Coding[0].Code != version ||
		ra.Prediction[0].ProbabilityDecimal <= 0 || ra.Prediction[0].QualitativeRisk.Coding[0].Code == "" {
		t.Errorf("RiskAssessment: %.400s", body)
	}
	if status, body := coordinator.do("GET", "/fhir/R4/RiskAssessment/"+ra.ID, nil); status != http.StatusOK || !bytes.Contains(body, []byte(version)) {
		t.Errorf("RiskAssessment read: %d %.300s", status, body)
	}
	// The saved cohort is a FHIR Group: the analyst sees its count only.
	status, body = analyst.do("GET", fmt.Sprintf("/fhir/R4/Group/g%d", saved.ID), nil)
	var group struct {
		Quantity int
		Member   []any
	}
	if err := json.Unmarshal(body, &group); status != http.StatusOK || err != nil || group.Quantity < 5 || len(group.Member) != 0 {
		t.Errorf("Group as the analyst: %d %.300s", status, body)
	}
	status, body = coordinator.do("GET", fmt.Sprintf("/fhir/R4/Group/g%d", saved.ID), nil)
	if err := json.Unmarshal(body, &group); status != http.StatusOK || err != nil || len(group.Member) == 0 || len(group.Member) >= group.Quantity {
		t.Errorf("Group as the coordinator: %d members of %d: %.300s", len(group.Member), group.Quantity, body)
	}
	if status, body := analyst.do("GET", fmt.Sprintf("/fhir/R4/RiskAssessment?patient=p%d", person), nil); status != http.StatusOK || !bytes.Contains(body, []byte(`"total":0`)) {
		t.Errorf("the analyst's RiskAssessment search: %d %.300s", status, body)
	}
}
