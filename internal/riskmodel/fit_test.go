package riskmodel

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// logisticData draws n rows of (x1 ~ N(0,1), x2 ~ N(0,4), x3 ~ Bernoulli(0.3))
// with y ~ Bernoulli(σ(b + w·x)).
func logisticData(n int, seed uint64, b float64, w [3]float64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &Dataset{P: 3}
	for i := range n {
		x := []float32{float32(r.NormFloat64()), float32(2 * r.NormFloat64()), 0}
		if r.Float64() < 0.3 {
			x[2] = 1
		}
		z := b
		for j := range 3 {
			z += w[j] * float64(x[j])
		}
		d.Add(int64(i), x, r.Float64() < sigmoid(z))
	}
	return d
}

func TestLogisticRecoversKnownCoefficients(t *testing.T) {
	want := [3]float64{1, -0.75, 0.5}
	d := logisticData(40000, 7, -0.5, want)
	m, err := FitLogistic(t.Context(), d, LogisticSpec{Lambda: 1e-6, MaxIter: 50})
	if err != nil {
		t.Fatal(err)
	}
	coef, b := m.RawCoef()
	// Standard errors at n = 40 000 are about 0.015–0.03.
	for j := range want {
		if !near(coef[j], want[j], 0.08) {
			t.Errorf("coef[%d] = %.3f, want %.3f", j, coef[j], want[j])
		}
	}
	if !near(b, -0.5, 0.08) {
		t.Errorf("intercept = %.3f, want -0.5", b)
	}
}

