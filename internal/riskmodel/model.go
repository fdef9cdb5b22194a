package riskmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Kinds of model.
const (
	KindLogistic = "logistic"
	KindGBT      = "gbt"
)

// Format is the version of the saved model's JSON layout.
const Format = "wholecare-riskmodel/1"

// TrainSpec is everything that decides a trained model besides the data.
type TrainSpec struct {
	TrainCutoff time.Time    `json:"train_cutoff"` // T0: features before it, labels in the year after
	ValidCutoff time.Time    `json:"valid_cutoff"` // T1 = T0 + 1 year
	Logistic    LogisticSpec `json:"logistic"`
	GBT         GBTSpec      `json:"gbt"`
}

// Model is a trained, saved model. Version identifies it: a hash of the
// parameters, the feature list and the training spec, so that two scores
// with the same version came from the same model.
type Model struct {
	Format   string    `json:"format"`
	Version  string    `json:"version"`
	Kind     string    `json:"kind"`
	Features []string  `json:"features"`
	Spec     TrainSpec `json:"spec"`
	// Validation is how the model did on the validation cut-off;
	// TrainRows and ValidRows are the people at each cut-off.
	Validation Metrics   `json:"validation"`
	TrainRows  int       `json:"train_rows"`
	ValidRows  int       `json:"valid_rows"`
	Logistic   *Logistic `json:"logistic,omitempty"`
	GBT        *GBT      `json:"gbt,omitempty"`
	describe   func(j int, v float64) string
}

// version hashes what decides the model's predictions.
func (m *Model) version() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, v := range []any{Format, m.Kind, m.Features, m.Spec, m.Logistic, m.GBT} {
		if err := enc.Encode(v); err != nil {
			panic(err) // plain data: cannot fail
		}
	}
	return "rm-" + m.Kind + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Logit is the model's log-odds for row x.
func (m *Model) Logit(x []float32) float64 {
	if m.Kind == KindGBT {
		return m.GBT.Logit(x)
	}
	return m.Logistic.Logit(x)
}

// Risk is the model's probability for row x.
func (m *Model) Risk(x []float32) float64 { return sigmoid(m.Logit(x)) }

// Predict scores every row of d.
func (m *Model) Predict(d *Dataset) []float64 {
	out := make([]float64, d.Len())
	parallel(d.Len(), func(lo, hi int) []float64 {
		for i := lo; i < hi; i++ {
			out[i] = m.Risk(d.Row(i))
		}
		return nil
	})
	return out
}

// Factor is one feature's part in a person's score.
type Factor struct {
	Feature string `json:"feature"`
	// Words says what the person's value is, in plain words.
	Words string `json:"words"`
	// LogOdds is what the feature adds to the log-odds against the
	// baseline (the training mean for the logistic regression; the
	// trees' root values for the tree model).
	LogOdds float64 `json:"log_odds"`
}

// Explain returns the k factors that raise x's risk most, largest first.
// Factors that lower the risk are left out: the question a care team asks
// is why this person is on the list.
func (m *Model) Explain(x []float32, k int) []Factor {
	c := make([]float64, len(x))
	if m.Kind == KindGBT {
		m.GBT.contributions(x, c)
	} else {
		m.Logistic.contributions(x, c)
	}
	idx := make([]int, len(c))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case c[a] > c[b]:
			return -1
		case c[a] < c[b]:
			return 1
		}
		return 0
	})
	var out []Factor
	for _, j := range idx {
		if len(out) == k || c[j] <= 1e-6 {
			break
		}
		words := m.Features[j]
		if m.describe != nil {
			words = m.describe(j, float64(x[j]))
		}
		out = append(out, Factor{Feature: m.Features[j], Words: words, LogOdds: c[j]})
	}
	return out
}

// Save writes the model as indented JSON.
func (m *Model) Save(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(m)
}

// Load reads a saved model and checks it against the features b builds:
// a model trained on other features cannot score these rows.
func Load(r io.Reader, b *Builder) (*Model, error) {
	var m Model
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: reading the model: %v", err)
	}
	if m.Format != Format {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: model format %q: this build reads %q", m.Format, Format)
	}
	if names := b.Names(); !slices.Equal(m.Features, names) {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: the model was trained on %d other features (%v…); retrain it with this build", len(m.Features), m.Features[:min(3, len(m.Features))])
	}
	switch {
	case m.Kind == KindLogistic && m.Logistic != nil && m.GBT == nil:
		if err := m.Logistic.valid(len(m.Features)); err != nil {
			return nil, err
		}
	case m.Kind == KindGBT && m.GBT != nil && m.Logistic == nil:
		if err := m.GBT.valid(len(m.Features)); err != nil {
			return nil, err
		}
	default:
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: model kind %q without its parameters", m.Kind)
	}
	if v := m.version(); v != m.Version {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: the model's version %q does not match its parameters (%s): the file was changed", m.Version, v)
	}
	m.describe = b.describe
	return &m, nil
}

// Candidate is one model trained and measured.
type Candidate struct {
	Model *Model
	Fit   time.Duration // time to fit
	Train Metrics       // on the training cut-off (in sample)
}

// Result is the outcome of Train: both candidates and the chosen one.
type Result struct {
	Logistic, GBT Candidate
	Chosen        *Model
}

// Train fits both models on train (features at T0, labels from the year
// after), measures them on valid (features at T1, labels from the year
// after) and chooses the one with the higher validation AUROC. now times
// the fits; pass time.Now.
func Train(ctx context.Context, b *Builder, train, valid *Dataset, spec TrainSpec, now func() time.Time) (*Result, error) {
	if err := valid.check("validation"); err != nil {
		return nil, err
	}
	if train.P != b.Width() || valid.P != b.Width() {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: feature matrices of %d and %d columns, want %d", train.P, valid.P, b.Width())
	}
	if !spec.ValidCutoff.After(spec.TrainCutoff) {
		return nil, apperr.E(apperr.Invalid, "riskmodel: the validation cut-off must come after the training cut-off")
	}
	res := &Result{}
	for _, kind := range []string{KindLogistic, KindGBT} {
		m := &Model{Format: Format, Kind: kind, Features: b.Names(), Spec: spec, TrainRows: train.Len(), ValidRows: valid.Len(), describe: b.describe}
		start := now()
		var err error
		if kind == KindLogistic {
			m.Logistic, err = FitLogistic(ctx, train, spec.Logistic)
		} else {
			m.GBT, err = FitGBT(ctx, train, spec.GBT)
		}
		if err != nil {
			return nil, fmt.Errorf("fitting the %s model: %w", kind, err)
		}
		took := now().Sub(start)
		m.Version = m.version()
		if m.Validation, err = Evaluate(m.Predict(valid), valid.Y); err != nil {
			return nil, err
		}
		tm, err := Evaluate(m.Predict(train), train.Y)
		if err != nil {
			return nil, err
		}
		c := Candidate{Model: m, Fit: took, Train: tm}
		if kind == KindLogistic {
			res.Logistic = c
		} else {
			res.GBT = c
		}
	}
	res.Chosen = res.Logistic.Model
	if res.GBT.Model.Validation.AUROC > res.Logistic.Model.Validation.AUROC || math.IsNaN(res.Logistic.Model.Validation.AUROC) {
		res.Chosen = res.GBT.Model
	}
	return res, nil
}
