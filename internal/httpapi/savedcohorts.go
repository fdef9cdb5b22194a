package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/population"
)

// CohortStore keeps saved cohorts; sqlstore.DB implements it.
type CohortStore interface {
	SaveCohort(ctx context.Context, c cohort.Saved) (cohort.Saved, error)
	Cohort(ctx context.Context, id int64) (cohort.Saved, error)
	Cohorts(ctx context.Context, prefix string) ([]cohort.Saved, error)
}

type savedCohortView struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Expression  string `json:"expression"`
	Description string `json:"description,omitempty"`
	CreatedBy   string `json:"created_by"`
	CreatedAt   string `json:"created_at"`
	FHIRGroup   string `json:"fhir_group"`
	// People is the count now, null when suppressed (1 to 4); only on a
	// single cohort.
	People     *int64 `json:"people,omitempty"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

func savedView(c cohort.Saved) savedCohortView {
	return savedCohortView{ID: c.ID, Name: c.Name, Expression: c.Expression, Description: c.Description,
		CreatedBy: c.CreatedName, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339), FHIRGroup: "Group/g" + strconv.FormatInt(c.ID, 10)}
}

type saveCohortRequest struct {
	Name        string `json:"name"`
	Expression  string `json:"expression"`
	Description string `json:"description"`
}

func (q *saveCohortRequest) Valid(context.Context) map[string]string {
	return cohort.Saved{Name: q.Name, Expression: q.Expression, Description: q.Description}.Problems()
}

// parseCohort parses cohort text with the engine, saying where a mistake
// is: "expression: at 14: …".
func parseCohort(eng *population.Engine, field, text string) (population.Expr, error) {
	expr, err := eng.Parse(text)
	var pe *population.ParseError
	if errors.As(err, &pe) {
		return nil, apperr.Ef(apperr.Invalid, "%s: at character %d: %s", field, pe.Pos, pe.Msg)
	}
	return expr, err
}

// handleSaveCohort saves a cohort written in the cohort language, after
// checking that the engine reads it.
func (s *Server) handleSaveCohort() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReadAggregates)
		if err != nil {
			return err
		}
		var q saveCohortRequest
		if err := decode(r, &q); err != nil {
			return err
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		if _, err := parseCohort(eng, "expression", q.Expression); err != nil {
			return err
		}
		c, err := s.deps.Cohorts.SaveCohort(r.Context(), cohort.Saved{Name: q.Name, Expression: q.Expression, Description: q.Description,
			CreatedBy: p.UserID, CreatedName: p.Name, CreatedAt: s.deps.Now()})
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/api/v1/cohorts/"+strconv.FormatInt(c.ID, 10))
		return encode(w, http.StatusCreated, savedView(c))
	}
}

// handleCohorts lists the saved cohorts (name: those whose name starts
// with it), definitions only.
func (s *Server) handleCohorts() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		cs, err := s.deps.Cohorts.Cohorts(r.Context(), r.URL.Query().Get("name"))
		if err != nil {
			return err
		}
		out := make([]savedCohortView, len(cs))
		for i, c := range cs {
			out[i] = savedView(c)
		}
		return encode(w, http.StatusOK, map[string]any{"cohorts": out})
	}
}

// handleCohort gives a saved cohort's definition and how many people are
// in it now, 1 to 4 suppressed.
func (s *Server) handleCohort() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		c, err := s.deps.Cohorts.Cohort(r.Context(), id)
		if err != nil {
			return err
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		expr, err := parseCohort(eng, "saved expression", c.Expression)
		if err != nil {
			return err
		}
		n, err := eng.Count(expr, s.deps.Now())
		if err != nil {
			return err
		}
		v := savedView(c)
		v.People, v.Suppressed = suppressed(n)
		return encode(w, http.StatusOK, v)
	}
}
