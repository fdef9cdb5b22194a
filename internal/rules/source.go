package rules

import (
	"context"
	"math"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/population"
)

// MaxDaily bounds the people one daily rule reads from one source.
const MaxDaily = 1 << 22

// EngineSource is what daily rules read, from the population engine and
// the care gaps on it, with overdue plans from Plans.
type EngineSource struct {
	Engine func() (*population.Engine, error)
	Gaps   *caregaps.Set
	Plans  func(ctx context.Context, now time.Time) ([]Overdue, error)
}

func (s EngineSource) Members(_ context.Context, cohort string, now time.Time) ([]int64, error) {
	eng, err := s.Engine()
	if err != nil {
		return nil, err
	}
	x, err := eng.Parse(cohort)
	if err != nil {
		return nil, err
	}
	ids, _, err := eng.Members(x, now, MaxDaily)
	return ids, err
}

func (s EngineSource) CareGaps(_ context.Context, now time.Time) ([]Gap, error) {
	eng, err := s.Engine()
	if err != nil {
		return nil, err
	}
	inds, people, err := s.Gaps.Open(eng, now, MaxDaily)
	if err != nil {
		return nil, err
	}
	year := QOFYear(now)
	var out []Gap
	for i, in := range inds {
		for _, id := range people[i] {
			out = append(out, Gap{PersonID: id, Indicator: in.ID, Title: in.Title, Action: in.Action, Year: year})
		}
	}
	return out, nil
}

func (s EngineSource) OverduePlans(ctx context.Context, now time.Time) ([]Overdue, error) {
	if s.Plans == nil {
		return nil, nil
	}
	return s.Plans(ctx, now)
}

// RiskRises lists the people whose risk band is higher now than a month
// ago; none when the engine scores nobody (no risk model).
func (s EngineSource) RiskRises(_ context.Context, now time.Time) ([]Rise, error) {
	eng, err := s.Engine()
	if err != nil {
		return nil, err
	}
	ranked, err := eng.Rank(population.Alive(), now, math.SmallestNonzeroFloat32, MaxDaily)
	if apperr.Is(err, apperr.Unavailable) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Rise
	for _, r := range ranked {
		from, to := population.RiskBandOf(r.Previous), population.RiskBandOf(r.Risk)
		if from != 0 && to > from {
			out = append(out, Rise{PersonID: r.PersonID, From: from, To: to, Risk: float64(r.Risk), Previous: float64(r.Previous)})
		}
	}
	return out, nil
}
