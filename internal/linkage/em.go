package linkage

import "math"

// maxLevels bounds the levels of any field (null included).
const maxLevels = 9

// params are the Fellegi–Sunter parameters: the proportion of matches
// among the pairs (lambda) and, for every field and level, the probability
// of that level among matches (m) and among non-matches (u). Level 0
// (null) is left out of both: a missing value is no evidence.
type params struct {
	lambda float64
	m, u   [numFields][maxLevels]float64
	used   [numFields]bool // the field was non-null in some pair
}

// pattern is one distinct comparison vector and how many pairs have it.
type pattern struct {
	lv levels
	n  float64
}

// emResult is what the estimation reports about itself.
type emResult struct {
	iterations int
	converged  bool
}

// smoothing is the pseudo-count (half a pair) added to every level in the
// M-step, so that a level never seen in one class keeps a small
// probability instead of an enormous weight.
const smoothing = 0.5

// emOptions say what EM may change.
type emOptions struct {
	fixM, fixU [numFields]bool
	// uPrior, when set, adds uPriorPairs pseudo-pairs distributed as this
	// u to the non-matches: with few pairs to learn from, u stays near it.
	uPrior      *[numFields][maxLevels]float64
	uPriorPairs float64
	maxIter     int
	tol         float64
}

// estimate runs EM from p over the patterns: the E-step gives each pattern
// its posterior probability of being a match under the independence
// assumption; the M-step re-estimates lambda, and m and u of every field
// not held fixed, from those posteriors. It stops when no parameter moves
// by more than opt.tol.
func estimate(pats []pattern, p params, opt emOptions) (params, emResult) {
	for f := range numFields {
		p.used[f] = false
	}
	for _, pt := range pats {
		for f, l := range pt.lv {
			if l != null {
				p.used[f] = true
			}
		}
	}
	var res emResult
	for it := 1; it <= opt.maxIter; it++ {
		res.iterations = it
		var logM, logU [numFields][maxLevels]float64
		for f := range numFields {
			for l := 1; l < len(levelNames[f]); l++ {
				logM[f][l] = math.Log(p.m[f][l])
				logU[f][l] = math.Log(p.u[f][l])
			}
		}
		lm0, lu0 := math.Log(p.lambda), math.Log(1-p.lambda)
		var mNum, uNum [numFields][maxLevels]float64
		var sumG, sumN float64
		for _, pt := range pats {
			lm, lu := lm0, lu0
			for f, l := range pt.lv {
				if l != null {
					lm += logM[f][l]
					lu += logU[f][l]
				}
			}
			g := 1 / (1 + math.Exp(lu-lm))
			sumG += pt.n * g
			sumN += pt.n
			for f, l := range pt.lv {
				if l != null {
					mNum[f][l] += pt.n * g
					uNum[f][l] += pt.n * (1 - g)
				}
			}
		}
		if sumN == 0 {
			return p, res
		}
		next := p
		next.lambda = clamp(sumG/sumN, 1e-9, 1-1e-9)
		for f := range numFields {
			if !p.used[f] {
				continue
			}
			n := len(levelNames[f])
			if !opt.fixM[f] {
				normalise(next.m[f][:n], mNum[f][:n])
			}
			if !opt.fixU[f] {
				if opt.uPrior != nil {
					for l := 1; l < n; l++ {
						uNum[f][l] += opt.uPriorPairs * opt.uPrior[f][l]
					}
				}
				normalise(next.u[f][:n], uNum[f][:n])
			}
		}
		delta := math.Abs(next.lambda - p.lambda)
		for f := range numFields {
			for l := 1; l < len(levelNames[f]); l++ {
				delta = max(delta, math.Abs(next.m[f][l]-p.m[f][l]), math.Abs(next.u[f][l]-p.u[f][l]))
			}
		}
		p = next
		if delta < opt.tol {
			res.converged = true
			break
		}
	}
	return p, res
}

// normalise writes into dst[1:] the smoothed proportions of counts[1:].
func normalise(dst, counts []float64) {
	total := 0.0
	for _, c := range counts[1:] {
		total += c + smoothing
	}
	for l := 1; l < len(counts); l++ {
		dst[l] = (counts[l] + smoothing) / total
	}
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// initialM is where EM starts for m: most matches agree exactly, a few
// nearly, very few not at all.
func initialM() [numFields][maxLevels]float64 {
	var m [numFields][maxLevels]float64
	for f := range numFields {
		n := len(levelNames[f]) - 1 // non-null levels; the last is "different"
		m[f][1] = 0.7
		if n == 2 {
			m[f][1], m[f][2] = 0.95, 0.05
			continue
		}
		for l := 2; l < n; l++ {
			m[f][l] = 0.25 / float64(n-2)
		}
		m[f][n] = 0.05
	}
	return m
}

// uFromCounts turns level counts of random pairs into u, smoothed; with
// no counts, u is spread evenly over the levels but the last gets most.
func uFromCounts(counts [numFields][maxLevels]float64) [numFields][maxLevels]float64 {
	var u [numFields][maxLevels]float64
	for f := range numFields {
		n := len(levelNames[f])
		c := counts[f][:n]
		total := 0.0
		for _, x := range c[1:] {
			total += x
		}
		if total == 0 {
			for l := 1; l < n-1; l++ {
				u[f][l] = 0.01
			}
			u[f][n-1] = 1 - 0.01*float64(n-2)
			continue
		}
		// Half a pair for every level: an agreement never seen among
		// random pairs is rare, not impossible.
		for l := 1; l < n; l++ {
			u[f][l] = (c[l] + 0.5) / (total + 0.5*float64(n-1))
		}
	}
	return u
}
