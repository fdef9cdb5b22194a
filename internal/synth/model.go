package synth

import (
	"math"
)

// Condition indices. The order is the order of conditionTable.
const (
	cAF = iota
	cAsthma
	cCancer
	cCHD
	cCKD
	cCOPD
	cDementia
	cDepression
	cDiabetes
	cEpilepsy
	cHF
	cHypertension
	cLD
	cSMI
	cNDH
	cObesity
	cOsteoporosis
	cPAD
	cPalliative
	cRA
	cStroke
	cOA
	cHypothyroid
	nCond
)

// condition is the prevalence model of one long-term condition: the log
// odds of being on the register at Now is
//
//	alpha + age curve + Male·male + Dep·(5.5−decile)/4.5 + Z·z
//
// where z is the person's latent ill-health, shared by every condition so
// that multimorbidity clusters. alpha is found at construction so that the
// expected prevalence over England's age and sex structure equals Target.
type condition struct {
	Key        string      // QOF register group (as in the QOF prevalence file), or a local key
	Target     float64     // register ÷ list at Now, QOF England 2020/21 where Key is a QOF group
	MinAge     int         // the QOF denominator's minimum age; nobody younger is on the register
	Knots      [11]float64 // log odds by age 0, 10, …, 100 (relative; alpha shifts them)
	Male       float64     // log odds ratio, male vs female
	Dep        float64     // log odds ratio, most deprived decile vs the middle
	Z          float64     // loading on latent ill-health
	DeathLogHR float64     // log hazard ratio for death, used to tilt decedents' conditions
	AdmitLogRR float64     // log rate ratio for emergency admission while the condition is active
	Duration   float64     // mean years from onset to Now (exponential, capped by MinOnset)
	MinOnset   int         // youngest age at onset
}

