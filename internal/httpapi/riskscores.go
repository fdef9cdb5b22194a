package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/riskmodel"
)

// ScoreStore reads stored risk scores; sqlstore.DB implements it.
type ScoreStore interface {
	RiskScoreHistory(ctx context.Context, person int64) ([]riskmodel.Score, error)
}

type riskScoreView struct {
	ModelVersion string   `json:"model_version"`
	ModelKind    string   `json:"model_kind"`
	Risk         float64  `json:"risk"`
	RiskBand     uint8    `json:"risk_band"`
	AsOf         string   `json:"as_of"`
	ComputedAt   string   `json:"computed_at"`
	Factors      []string `json:"factors"`
}

func scoreView(s riskmodel.Score) riskScoreView {
	v := riskScoreView{ModelVersion: s.ModelVersion, ModelKind: s.ModelKind, Risk: s.Probability, RiskBand: s.Band,
		AsOf: s.AsOf.Format(time.DateOnly), ComputedAt: s.ComputedAt.UTC().Format(time.RFC3339), Factors: []string{}}
	for _, f := range s.Factors {
		v.Factors = append(v.Factors, f.Words)
	}
	return v
}

// handleRiskScores gives a person's stored emergency admission risk
// scores: the latest (newest as-of day) and the whole history, newest
// first, each with the model version that made it.
func (s *Server) handleRiskScores() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: id, Type: "RiskAssessment"}); err != nil {
			return err
		}
		hist, err := s.deps.Scores.RiskScoreHistory(r.Context(), id)
		if err != nil {
			return err
		}
		out := map[string]any{"person_id": id, "history": []riskScoreView{}}
		if len(hist) > 0 {
			vs := make([]riskScoreView, len(hist))
			for i, h := range hist {
				vs[i] = scoreView(h)
			}
			out["latest"], out["history"] = vs[0], vs
		}
		return encode(w, http.StatusOK, out)
	}
}