func TestLogisticSolvesItsOwnOptimum(t *testing.T) {
	// At the optimum the penalised gradient is zero; check it directly
	// rather than trusting the stopping rule.
	d := logisticData(5000, 3, 0.2, [3]float64{0.5, 0.3, -1})
	spec := LogisticSpec{Lambda: 10, MaxIter: 50}
	m, err := FitLogistic(t.Context(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	theta := append([]float64{m.Intercept}, m.Coef...)
	grad := make([]float64, 4)
	m.gradHess(d, theta, spec.Lambda, grad, make([]float64, 16))
	for j, g := range grad {
		if math.Abs(g) > 1e-6 {
			t.Errorf("gradient[%d] = %g at the fitted optimum", j, g)
		}
	}
}

func TestLogisticSeparableStaysFinite(t *testing.T) {
	d := &Dataset{P: 1}
	for i := range 200 {
		x := float32(i-100) + 0.5
		d.Add(int64(i), []float32{x}, x > 0)
	}
	m, err := FitLogistic(t.Context(), d, DefaultLogisticSpec)
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(m.Coef[0]) || math.IsInf(m.Coef[0], 0) || m.Coef[0] <= 0 {
		t.Fatalf("coefficient %v on separable data: want finite and positive", m.Coef[0])
	}
	p := make([]float64, d.Len())
	for i := range p {
		p[i] = sigmoid(m.Logit(d.Row(i)))
	}
	if got := AUROC(p, d.Y); got != 1 {
		t.Errorf("AUROC %v on separable data, want 1", got)
	}
}

// xorData: y = (x1 > 0) xor (x2 > 0), flipped for 10 % of rows, plus a
// noise feature.
func xorData(n int, seed uint64) *Dataset {
	r := rand.New(rand.NewPCG(seed, 2))
	d := &Dataset{P: 3}
	for i := range n {
		x := []float32{float32(2*r.Float64() - 1), float32(2*r.Float64() - 1), float32(r.NormFloat64())}
		y := (x[0] > 0) != (x[1] > 0)
		if r.Float64() < 0.1 {
			y = !y
		}
		d.Add(int64(i), x, y)
	}
	return d
}

func TestTreesBeatLogisticOnXOR(t *testing.T) {
	train, test := xorData(8000, 1), xorData(4000, 2)
	lr, err := FitLogistic(t.Context(), train, DefaultLogisticSpec)
	if err != nil {
		t.Fatal(err)
	}
	gbt, err := FitGBT(t.Context(), train, DefaultGBTSpec)
	if err != nil {
		t.Fatal(err)
	}
	score := func(logit func([]float32) float64) float64 {
		p := make([]float64, test.Len())
		for i := range p {
			p[i] = sigmoid(logit(test.Row(i)))
		}
		return AUROC(p, test.Y)
	}
	aLR, aGBT := score(lr.Logit), score(gbt.Logit)
	// The best possible AUROC with 10 % flips is 0.9.
	if aLR > 0.6 || aGBT < 0.85 {
		t.Errorf("AUROC logistic %.3f (want ≤ 0.6), trees %.3f (want ≥ 0.85)", aLR, aGBT)
	}
	if n := len(gbt.Trees); n >= DefaultGBTSpec.MaxIter {
		t.Errorf("%d trees: early stopping never stopped", n)
	}
}

func TestAttributionsAddUpToTheLogit(t *testing.T) {
	d := xorData(3000, 5)
	lr, err := FitLogistic(t.Context(), d, DefaultLogisticSpec)
	if err != nil {
		t.Fatal(err)
	}
	spec := DefaultGBTSpec
	spec.MaxIter = 30
	gbt, err := FitGBT(t.Context(), d, spec)
	if err != nil {
		t.Fatal(err)
	}
	c := make([]float64, d.P)
	for i := range 50 {
		x := d.Row(i)
		for name, m := range map[string]interface {
			Logit([]float32) float64
			contributions([]float32, []float64) float64
		}{"logistic": lr, "gbt": gbt} {
			s := m.contributions(x, c)
			for _, v := range c {
				s += v
			}
			if !near(s, m.Logit(x), 1e-9) {
				t.Fatalf("%s row %d: bias + contributions = %v, logit %v", name, i, s, m.Logit(x))
			}
		}
	}
	// The noise feature should get little of the trees' credit.
	var credit [3]float64
	for i := range d.Len() {
		gbt.contributions(d.Row(i), c)
		for j := range c {
			credit[j] += math.Abs(c[j])
		}
	}
	if credit[2] > 0.25*(credit[0]+credit[1]) {
		t.Errorf("noise feature credited %.0f against %.0f and %.0f", credit[2], credit[0], credit[1])
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	one := &Dataset{P: 1}
	one.Add(1, []float32{1}, true)
	one.Add(2, []float32{2}, true)
	if _, err := FitLogistic(t.Context(), one, DefaultLogisticSpec); err == nil || !strings.Contains(err.Error(), "one class") {
		t.Errorf("one class: %v", err)
	}
	nan := &Dataset{P: 1}
	nan.Add(1, []float32{float32(math.NaN())}, true)
	nan.Add(2, []float32{2}, false)
	if _, err := FitGBT(t.Context(), nan, DefaultGBTSpec); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN: %v", err)
	}
	bad := DefaultGBTSpec
	bad.MaxBins = 300
	if _, err := FitGBT(t.Context(), xorData(100, 1), bad); err == nil {
		t.Error("300 bins: no error")
	}
}

func mustBuilder(t *testing.T) *Builder {
	t.Helper()
	b, err := NewBuilder(testCodes(t), testScorer(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrainChoosesAndSaveLoadRoundTrips(t *testing.T) {
	b := mustBuilder(t)
	// Rows of the builder's width: the first two columns carry an XOR
	// signal, the rest are noise, so the trees must win.
	mk := func(n int, seed uint64) *Dataset {
		x := xorData(n, seed)
		r := rand.New(rand.NewPCG(seed, 9))
		d := &Dataset{P: b.Width()}
		row := make([]float32, b.Width())
		for i := range n {
			for j := range row {
				row[j] = float32(r.IntN(3))
			}
			row[0], row[1] = x.Row(i)[0], x.Row(i)[1]
			d.Add(int64(i), row, x.Y[i])
		}
		return d
	}
	t0 := time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	spec := TrainSpec{TrainCutoff: t0, ValidCutoff: t0.AddDate(1, 0, 0), Logistic: DefaultLogisticSpec, GBT: DefaultGBTSpec}
	spec.GBT.MaxIter = 60
	res, err := Train(t.Context(), b, mk(4000, 1), mk(2000, 2), spec, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chosen.Kind != KindGBT {
		t.Fatalf("chose %s (validation AUROC logistic %.3f, gbt %.3f)", res.Chosen.Kind,
			res.Logistic.Model.Validation.AUROC, res.GBT.Model.Validation.AUROC)
	}
	if res.Logistic.Model.Version == res.GBT.Model.Version || !strings.HasPrefix(res.Chosen.Version, "rm-gbt-") {
		t.Errorf("versions %q and %q", res.Logistic.Model.Version, res.GBT.Model.Version)
	}
	for _, c := range []Candidate{res.Logistic, res.GBT} {
		var buf bytes.Buffer
		if err := c.Model.Save(&buf); err != nil {
			t.Fatal(err)
		}
		saved := buf.String()
		got, err := Load(strings.NewReader(saved), b)
		if err != nil {
			t.Fatalf("%s: %v", c.Model.Kind, err)
		}
		x := mk(20, 3)
		for i := range x.Len() {
			if g, w := got.Risk(x.Row(i)), c.Model.Risk(x.Row(i)); g != w {
				t.Fatalf("%s: loaded model gives %v, trained %v", c.Model.Kind, g, w)
			}
		}
		if f := got.Explain(x.Row(0), 3); len(f) > 0 && f[0].Words == f[0].Feature && f[0].Feature != "age" {
			t.Errorf("explanation without words: %+v", f)
		}
		// A changed parameter no longer matches the version.
		if got.Kind == KindGBT {
			got.GBT.Base++
		} else {
			got.Logistic.Intercept++
		}
		buf.Reset()
		if err := got.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(&buf, b); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("%s tampered: %v", c.Model.Kind, err)
		}
	}
}