// conditionTable gives the QOF England 2020/21 targets and, for the two
// non-QOF conditions, plain primary-care-record shares (osteoarthritis ≈
// 10% of people 45+, hypothyroidism ≈ 3.5% of all ages). Age curves,
// sex and deprivation effects are shaped from published UK patterns (QOF
// age-specific prevalence, CPRD multimorbidity studies); they are
// plausible, not fitted.
var conditionTable = [nCond]condition{
	cAF:           {"AF", 0.02048, 0, [11]float64{-14, -12, -10, -8.5, -7, -5.6, -4.3, -3.1, -2.2, -1.7, -1.6}, 0.4, 0.05, 0.5, 0.3, 0.25, 7, 30},
	cAsthma:       {"AST", 0.06375, 6, [11]float64{-0.6, 0, 0, -0.1, -0.2, -0.2, -0.2, -0.2, -0.3, -0.5, -0.7}, -0.15, 0.2, 0.4, 0, 0.3, 18, 3},
	cCancer:       {"CAN", 0.03210, 0, [11]float64{-6, -5.5, -5, -4.2, -3.4, -2.7, -2.0, -1.4, -1.0, -0.9, -0.9}, 0, 0, 0.3, 1.0, 0.35, 8, 15},
	cCHD:          {"CHD", 0.03048, 0, [11]float64{-14, -13, -11, -9, -7, -5.3, -4.0, -3.1, -2.5, -2.3, -2.3}, 0.7, 0.35, 0.6, 0.3, 0.3, 10, 30},
	cCKD:          {"CKD", 0.03956, 18, [11]float64{-14, -13, -11, -9.5, -8, -6.5, -5, -3.6, -2.4, -1.7, -1.5}, -0.2, 0.2, 0.7, 0.5, 0.4, 6, 25},
	cCOPD:         {"COPD", 0.01928, 0, [11]float64{-15, -14, -12, -9.5, -7, -5.2, -4, -3.2, -2.8, -2.9, -3.0}, 0.1, 0.6, 0.8, 0.8, 0.75, 8, 35},
	cDementia:     {"DEM", 0.00710, 0, [11]float64{-20, -19, -17, -15, -13, -11, -8.5, -6, -3.7, -2.0, -1.4}, -0.1, 0.15, 0.6, 1.2, 0.6, 3, 50},
	cDepression:   {"DEP", 0.12291, 18, [11]float64{-5, -3.5, -1.4, -1.1, -1.0, -1.0, -1.2, -1.5, -1.6, -1.6, -1.6}, -0.6, 0.35, 0.5, 0, 0.1, 8, 14},
	cDiabetes:     {"DM", 0.07109, 17, [11]float64{-9, -8, -6.5, -5.2, -4, -3, -2.2, -1.7, -1.6, -1.9, -2.2}, 0.3, 0.4, 0.6, 0.3, 0.3, 9, 15},
	cEpilepsy:     {"EP", 0.00797, 18, [11]float64{-1, -0.4, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0.1, 0.3, 0.3, 0.3, 0.4, 20, 1},
	cHF:           {"HF", 0.00907, 0, [11]float64{-15, -14, -12.5, -11, -9, -7.5, -6, -4.6, -3.3, -2.4, -2.1}, 0.4, 0.3, 0.9, 1.0, 0.8, 5, 35},
	cHypertension: {"HYP", 0.13930, 0, [11]float64{-9, -8, -6, -4.5, -3.2, -2.0, -1.0, -0.2, 0.3, 0.5, 0.5}, 0.15, 0.2, 0.5, 0.1, 0.1, 10, 20},
	cLD:           {"LD", 0.00534, 0, [11]float64{0, 0, 0, 0, -0.1, -0.2, -0.4, -0.7, -1.1, -1.5, -2}, 0.45, 0.3, 0.3, 0.5, 0.4, 0, 0},
	cSMI:          {"MH", 0.00946, 0, [11]float64{-8, -4, -0.5, 0, 0, 0, -0.1, -0.3, -0.5, -0.8, -1}, 0.2, 0.6, 0.5, 0.5, 0.4, 15, 16},
	cNDH:          {"NDH", 0.05310, 18, [11]float64{-9, -8, -5.5, -4.5, -3.6, -2.8, -2.1, -1.6, -1.5, -1.7, -2}, 0.1, 0.2, 0.4, 0, 0, 4, 18},
	cObesity:      {"OB", 0.06880, 18, [11]float64{-4, -3, -1.0, -0.6, -0.3, -0.1, 0, 0, -0.3, -1.0, -1.8}, -0.1, 0.4, 0.5, 0, 0.05, 6, 18},
	cOsteoporosis: {"OST", 0.00759, 50, [11]float64{-12, -12, -11, -10, -9, -6, -4.5, -3.3, -2.4, -1.9, -1.8}, -1.5, 0.1, 0.4, 0.2, 0.2, 6, 45},
	cPAD:          {"PAD", 0.00588, 0, [11]float64{-15, -14, -13, -11, -9, -7, -5.5, -4.4, -3.6, -3.2, -3.1}, 0.6, 0.5, 0.7, 0.4, 0.3, 7, 40},
	cPalliative:   {"PC", 0.00465, 0, [11]float64{-12, -12, -11, -10, -9, -7.5, -6.2, -5.1, -4.0, -3.0, -2.6}, 0.1, 0.1, 1.0, 3.0, 0.6, 0.8, 18},
	cRA:           {"RA", 0.00768, 16, [11]float64{-10, -8, -6, -5, -4, -3.2, -2.6, -2.2, -2.0, -2.0, -2.1}, -0.9, 0.15, 0.4, 0.3, 0.2, 10, 18},
	cStroke:       {"STIA", 0.01801, 0, [11]float64{-15, -13, -11, -9.5, -8, -6.5, -5.1, -3.9, -2.9, -2.4, -2.3}, 0.3, 0.3, 0.6, 0.4, 0.4, 7, 30},
	cOA:           {"OA", 0.10, 45, [11]float64{-12, -11, -9, -7, -5, -3.5, -2.3, -1.4, -0.9, -0.8, -0.8}, -0.4, 0.2, 0.5, 0, 0.1, 8, 40},
	cHypothyroid:  {"THY", 0.035, 0, [11]float64{-8, -6, -4.5, -3.8, -3.3, -2.9, -2.6, -2.4, -2.3, -2.3, -2.3}, -1.6, 0, 0.2, 0, 0, 10, 10},
}

// Probabilists' Gauss–Hermite nodes and weights (7 points, weights sum to
// 1): E[f(z)] for z ~ N(0,1) is Σ w·f(node), exact for polynomials to
// degree 13 and far more accurate than sampling for smooth f.
var (
	ghNodes   = [7]float64{-3.750439717725742, -2.366759410734541, -1.154405394739968, 0, 1.154405394739968, 2.366759410734541, 3.750439717725742}
	ghWeights = [7]float64{0.000548268855972, 0.030757123967586, 0.240123178605013, 0.457142857142857, 0.240123178605013, 0.030757123967586, 0.000548268855972}
)

// Frailty (65+) is a latent score 0.75·z + 0.045·(age−76) + 0.6·e with e
// independent N(0,1), cut so that fit/mild/moderate/severe are 50/35/12/3%
// of people 65+, the eFI distribution (SPECS §2a). Only some are coded.
const (
	frailZ, frailAge, frailNoise = 0.75, 0.045, 0.6
)

// frailCodedShare is the chance that a person's frailty level is recorded as
// a coded diagnosis, by level (fit, mild, moderate, severe).
var frailCodedShare = [4]float64{0, 0.30, 0.55, 0.70}

// model is the calibrated state: per-condition intercepts and age curves
// tabulated by single year, and the frailty cut points.
type model struct {
	alpha    [nCond]float64
	curve    [nCond][maxAge + 1]float64
	frailCut [3]float64 // mild, moderate, severe thresholds on the frailty score
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// depTerm maps a deprivation decile (1 most deprived) to −1..+1, +1 most
// deprived.
func depTerm(decile int) float64 { return (5.5 - float64(decile)) / 4.5 }

func (c *condition) curveAt(age int) float64 {
	x := float64(age) / 10
	i := int(x)
	if i >= 10 {
		return c.Knots[10]
	}
	t := x - float64(i)
	return c.Knots[i]*(1-t) + c.Knots[i+1]*t
}

// calibrate finds each condition's alpha so that the expected prevalence
// over England's age/sex structure (single years), a uniform deprivation
// distribution (the directory makes deciles uniform across the population)
// and z ~ N(0,1) (Gauss–Hermite) equals its target. It is a bracketed
// Newton iteration: Newton steps where they stay inside the bracket, a
// bisection step where they would not, so it always converges.
func calibrate(w *[2][maxAge + 1]float64) model {
	var m model
	type cell struct{ x, w float64 }
	cells := make([]cell, 0, 2*(maxAge+1)*10*len(ghNodes))
	for ci := range conditionTable {
		c := &conditionTable[ci]
		for a := 0; a <= maxAge; a++ {
			m.curve[ci][a] = c.curveAt(a)
		}
		cells = cells[:0]
		var total float64
		for s := range 2 {
			male := 0.0
			if s == 0 {
				male = c.Male
			}
			for a := c.MinAge; a <= maxAge; a++ {
				for d := 1; d <= 10; d++ {
					for k, z := range ghNodes {
						wt := w[s][a] * ghWeights[k] / 10
						cells = append(cells, cell{m.curve[ci][a] + male + c.Dep*depTerm(d) + c.Z*z, wt})
						total += wt
					}
				}
			}
		}
		lo, hi, a := -40.0, 20.0, 0.0
		for range 100 {
			var f, df float64
			for _, cl := range cells {
				p := logistic(a + cl.x)
				f += cl.w * p
				df += cl.w * p * (1 - p)
			}
			f = f/total - c.Target
			df /= total
			if math.Abs(f) < 1e-9*c.Target {
				break
			}
			if f > 0 {
				hi = a
			} else {
				lo = a
			}
			next := a - f/df
			if df == 0 || next <= lo || next >= hi {
				next = (lo + hi) / 2
			}
			a = next
		}
		m.alpha[ci] = a
	}
	m.frailCut = frailtyCuts(w)
	return m
}

// frailtyCuts finds the thresholds on the frailty score that leave 50%,
// 15% and 3% of people 65+ above them.
func frailtyCuts(w *[2][maxAge + 1]float64) [3]float64 {
	above := func(t float64) float64 {
		var num, den float64
		for s := range 2 {
			for a := 65; a <= maxAge; a++ {
				for k, z := range ghNodes {
					mu := frailZ*z + frailAge*float64(a-76)
					wt := w[s][a] * ghWeights[k]
					num += wt * 0.5 * math.Erfc((t-mu)/(frailNoise*math.Sqrt2))
					den += wt
				}
			}
		}
		return num / den
	}
	var cuts [3]float64
	for i, share := range [3]float64{0.50, 0.15, 0.03} {
		lo, hi := -10.0, 10.0
		for range 60 {
			mid := (lo + hi) / 2
			if above(mid) > share {
				lo = mid
			} else {
				hi = mid
			}
		}
		cuts[i] = (lo + hi) / 2
	}
	return cuts
}
