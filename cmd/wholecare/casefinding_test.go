package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"testing"
	"time"
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
	session := func(name string) *http.Client {
		m := regexp.MustCompile(`(?m)^\s+\S+\s+` + regexp.QuoteMeta(name) + `\s+(\S+)\s`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no sign-in for %s in:\n%s", name, text)
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		body, _ := json.Marshal(map[string]string{"name": name, "password": m[1]})
		res, err := c.Post(base+"/api/v1/session", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return c
	}
	get := func(c *http.Client, path string) (int, []byte) {
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	coordinator := session("demo.coordinator")
	path := "/api/v1/casefinding?" + url.Values{"q": {"alive and age >= 65"}, "limit": {"20"}}.Encode()
	var status int
	var body []byte
	for range 200 { // the engine loads in the background
		if status, body = get(coordinator, path); status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
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
	if status, _ := get(session("demo.analyst"), path); status != http.StatusForbidden {
		t.Errorf("case finding as the analyst: %d, want 403", status)
	}
	if status, _ := get(coordinator, "/api/v1/casefinding?rose=lots"); status != http.StatusBadRequest {
		t.Errorf("a bad rise: %d, want 400", status)
	}
	// The risk band is a cohort term too.
	if status, body := get(session("demo.analyst"), "/api/v1/cohorts/count?"+url.Values{"q": {"risk >= 1"}}.Encode()); status != http.StatusOK || bytes.Contains(body, []byte(`"people":0`)) {
		t.Errorf("counting people with a risk band: %d %.200s", status, body)
	}
}
