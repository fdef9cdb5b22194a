package riskmodel

import (
	"context"
	"math"
	"runtime"
	"sync"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Logistic is an L2-regularised logistic regression on standardised
// features: logit p = Intercept + Σ Coef[j]·(x[j] − Mean[j]) / Scale[j].
// The intercept is not penalised.
type Logistic struct {
	Mean      []float64 `json:"mean"`
	Scale     []float64 `json:"scale"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

// LogisticSpec is how a logistic regression is fitted.
type LogisticSpec struct {
	// Lambda is the L2 penalty on the sum of log-losses, λ/2·‖w‖²; 1 is
	// scikit-learn's default C = 1.
	Lambda float64 `json:"lambda"`
	// MaxIter bounds the Newton iterations (each one pass for the Hessian
	// and a few for the line search).
	MaxIter int `json:"max_iter"`
}

// DefaultLogisticSpec is what `wholecare risk train` uses.
var DefaultLogisticSpec = LogisticSpec{Lambda: 1, MaxIter: 50}

// FitLogistic fits the model by Newton's method with a backtracking line
// search. The penalised log-likelihood is strictly concave, so the
// iterations converge to its one maximum even on separable data, where the
// unpenalised fit would run off to infinity. With a few dozen features the
// (p+1)² Hessian is tiny; building it is one pass over the rows, split
// between the cores.
func FitLogistic(ctx context.Context, d *Dataset, spec LogisticSpec) (*Logistic, error) {
	if err := d.check("training"); err != nil {
		return nil, err
	}
	if spec.Lambda < 0 || math.IsNaN(spec.Lambda) {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: L2 penalty %g: want zero or more", spec.Lambda)
	}
	if spec.MaxIter <= 0 {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: %d Newton iterations: want at least one", spec.MaxIter)
	}
	p, n := d.P, d.Len()
	m := &Logistic{Mean: make([]float64, p), Scale: make([]float64, p), Coef: make([]float64, p)}
	for i := range n {
		for j, v := range d.Row(i) {
			m.Mean[j] += float64(v)
		}
	}
	for j := range m.Mean {
		m.Mean[j] /= float64(n)
	}
	for i := range n {
		for j, v := range d.Row(i) {
			dv := float64(v) - m.Mean[j]
			m.Scale[j] += dv * dv
		}
	}
	for j := range m.Scale {
		m.Scale[j] = math.Sqrt(m.Scale[j] / float64(n))
		if m.Scale[j] < 1e-12 {
			// A constant column: its standardised value is always 0, so
			// its coefficient stays 0 under the penalty.
			m.Scale[j] = 1
		}
	}
	pos := float64(d.Positives())
	m.Intercept = math.Log(pos / (float64(n) - pos))

	k := p + 1 // θ = (intercept, coef…)
	theta := make([]float64, k)
	theta[0] = m.Intercept
	trial := make([]float64, k)
	grad := make([]float64, k)
	hess := make([]float64, k*k)
	step := make([]float64, k)
	f := m.objective(d, theta, spec.Lambda)
	for range spec.MaxIter {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.gradHess(d, theta, spec.Lambda, grad, hess)
		copy(step, grad)
		if err := cholSolve(hess, step, k); err != nil {
			return nil, err
		}
		dec := dot(grad, step) // the Newton decrement squared
		if dec/2 <= 1e-10*math.Max(1, math.Abs(f)) {
			// Close enough for the quadratic model to be exact: one full
			// step lands on the optimum to rounding.
			for i := range theta {
				theta[i] -= step[i]
			}
			break
		}
		t := 1.0
		for {
			for i := range theta {
				trial[i] = theta[i] - t*step[i]
			}
			ft := m.objective(d, trial, spec.Lambda)
			if ft <= f-1e-4*t*dec || t < 1e-10 {
				f = ft
				copy(theta, trial)
				break
			}
			t /= 2
		}
	}
	m.Intercept = theta[0]
	copy(m.Coef, theta[1:])
	return m, nil
}

// standardise writes (1, z…) for row x into z.
func (m *Logistic) standardise(x []float32, z []float64) {
	z[0] = 1
	for j, v := range x {
		z[j+1] = (float64(v) - m.Mean[j]) / m.Scale[j]
	}
}

// objective is the penalised negative log-likelihood at θ.
func (m *Logistic) objective(d *Dataset, theta []float64, lambda float64) float64 {
	parts := parallel(d.Len(), func(lo, hi int) []float64 {
		z := make([]float64, len(theta))
		s := 0.0
		for i := lo; i < hi; i++ {
			m.standardise(d.Row(i), z)
			eta := dot(theta, z)
			s += log1pExp(eta)
			if d.Y[i] {
				s -= eta
			}
		}
		return []float64{s}
	})
	s := 0.0
	for _, p := range parts {
		s += p[0]
	}
	for _, w := range theta[1:] {
		s += lambda / 2 * w * w
	}
	return s
}

// gradHess writes the gradient and Hessian of the objective at θ.
func (m *Logistic) gradHess(d *Dataset, theta []float64, lambda float64, grad, hess []float64) {
	k := len(theta)
	parts := parallel(d.Len(), func(lo, hi int) []float64 {
		out := make([]float64, k+k*k)
		g, h := out[:k], out[k:]
		z := make([]float64, k)
		for i := lo; i < hi; i++ {
			m.standardise(d.Row(i), z)
			pr := sigmoid(dot(theta, z))
			r := pr
			if d.Y[i] {
				r--
			}
			w := pr * (1 - pr)
			for a := range k {
				g[a] += r * z[a]
				wa := w * z[a]
				row := h[a*k : a*k+k]
				for b := a; b < k; b++ {
					row[b] += wa * z[b]
				}
			}
		}
		return out
	})
	clear(grad)
	clear(hess)
	for _, p := range parts {
		for i := range grad {
			grad[i] += p[i]
		}
		for i := range hess {
			hess[i] += p[k+i]
		}
	}
	for a := range k {
		for b := 0; b < a; b++ {
			hess[a*k+b] = hess[b*k+a]
		}
	}
	for a := 1; a < k; a++ {
		grad[a] += lambda * theta[a]
		hess[a*k+a] += lambda
	}
	// A hair on the diagonal keeps the factorisation defined when λ = 0
	// and a column is constant.
	for a := range k {
		hess[a*k+a] += 1e-9
	}
}

// Logit is the model's log-odds for row x.
func (m *Logistic) Logit(x []float32) float64 {
	s := m.Intercept
	for j, v := range x {
		s += m.Coef[j] * (float64(v) - m.Mean[j]) / m.Scale[j]
	}
	return s
}

// contributions writes each feature's share of the log-odds (coefficient ×
// standardised value) into out and returns the intercept: their sum is
// Logit(x).
func (m *Logistic) contributions(x []float32, out []float64) float64 {
	for j, v := range x {
		out[j] = m.Coef[j] * (float64(v) - m.Mean[j]) / m.Scale[j]
	}
	return m.Intercept
}

// RawCoef returns the coefficients on the original feature scales and the
// matching intercept, for comparison with a model fitted without
// standardisation.
func (m *Logistic) RawCoef() (coef []float64, intercept float64) {
	coef = make([]float64, len(m.Coef))
	intercept = m.Intercept
	for j := range coef {
		coef[j] = m.Coef[j] / m.Scale[j]
		intercept -= coef[j] * m.Mean[j]
	}
	return coef, intercept
}

func (m *Logistic) valid(p int) error {
	if len(m.Mean) != p || len(m.Scale) != p || len(m.Coef) != p {
		return apperr.Ef(apperr.Invalid, "riskmodel: logistic model has %d/%d/%d parameters for %d features", len(m.Mean), len(m.Scale), len(m.Coef), p)
	}
	for j := range p {
		if !(m.Scale[j] > 0) || math.IsNaN(m.Mean[j]) || math.IsNaN(m.Coef[j]) {
			return apperr.Ef(apperr.Invalid, "riskmodel: logistic model parameter %d is not usable", j)
		}
	}
	return nil
}

// cholSolve solves A x = b in place (b becomes x) for a symmetric positive
// definite k×k matrix A, which it overwrites with its Cholesky factor.
func cholSolve(a, b []float64, k int) error {
	for j := range k {
		s := a[j*k+j]
		for l := range j {
			s -= a[j*k+l] * a[j*k+l]
		}
		if !(s > 0) {
			return apperr.E(apperr.Internal, "riskmodel: the Hessian is not positive definite")
		}
		a[j*k+j] = math.Sqrt(s)
		for i := j + 1; i < k; i++ {
			s := a[i*k+j]
			for l := range j {
				s -= a[i*k+l] * a[j*k+l]
			}
			a[i*k+j] = s / a[j*k+j]
		}
	}
	for i := range k { // L y = b
		s := b[i]
		for l := range i {
			s -= a[i*k+l] * b[l]
		}
		b[i] = s / a[i*k+i]
	}
	for i := k - 1; i >= 0; i-- { // Lᵀ x = y
		s := b[i]
		for l := i + 1; l < k; l++ {
			s -= a[l*k+i] * b[l]
		}
		b[i] = s / a[i*k+i]
	}
	return nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// parallel splits [0, n) into one contiguous range per core, runs f on
// each and returns their results in range order, so that sums come out
// the same on every run with the same core count.
func parallel(n int, f func(lo, hi int) []float64) [][]float64 {
	w := max(1, min(runtime.GOMAXPROCS(0), n/4096))
	out := make([][]float64, w)
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Go(func() { out[i] = f(lo, hi) })
	}
	wg.Wait()
	return out
}
