package riskmodel

import (
	"math"
	"slices"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Metrics measure predicted probabilities against what happened.
type Metrics struct {
	N         int     `json:"n"`
	Positives int     `json:"positives"`
	AUROC     float64 `json:"auroc"`
	// AveragePrecision is Σ (Rₖ − Rₖ₋₁)·Pₖ over the distinct thresholds,
	// highest first (scikit-learn's average_precision_score): no
	// interpolation.
	AveragePrecision float64 `json:"average_precision"`
	Brier            float64 `json:"brier"`
	// CalibrationSlope is b in logit P(y) = a + b·logit p: 1 when the
	// spread of the predictions is right, below 1 when they are too
	// extreme. CalibrationIntercept is a in logit P(y) = a + logit p
	// (calibration-in-the-large, slope held at 1): 0 when the predictions
	// are right on average, positive when they are too low.
	CalibrationSlope     float64  `json:"calibration_slope"`
	CalibrationIntercept float64  `json:"calibration_intercept"`
	Deciles              []Decile `json:"deciles"`
}

// Decile is one tenth of the people, by predicted risk, lowest first.
type Decile struct {
	N         int     `json:"n"`
	MinRisk   float64 `json:"min_risk"`
	MaxRisk   float64 `json:"max_risk"`
	Predicted float64 `json:"predicted"` // mean predicted risk
	Observed  float64 `json:"observed"`  // share with the outcome
}

// Evaluate measures probabilities p against outcomes y. It needs both
// outcomes present and every p in [0, 1].
func Evaluate(p []float64, y []bool) (Metrics, error) {
	if len(p) != len(y) {
		return Metrics{}, apperr.Ef(apperr.Invalid, "riskmodel: %d predictions for %d outcomes", len(p), len(y))
	}
	m := Metrics{N: len(p)}
	for i, v := range p {
		if !(v >= 0 && v <= 1) {
			return Metrics{}, apperr.Ef(apperr.Invalid, "riskmodel: prediction %d is %g, not a probability", i, v)
		}
		if y[i] {
			m.Positives++
		}
	}
	if m.Positives == 0 || m.Positives == m.N {
		return Metrics{}, apperr.Ef(apperr.Invalid, "riskmodel: %d of %d outcomes positive: the metrics need both outcomes", m.Positives, m.N)
	}
	m.AUROC = AUROC(p, y)
	m.AveragePrecision = AveragePrecision(p, y)
	m.Brier = Brier(p, y)
	m.CalibrationSlope, m.CalibrationIntercept = Calibration(p, y)
	m.Deciles = CalibrationTable(p, y, 10)
	return m, nil
}

// Order returns the indexes of p sorted by p, highest first; ties keep their order.
func Order(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return 0
	})
	return idx
}

// AUROC is the probability that a random positive scores above a random
// negative, ties counting one half (the Mann–Whitney U statistic over
// P·N). NaN when either class is absent.
func AUROC(p []float64, y []bool) float64 {
	idx := Order(p)
	var pos, neg, u float64
	// Walk down from the highest score a block of tied scores at a time:
	// each negative in a block is beaten by every positive above it and
	// ties with the block's own positives (half a win each).
	for lo := 0; lo < len(idx); {
		hi := lo
		var bp, bn float64
		for hi < len(idx) && p[idx[hi]] == p[idx[lo]] {
			if y[idx[hi]] {
				bp++
			} else {
				bn++
			}
			hi++
		}
		u += bn * (pos + bp/2)
		pos += bp
		neg += bn
		lo = hi
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return u / (pos * neg)
}

// AveragePrecision is the area under the precision–recall steps, as
// scikit-learn's average_precision_score computes it.
func AveragePrecision(p []float64, y []bool) float64 {
	idx := Order(p)
	total := 0.0
	for _, v := range y {
		if v {
			total++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	var tp, fp, ap, lastRecall float64
	for lo := 0; lo < len(idx); {
		hi := lo
		for hi < len(idx) && p[idx[hi]] == p[idx[lo]] {
			if y[idx[hi]] {
				tp++
			} else {
				fp++
			}
			hi++
		}
		recall := tp / total
		ap += (recall - lastRecall) * tp / (tp + fp)
		lastRecall = recall
		lo = hi
	}
	return ap
}

// Brier is the mean squared difference between p and the outcome.
func Brier(p []float64, y []bool) float64 {
	s := 0.0
	for i, v := range p {
		d := v
		if y[i] {
			d = v - 1
		}
		s += d * d
	}
	return s / float64(len(p))
}

// Calibration fits the outcomes on the predictions' log-odds: the slope b
// of logit P(y) = a + b·lp, and the intercept a of logit P(y) = a + lp.
// Predictions of exactly 0 or 1 are moved in by 1e−12 so lp is finite.
func Calibration(p []float64, y []bool) (slope, intercept float64) {
	lp := make([]float64, len(p))
	for i, v := range p {
		v = min(max(v, 1e-12), 1-1e-12)
		lp[i] = math.Log(v / (1 - v))
	}
	// Two-parameter Newton for (a, b).
	a, b := 0.0, 1.0
	for range 100 {
		var g0, g1, h00, h01, h11 float64
		for i, x := range lp {
			pr := sigmoid(a + b*x)
			r := pr
			if y[i] {
				r--
			}
			w := pr * (1 - pr)
			g0 += r
			g1 += r * x
			h00 += w
			h01 += w * x
			h11 += w * x * x
		}
		det := h00*h11 - h01*h01
		if !(det > 0) {
			break
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		a, b = a-da, b-db
		if math.Abs(da)+math.Abs(db) < 1e-10 {
			break
		}
	}
	slope = b
	// One-parameter Newton for a with the slope held at 1.
	a = 0
	for range 100 {
		var g, h float64
		for i, x := range lp {
			pr := sigmoid(a + x)
			if y[i] {
				g += pr - 1
			} else {
				g += pr
			}
			h += pr * (1 - pr)
		}
		if !(h > 0) {
			break
		}
		da := g / h
		a -= da
		if math.Abs(da) < 1e-12 {
			break
		}
	}
	return slope, a
}

// CalibrationTable splits the people into k groups of (nearly) equal size
// by predicted risk, lowest first, and compares predicted with observed.
func CalibrationTable(p []float64, y []bool, k int) []Decile {
	idx := Order(p)
	slices.Reverse(idx)
	n := len(idx)
	out := make([]Decile, 0, k)
	for g := range k {
		lo, hi := g*n/k, (g+1)*n/k
		if hi <= lo {
			continue
		}
		d := Decile{N: hi - lo, MinRisk: p[idx[lo]], MaxRisk: p[idx[hi-1]]}
		for _, i := range idx[lo:hi] {
			d.Predicted += p[i]
			if y[i] {
				d.Observed++
			}
		}
		d.Predicted /= float64(d.N)
		d.Observed /= float64(d.N)
		out = append(out, d)
	}
	return out
}
