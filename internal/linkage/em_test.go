package linkage

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simulated are known Fellegi–Sunter parameters: four fields, matches
// mostly agreeing, non-matches mostly not.
func simulated() params {
	var p params
	p.lambda = 0.05
	set := func(f field, m, u []float64) {
		copy(p.m[f][1:], m)
		copy(p.u[f][1:], u)
		p.used[f] = true
	}
	//                   exact nick  jw92  jw88  phon  init  swap  other
	set(fGiven, []float64{0.80, 0.03, 0.07, 0.02, 0.02, 0.01, 0.02, 0.03},
		[]float64{0.010, 0.002, 0.004, 0.004, 0.005, 0.001, 0.001, 0.973})
	//                    exact jw92  jw88  phon  other
	set(fFamily, []float64{0.85, 0.08, 0.02, 0.01, 0.04},
		[]float64{0.004, 0.003, 0.003, 0.005, 0.985})
	//                   exact trans digit year  other
	set(fBirth, []float64{0.90, 0.02, 0.04, 0.01, 0.03},
		[]float64{0.0001, 0.0001, 0.0015, 0.0110, 0.9873})
	//                      exact one   sect  dist  other
	set(fPostcode, []float64{0.70, 0.05, 0.05, 0.05, 0.15},
		[]float64{0.001, 0.002, 0.010, 0.050, 0.937})
	return p
}

// draw picks a level from probabilities indexed from 1.
func draw(r *rand.Rand, probs []float64) uint8 {
	x := r.Float64()
	for l := 1; l < len(probs); l++ {
		x -= probs[l]
		if x < 0 {
			return uint8(l)
		}
	}
	return uint8(len(probs) - 1)
}

// simulatePairs draws n comparison vectors from p, a few values missing.
func simulatePairs(p params, n int, seed uint64) []pattern {
	r := rand.New(rand.NewPCG(seed, 7))
	counts := map[levels]float64{}
	for range n {
		match := r.Float64() < p.lambda
		var lv levels
		for f := range numFields {
			if !p.used[f] || r.Float64() < 0.03 {
				continue // the field missing on one side: null
			}
			probs := p.u[f][:len(levelNames[f])]
			if match {
				probs = p.m[f][:len(levelNames[f])]
			}
			lv[f] = draw(r, probs)
		}
		counts[lv]++
	}
	pats, _ := patterns(counts)
	return pats
}

func TestEMRecoversKnownParameters(t *testing.T) {
	truth := simulated()
	pats := simulatePairs(truth, 200_000, 1)
	// Start far from the truth: EM's own starting m, and u spread evenly
	// over the agreeing levels.
	var start params
	start.lambda = 0.3
	start.m = initialM()
	for f := range numFields {
		n := len(levelNames[f])
		for l := 1; l < n-1; l++ {
			start.u[f][l] = 0.02
		}
		start.u[f][n-1] = 1 - 0.02*float64(n-2)
	}
	var none, every [numFields]bool
	for f := range every {
		every[f] = true
	}
	tests := []struct {
		name       string
		start      params
		fixU       [numFields]bool
		tolM, tolU float64
	}{
		{"m and u free", start, none, 0.01, 0.003},
		{"u fixed at its value among random pairs", func() params { s := start; s.u = truth.u; return s }(), every, 0.01, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := estimate(pats, tt.start, emOptions{fixU: tt.fixU, maxIter: 1000, tol: 1e-9})
			t.Logf("%d patterns, %d iterations, lambda %.4f, given exact m %.4f u %.4f", len(pats), res.iterations, got.lambda, got.m[fGiven][1], got.u[fGiven][1])
			if !res.converged {
				t.Errorf("EM did not converge in %d iterations", res.iterations)
			}
			if math.Abs(got.lambda-truth.lambda) > 0.003 {
				t.Errorf("lambda = %.4f, want %.4f", got.lambda, truth.lambda)
			}
			for f := range numFields {
				if !truth.used[f] {
					if got.used[f] {
						t.Errorf("%s used, but it was null in every pair", fieldNames[f])
					}
					continue
				}
				for l := 1; l < len(levelNames[f]); l++ {
					if d := math.Abs(got.m[f][l] - truth.m[f][l]); d > tt.tolM {
						t.Errorf("%s %s: m = %.4f, want %.4f", fieldNames[f], levelNames[f][l], got.m[f][l], truth.m[f][l])
					}
					if d := math.Abs(got.u[f][l] - truth.u[f][l]); d > tt.tolU && tt.tolU > 0 {
						t.Errorf("%s %s: u = %.4f, want %.4f", fieldNames[f], levelNames[f][l], got.u[f][l], truth.u[f][l])
					}
				}
			}
		})
	}
}

func TestOrientSwapsInvertedClasses(t *testing.T) {
	truth := simulated()
	inverted := truth
	inverted.lambda = 1 - truth.lambda
	inverted.m, inverted.u = truth.u, truth.m
	got := orient(inverted)
	if math.Abs(got.lambda-truth.lambda) > 1e-12 || got.m != truth.m || got.u != truth.u {
		t.Error("orient did not put the agreeing class back as the matches")
	}
	if again := orient(truth); again.m != truth.m {
		t.Error("orient changed parameters that were the right way round")
	}
}

func TestTermFrequencyAdjustment(t *testing.T) {
	var names []string
	for range 90 {
		names = append(names, "smith")
	}
	names = append(names, "tullaroop", "zyx", "abc", "def", "ghi", "jkl", "mno", "pqr", "stu", "vwx")
	tf := newTermFreq(len(names), func(i int) string { return names[i] })
	common, rare := tf.adjustment("smith"), tf.adjustment("tullaroop")
	if !(common <= 0 && rare > 0 && rare > common) {
		t.Errorf("adjustments: common name %+.2f bits, rare name %+.2f bits; want the rare one to weigh more", common, rare)
	}
	if got := tf.adjustment("nobody"); got != 0 {
		t.Errorf("a value never seen adjusts by %v bits, want 0", got)
	}
	if rare > 4.01 {
		t.Errorf("a unique value adds %.2f bits: the adjustment is not bounded", rare)
	}
}
