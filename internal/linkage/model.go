package linkage

import (
	"math"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Model is a fitted Fellegi–Sunter model: what each level of each field
// says about a match, and the thresholds that turn a score into an
// outcome. It holds no person data.
type Model struct {
	// Lambda is the estimated proportion of matches among the candidate
	// pairs: the prior of every pair's posterior probability.
	Lambda            float64
	LinkProbability   float64
	ReviewProbability float64
	Fields            []FieldModel
	// TrainingPairs is the number of candidate pairs EM saw (a sample
	// when there are more than Config.TrainPairs).
	TrainingPairs int64
	// RandomPairs is the number of random pairs that seeded u.
	RandomPairs int
	// CandidatesPerRecord is how many candidates a record of the
	// training data met on average (in a link, a record of the second
	// list): an Index rescales the prior by it (see Index.Calibrate).
	CandidatesPerRecord float64
	Iterations          int
	Converged           bool
}

// FieldModel is one field's comparison.
type FieldModel struct {
	Name string
	// Used is false when the field was missing in every candidate pair:
	// it then contributes nothing.
	Used   bool
	Levels []LevelModel // without null
}

// LevelModel is what one level of agreement says.
type LevelModel struct {
	Name   string
	M, U   float64
	Weight float64 // log2(M/U) in bits
}

// LinkWeight is the total weight at which a pair reaches the link
// probability; ReviewWeight the same for review.
func (m *Model) LinkWeight() float64   { return m.weightAt(m.LinkProbability) }
func (m *Model) ReviewWeight() float64 { return m.weightAt(m.ReviewProbability) }

func (m *Model) weightAt(p float64) float64 {
	return math.Log2(p/(1-p)) - math.Log2(m.Lambda/(1-m.Lambda))
}

// termFreq is how often each value of a field occurs, for adjusting the
// weight of an exact agreement: agreeing on "white" says less than on
// "tullaroop". It can be kept current as values come and go (an Index).
type termFreq struct {
	count map[string]int32
	total float64
	// s2 and s3 are the sums of the squares and cubes of the counts: the
	// frequency of the value a random agreeing pair shares is, on
	// average, Σp³/Σp² = s3/(s2·total), and a value that common keeps
	// the level's fitted weight.
	s2, s3 float64
}

func newTermFreq(n int, value func(i int) string) termFreq {
	t := termFreq{count: map[string]int32{}}
	for i := range n {
		t.add(value(i), 1)
	}
	return t
}

// add counts delta (1 or -1) more records with value v.
func (t *termFreq) add(v string, delta int32) {
	if v == "" {
		return
	}
	c := float64(t.count[v])
	n := c + float64(delta)
	t.s2 += n*n - c*c
	t.s3 += n*n*n - c*c*c
	t.total += float64(delta)
	if n <= 0 {
		delete(t.count, v)
		return
	}
	t.count[v] = int32(n)
}

// adjustment is the change in bits to an exact agreement on v, bounded so
// that neither a unique value nor a very common one dominates a pair.
func (t *termFreq) adjustment(v string) float64 {
	c := t.count[v]
	if c == 0 || t.s3 == 0 {
		return 0
	}
	// (c/total) / (s3/(s2·total))
	ratio := float64(c) * t.s2 / t.s3
	return -math.Log2(clamp(ratio, 1.0/16, 16))
}

// scorer turns comparison vectors into weights and outcomes.
type scorer struct {
	weight    [numFields][maxLevels]float64
	priorBits float64
	linkP     float64
	reviewP   float64
	tf        [numFields]*termFreq // nil: no adjustment for the field
	linkTwins bool
	used      [numFields]bool // the model has something to say about the field
}

func newScorer(p params, linkP, reviewP float64) scorer {
	s := scorer{linkP: linkP, reviewP: reviewP, used: p.used}
	for f := range numFields {
		if !p.used[f] {
			continue
		}
		for l := 1; l < len(levelNames[f]); l++ {
			s.weight[f][l] = math.Log2(p.m[f][l] / p.u[f][l])
		}
		// Disagreeing is never evidence for a match. Among candidates it
		// can look like it: the non-matches there mostly share an address
		// (a household, a postcode block), so a pair that does not was
		// more often found by its names; but that the names already say.
		last := len(levelNames[f]) - 1
		s.weight[f][last] = min(0, s.weight[f][last])
	}
	s.priorBits = math.Log2(p.lambda / (1 - p.lambda))
	return s
}

// tfValue is the value whose frequency adjusts an exact agreement on f.
func (c *corpus) tfValue(f field, i int) string { return c.tfValueOf(f, &c.recs[i]) }

func (c *corpus) tfValueOf(f field, r *prepared) string {
	switch f {
	case fGiven:
		return c.name(r.given).key
	case fFamily:
		return c.name(r.family).key
	case fPostcode:
		return r.postcode
	}
	return ""
}

// fieldWeight is the weight of field f at level l for a pair whose first
// record is i (on an exact agreement, the value both share).
func (s *scorer) fieldWeight(c *corpus, f field, l uint8, i int) float64 {
	return s.fieldWeightOf(c, f, l, &c.recs[i])
}

// fieldWeightOf is fieldWeight for a pair one of whose records is r.
func (s *scorer) fieldWeightOf(c *corpus, f field, l uint8, r *prepared) float64 {
	w := s.weight[f][l]
	if s.tf[f] != nil && l == 1 {
		w += s.tf[f].adjustment(c.tfValueOf(f, r))
	}
	return w
}

// score fills in a pair's weight, probability and outcome; i is its first
// record.
func (s *scorer) score(c *corpus, p *Pair, i int) {
	w := 0.0
	for f, l := range p.levels {
		if l != null {
			w += s.fieldWeight(c, field(f), l, i)
		}
	}
	p.Weight = w
	p.Probability = 1 / (1 + math.Exp2(-(w + s.priorBits)))
	switch {
	case p.levels[fNHS] == nhsSame:
		// A valid NHS number agreeing is the person: it links whatever
		// the names say (they may have changed).
		p.Outcome = Link
	case p.Probability >= s.linkP:
		p.Outcome = Link
	case p.Probability >= s.reviewP:
		p.Outcome = Review
	default:
		p.Outcome = NoLink
	}
	if p.Outcome == Link {
		p.Caution = caution(p.levels, s.linkTwins)
		if p.Caution != "" {
			p.Outcome = Review
		}
	}
}

// Cautions: a pair the model would link that a person must look at,
// because the independence model cannot see what it is.
const (
	CautionNHSNumbers = "different valid NHS numbers"
	CautionTwins      = "possible twins: different given names, same family name and date of birth"
)

// caution says why a pair the model would link must be reviewed instead:
// two valid NHS numbers that differ are two people unless a person finds
// a duplicate registration; and people who share a family name, a date of
// birth and usually an address but not a given name are twins far more
// often than one person recorded twice.
func caution(lv levels, linkTwins bool) string {
	switch {
	case lv[fNHS] == nhsSame:
		// The same valid NHS number: not twins, one person.
	case lv[fNHS] == nhsOther:
		return CautionNHSNumbers
	case !linkTwins && lv[fGiven] == givenOther && lv[fFamily] == familyExact && lv[fBirth] == birthExact:
		return CautionTwins
	}
	return ""
}

func (s *scorer) model(p params, res emResult) *Model {
	m := &Model{
		Lambda:            p.lambda,
		LinkProbability:   s.linkP,
		ReviewProbability: s.reviewP,
		Iterations:        res.iterations,
		Converged:         res.converged,
	}
	for f := range numFields {
		fm := FieldModel{Name: fieldNames[f], Used: p.used[f]}
		for l := 1; l < len(levelNames[f]); l++ {
			fm.Levels = append(fm.Levels, LevelModel{Name: levelNames[f][l], M: p.m[f][l], U: p.u[f][l], Weight: s.weight[f][l]})
		}
		m.Fields = append(m.Fields, fm)
	}
	return m
}

// params turns a model back into parameters to score with, refusing one
// whose fields or levels are not this version's (a model stored by an
// older Wholecare, say).
func (m *Model) params() (params, error) {
	var p params
	if !(m.Lambda > 0 && m.Lambda < 1) {
		return p, apperr.E(apperr.Invalid, "linkage: model lambda must be between 0 and 1")
	}
	if len(m.Fields) != int(numFields) {
		return p, apperr.Ef(apperr.Invalid, "linkage: model has %d fields, want %d", len(m.Fields), numFields)
	}
	p.lambda = m.Lambda
	for f, fm := range m.Fields {
		if fm.Name != fieldNames[f] || len(fm.Levels) != len(levelNames[f])-1 {
			return p, apperr.Ef(apperr.Invalid, "linkage: model field %d is %q with %d levels, want %q with %d", f, fm.Name, len(fm.Levels), fieldNames[f], len(levelNames[f])-1)
		}
		p.used[f] = fm.Used
		for l, lm := range fm.Levels {
			if lm.Name != levelNames[f][l+1] {
				return p, apperr.Ef(apperr.Invalid, "linkage: model level %s/%s, want %s", fm.Name, lm.Name, levelNames[f][l+1])
			}
			if fm.Used && !(lm.M > 0 && lm.M <= 1 && lm.U > 0 && lm.U <= 1) {
				return p, apperr.Ef(apperr.Invalid, "linkage: model %s/%s: m and u must be in (0, 1]", fm.Name, lm.Name)
			}
			p.m[f][l+1], p.u[f][l+1] = lm.M, lm.U
		}
	}
	return p, nil
}
