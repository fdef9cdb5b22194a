package riskmodel

import (
	"math"
	"testing"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestRankMetricsHandWorked(t *testing.T) {
	tests := []struct {
		name     string
		p        []float64
		y        []bool
		auc, ap  float64
		brier    float64
		checkBri bool
	}{
		{
			// scikit-learn's documented example: roc_auc_score = 0.75,
			// average_precision_score = 0.8333.
			name: "no ties", p: []float64{0.1, 0.4, 0.35, 0.8}, y: []bool{false, false, true, true},
			auc: 0.75, ap: (0.5*1 + 0.5*2.0/3), brier: (0.01 + 0.16 + 0.4225 + 0.04) / 4, checkBri: true,
		},
		{
			// Pairs (pos, neg): (0.5, 0.5) tie ½, (0.5, 0.2) 1, (0.8, 0.5) 1,
			// (0.8, 0.2) 1 → 3.5/4. Precision–recall: at 0.8, R ½ P 1; at
			// the tied 0.5 block, R 1 P ⅔ → ½ + ½·⅔.
			name: "ties", p: []float64{0.5, 0.5, 0.2, 0.8}, y: []bool{true, false, false, true},
			auc: 0.875, ap: 0.5 + 0.5*2.0/3,
		},
		{
			name: "all tied", p: []float64{0.3, 0.3, 0.3, 0.3}, y: []bool{true, false, false, false},
			auc: 0.5, ap: 0.25,
		},
		{
			name: "perfectly wrong", p: []float64{0.9, 0.8, 0.1}, y: []bool{false, false, true},
			auc: 0, ap: 1.0 / 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AUROC(tt.p, tt.y); !near(got, tt.auc, 1e-12) {
				t.Errorf("AUROC = %v, want %v", got, tt.auc)
			}
			if got := AveragePrecision(tt.p, tt.y); !near(got, tt.ap, 1e-12) {
				t.Errorf("AveragePrecision = %v, want %v", got, tt.ap)
			}
			if tt.checkBri {
				if got := Brier(tt.p, tt.y); !near(got, tt.brier, 1e-12) {
					t.Errorf("Brier = %v, want %v", got, tt.brier)
				}
			}
		})
	}
}

// group returns n people predicted p of whom k had the outcome.
func group(p float64, n, k int) ([]float64, []bool) {
	ps, ys := make([]float64, n), make([]bool, n)
	for i := range n {
		ps[i], ys[i] = p, i < k
	}
	return ps, ys
}

func TestCalibrationHandWorked(t *testing.T) {
	// Two groups: predicted 0.2 (1 in 10 had the outcome) and 0.5 (5 in
	// 10). Two points fit exactly: slope = (logit 0.5 − logit 0.1) /
	// (logit 0.5 − logit 0.2) = ln 9 / ln 4, with intercept 0. With the
	// slope held at 1, Σ σ(a + lp) = 6 gives 7u² + 10u − 12 = 0 for
	// u = eᵃ, so a = ln((−10 + √436) / 14).
	pa, ya := group(0.2, 10, 1)
	pb, yb := group(0.5, 10, 5)
	p, y := append(pa, pb...), append(ya, yb...)
	slope, intercept := Calibration(p, y)
	if want := math.Log(9) / math.Log(4); !near(slope, want, 1e-8) {
		t.Errorf("slope = %v, want %v", slope, want)
	}
	if want := math.Log((-10 + math.Sqrt(436)) / 14); !near(intercept, want, 1e-8) {
		t.Errorf("intercept = %v, want %v", intercept, want)
	}

	// Predictions that match the observed rates: slope 1, intercept 0.
	pa, ya = group(0.2, 10, 2)
	pb, yb = group(0.5, 10, 5)
	slope, intercept = Calibration(append(pa, pb...), append(ya, yb...))
	if !near(slope, 1, 1e-8) || !near(intercept, 0, 1e-8) {
		t.Errorf("well calibrated: slope %v intercept %v, want 1 and 0", slope, intercept)
	}
}

func TestCalibrationTable(t *testing.T) {
	var p []float64
	var y []bool
	for i := range 20 {
		p = append(p, float64(i)/20)
		y = append(y, i%4 == 0)
	}
	got := CalibrationTable(p, y, 10)
	if len(got) != 10 {
		t.Fatalf("%d groups, want 10", len(got))
	}
	// The lowest group holds 0 and 0.05; 0 is an outcome (i = 0).
	if g := got[0]; g.N != 2 || g.MinRisk != 0 || g.MaxRisk != 0.05 || !near(g.Predicted, 0.025, 1e-12) || g.Observed != 0.5 {
		t.Errorf("first group %+v", g)
	}
	if g := got[9]; g.N != 2 || g.MinRisk != 0.9 || g.MaxRisk != 0.95 || g.Observed != 0 {
		t.Errorf("last group %+v", g)
	}
}

func TestEvaluateRejects(t *testing.T) {
	if _, err := Evaluate([]float64{0.1, 0.2}, []bool{true, true}); err == nil {
		t.Error("one class: no error")
	}
	if _, err := Evaluate([]float64{0.1, 1.2}, []bool{true, false}); err == nil {
		t.Error("probability above 1: no error")
	}
	if _, err := Evaluate([]float64{0.1}, []bool{true, false}); err == nil {
		t.Error("lengths differ: no error")
	}
}
