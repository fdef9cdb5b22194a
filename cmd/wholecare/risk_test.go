package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRiskTrainEvaluateScore(t *testing.T) {
	dir := t.TempDir()
	e := envOf(map[string]string{"WHOLECARE_DB": "sqlite:" + filepath.Join(dir, "risk.db")})
	if _, _, err := runCmd(t, e, "generate", "--people", "3000", "--seed", "3", "--now", "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.json")
	feats := filepath.Join(dir, "features")
	out, _, err := runCmd(t, e, "risk", "train", "--cutoff", "2024-11-01", "--out", model, "--export-features", feats)
	if err != nil {
		t.Fatal(err)
	}
	// Both models are measured on the validation year; the synthetic
	// population's admissions follow its conditions and past use, so a
	// model that learnt nothing (AUROC ≈ 0.5) fails here.
	for _, kind := range []string{"logistic", "gbt"} {
		m := regexp.MustCompile(`(?m)^\s*` + kind + `\s+\S+\s+(0\.\d+)\s+(0\.\d+)\s`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s row in:\n%s", kind, out)
		}
		if auc, _ := strconv.ParseFloat(m[2], 64); auc < 0.6 {
			t.Errorf("%s validation AUROC %v: the model learnt nothing\n%s", kind, auc, out)
		}
	}
	chosen := regexp.MustCompile(`Chosen: (logistic|gbt) \(higher validation AUROC\), version (rm-\w+-[0-9a-f]{12})`).FindStringSubmatch(out)
	if chosen == nil {
		t.Fatalf("no choice in:\n%s", out)
	}
	saved, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(saved), `"version": "`+chosen[2]+`"`) {
		t.Errorf("the saved model does not carry version %s", chosen[2])
	}
	for _, f := range []string{"train.csv", "valid.csv", "wholecare.json"} {
		b, err := os.ReadFile(filepath.Join(feats, f))
		if err != nil || len(b) == 0 {
			t.Errorf("export %s: %v", f, err)
		}
		if f == "train.csv" {
			if !strings.HasPrefix(string(b), "person_id,label,age,female,") {
				t.Errorf("train.csv header: %.60q", b)
			}
			// The generator gives some older people a care package; the
			// store read beside each batch must bring them in.
			if !regexp.MustCompile(`(?m),1\n`).Match(b) {
				t.Error("nobody has a care package (the last column)")
			}
		}
	}

	// An earlier year: features from 2023-11-01, labels to 2024-11-01.
	out, _, err = runCmd(t, e, "risk", "evaluate", "--model", model, "--cutoff", "2023-11-01")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Model "+chosen[2]+" (trained on cut-off 2024-11-01) evaluated on cut-off 2023-11-01") ||
		!strings.Contains(out, "Calibration by decile") {
		t.Errorf("evaluate:\n%s", out)
	}

	out, _, err = runCmd(t, e, "risk", "score", "--model", model, "--as-of", "2026-11-01", "--top", "3")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Scored (\d+) people as of 2026-11-01 with model ` + chosen[2]).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("score:\n%s", out)
	}
	scored, _ := strconv.Atoi(m[1])
	sum := 0
	for _, c := range regexp.MustCompile(`(?m)^\s+(?:under \d+ %|\d+–\d+ %|\d+ % or more)\s+(\d+)\s`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(c[1])
		sum += n
	}
	if scored < 2500 || sum != scored {
		t.Errorf("bands add up to %d of %d scored:\n%s", sum, scored, out)
	}
	if n := len(regexp.MustCompile(`(?m)^  \d+  \d+\.\d %  \S`).FindAllString(out, -1)); n != 3 {
		t.Errorf("%d explained people, want 3:\n%s", n, out)
	}
}

func TestRiskRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	e := envOf(map[string]string{"WHOLECARE_DB": "sqlite:" + filepath.Join(dir, "risk.db")})
	if _, _, err := runCmd(t, e, "generate", "--people", "200", "--seed", "3", "--now", "2026-11-01"); err != nil {
		t.Fatal(err)
	}
	bogus := filepath.Join(dir, "bogus.json")
	if err := os.WriteFile(bogus, []byte(`{"format":"wholecare-riskmodel/1","kind":"gbt","features":["x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"risk"}, true, "want a subcommand"},
		{[]string{"risk", "fit"}, true, `unknown subcommand "fit"`},
		{[]string{"risk", "train"}, true, "--cutoff is required"},
		{[]string{"risk", "train", "--cutoff", "1/11/2024"}, true, "write the day as YYYY-MM-DD"},
		// The validation year (from 2026-01-01) runs past the data.
		{[]string{"risk", "train", "--cutoff", "2025-01-01", "--out", filepath.Join(dir, "m.json")}, true, "choose a cut-off at least a year before the end of the data"},
		{[]string{"risk", "evaluate", "--cutoff", "2024-01-01"}, true, "--model is required"},
		{[]string{"risk", "score", "--model", bogus}, false, "trained on 1 other features"},
		{[]string{"risk", "score", "--model", filepath.Join(dir, "missing.json")}, false, "no such file"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(t, e, tt.args...)
		var u *usageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &u) != tt.usage {
			t.Errorf("%v: error %v (usage error: %v), want %q (usage error: %v)", tt.args, err, errors.As(err, &u), tt.want, tt.usage)
		}
	}
}
