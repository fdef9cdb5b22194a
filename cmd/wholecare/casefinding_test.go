package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
)

// TestCaseFindingServed trains a model on a generated population, serves
// it with --risk-model and asks for case-finding lists: the coordinator
// gets the people of their practice most at risk, highest first; the
// analyst, who reads no records, is refused.
func TestCaseFindingServed(t *testing.T) {
	dir := t.TempDir()
	e := envOf(map[string]string{"WHOLECARE_DB": "sqlite:" + filepath.Join(dir, "cf.db")})
	if _, _, err := runCmd(t, e, "generate", "--people", "3000", "--seed", "3", "--now", "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.json")
	if _, _, err := runCmd(t, e, "risk", "train", "--cutoff", "2024-11-01", "--out", model); err != nil {
		t.Fatal(err)
	}
	base, out := startServing(t, e, "demo", "--addr", "127.0.0.1:0", "--risk-model", model)
	text := out.String()
	coordinator := signInDemo(t, base, text, "demo.coordinator")
	path := "/api/v1/casefinding?" + url.Values{"q": {"alive and age >= 65"}, "limit": {"20"}}.Encode()
	status, body := coordinator.getReady(path) // the engine loads in the background
	var list struct {
		People []struct {
			PersonID   int64   `json:"person_id"`
			PracticeID string  `json:"practice_id"`
			Risk       float64 `json:"risk"`
			RiskBand   int     `json:"risk_band"`
		} `json:"people"`
		Ranked int `json:"ranked_in_cohort"`
	}
	if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil {
		t.Fatalf("case finding as the coordinator: %d %.300s", status, body)
	}
	if len(list.People) == 0 || len(list.People) > 20 || list.Ranked < len(list.People) {
		t.Fatalf("%d people shown of %d ranked", len(list.People), list.Ranked)
	}
	for i, p := range list.People {
		if p.PracticeID != "ZZ0001" {
			t.Errorf("person %d of practice %q listed for a coordinator of ZZ0001", p.PersonID, p.PracticeID)
		}
		if p.Risk <= 0 || p.Risk >= 1 || p.RiskBand < 1 || p.RiskBand > 5 || (i > 0 && p.Risk > list.People[i-1].Risk) {
			t.Errorf("row %d: risk %v band %d (not a probability, or out of order)", i, p.Risk, p.RiskBand)
		}
	}
	if status, _ := signInDemo(t, base, text, "demo.analyst").getReady(path); status != http.StatusForbidden {
		t.Errorf("case finding as the analyst: %d, want 403", status)
	}
	if status, _ := coordinator.getReady("/api/v1/casefinding?rose=lots"); status != http.StatusBadRequest {
		t.Errorf("a bad rise: %d, want 400", status)
	}
	// The risk band is a cohort term too.
	if status, body := signInDemo(t, base, text, "demo.analyst").getReady("/api/v1/cohorts/count?" + url.Values{"q": {"risk >= 1"}}.Encode()); status != http.StatusOK || bytes.Contains(body, []byte(`"people":0`)) {
		t.Errorf("counting people with a risk band: %d %.200s", status, body)
	}
}
