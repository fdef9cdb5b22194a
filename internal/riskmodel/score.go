package riskmodel

import (
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Score is one stored risk score: a person's 12-month emergency admission
// risk as of a day, by one model. Every stored score carries the model's
// version, so that a score can always be traced to the model that made it
// and scores by different models are never mixed up.
type Score struct {
	PersonID     int64
	ModelVersion string
	ModelKind    string
	Probability  float64
	// Band is the risk band, 1 (under 5 %) to 5 (40 % and over), as the
	// population engine bands risks (population.RiskBandOf).
	Band       uint8
	AsOf       time.Time // a UTC midnight: scored from what was recorded before it
	ComputedAt time.Time
	// Factors are what raise the risk most, in plain words, largest first.
	Factors []Factor
}

// MaxVersion bounds a model version's length: it is part of resource ids.
const MaxVersion = 40

// Valid says what is wrong with a score before it is stored.
func (s Score) Valid() error {
	switch {
	case s.PersonID <= 0:
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: not a person id", s.PersonID)
	case !validVersion(s.ModelVersion):
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: model version %q is not 1 to %d letters, digits, '-' or '.'", s.PersonID, s.ModelVersion, MaxVersion)
	case s.ModelKind == "":
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: no model kind", s.PersonID)
	case !(s.Probability >= 0 && s.Probability <= 1):
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: probability %v is not from 0 to 1", s.PersonID, s.Probability)
	case s.Band < 1 || s.Band > 5:
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: band %d is not 1 to 5", s.PersonID, s.Band)
	case s.AsOf.IsZero() || !s.AsOf.Equal(s.AsOf.UTC().Truncate(24*time.Hour)):
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: the as-of day must be a UTC midnight", s.PersonID)
	case s.ComputedAt.IsZero():
		return apperr.Ef(apperr.Invalid, "riskmodel: score of person %d: no time computed", s.PersonID)
	}
	return nil
}

func validVersion(v string) bool {
	if v == "" || len(v) > MaxVersion {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Score scores one person's feature row x as of asOf, with the k factors
// that raise the risk most. band bands the probability (1–5).
func (m *Model) Score(personID int64, x []float32, asOf, now time.Time, k int, band func(p float64) uint8) Score {
	p := m.Risk(x)
	return Score{PersonID: personID, ModelVersion: m.Version, ModelKind: m.Kind, Probability: p, Band: band(p),
		AsOf: asOf, ComputedAt: now, Factors: m.Explain(x, k)}
}
