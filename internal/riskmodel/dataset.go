package riskmodel

import (
	"math"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Dataset is a feature matrix with its labels: row i is X[i*P : (i+1)*P].
// float32 halves the memory of a million-person matrix; the models
// accumulate in float64.
type Dataset struct {
	P   int
	X   []float32
	Y   []bool
	IDs []int64 // person IDs, row for row
}

// Len is the number of rows.
func (d *Dataset) Len() int { return len(d.Y) }

// Row returns row i (shared with d).
func (d *Dataset) Row(i int) []float32 { return d.X[i*d.P : (i+1)*d.P : (i+1)*d.P] }

// Add appends one row.
func (d *Dataset) Add(id int64, x []float32, y bool) {
	d.X = append(d.X, x...)
	d.Y = append(d.Y, y)
	d.IDs = append(d.IDs, id)
}

// Positives counts the rows labelled true.
func (d *Dataset) Positives() int {
	n := 0
	for _, y := range d.Y {
		if y {
			n++
		}
	}
	return n
}

// check reports a matrix that cannot be trained on: no rows, a shape that
// does not add up, non-finite values, or a single class.
func (d *Dataset) check(what string) error {
	n := d.Len()
	if d.P <= 0 || n == 0 {
		return apperr.Ef(apperr.Invalid, "riskmodel: the %s set is empty", what)
	}
	if len(d.X) != n*d.P {
		return apperr.Ef(apperr.Invalid, "riskmodel: the %s set has %d values for %d rows of %d features", what, len(d.X), n, d.P)
	}
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return apperr.Ef(apperr.Invalid, "riskmodel: the %s set has a non-finite value in row %d, feature %d", what, i/d.P, i%d.P)
		}
	}
	if pos := d.Positives(); pos == 0 || pos == n {
		return apperr.Ef(apperr.Invalid, "riskmodel: the %s set has only one class (%d of %d rows positive); a model needs both", what, pos, n)
	}
	return nil
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// log1pExp is log(1 + e^z) without overflow.
func log1pExp(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}
