package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
	"github.com/wholecare/wholecare/internal/riskmodel"
)

// ScoreStore reads stored risk scores, served as RiskAssessment;
// sqlstore.DB implements it.
type ScoreStore interface {
	// RiskScore returns one stored score; NotFound when there is none.
	RiskScore(ctx context.Context, person int64, version string, asOf time.Time) (riskmodel.Score, error)
	// SearchRiskScores returns the scores matching q, by person, then newest as-of day first.
	SearchRiskScores(ctx context.Context, q query.Scores) ([]riskmodel.Score, error)
	// CountRiskScores counts the scores matching q.
	CountRiskScores(ctx context.Context, q query.Scores) (int, error)
}

// riskAssessmentType is what the API offers on RiskAssessment.
func riskAssessmentType() *typeDef {
	ref := func(name string) paramDef {
		return paramDef{name: name, typ: referenceParam, doc: "The Patient: p123, Patient/p123 or a URL ending in Patient/p123"}
	}
	return &typeDef{typ: fhir.TypeRiskAssessment, params: []paramDef{
		ref("patient"), ref("subject"),
		{name: "date", typ: dateParam, doc: "The day the risk was assessed as of (eq, ge, gt, le, lt prefixes; YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)",
			filters: func(v string) ([]query.Filter, error) { return dateFilters(query.Date, v) }},
	}}
}

// readRiskAssessment serves GET RiskAssessment/[id]. The id names the
// person, so the guard is asked before the store.
func (h *Handler) readRiskAssessment(w http.ResponseWriter, r *http.Request, id string) error {
	person, asOf, version, ok := fhir.ParseRiskAssessmentID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no RiskAssessment with that id")
	}
	ctx := r.Context()
	if err := h.deps.Guard.CanRead(ctx, person, fhir.TypeRiskAssessment); err != nil {
		return err
	}
	s, err := h.deps.Scores.RiskScore(ctx, person, version, asOf)
	if err != nil {
		return err
	}
	res := fhir.RiskAssessmentFrom(s)
	if err := h.accessed(r, "read", fhir.TypeRiskAssessment, []int64{person}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &res)
	return nil
}

// searchRiskAssessments serves a RiskAssessment search: the stored scores
// of the named patients the caller may read (all patients for a client
// that reads everyone), counted only over those.
func (h *Handler) searchRiskAssessments(w http.ResponseWriter, r *http.Request, s *search) error {
	ctx := r.Context()
	g := h.deps.Guard
	q := query.Scores{Where: s.clauses}
	readsAll := g.ReadsAll(ctx, fhir.TypeRiskAssessment)
	switch {
	case s.hasRef && readsAll:
		q.People = s.people
	case s.hasRef:
		vis, err := g.Visible(ctx, s.people, fhir.TypeRiskAssessment)
		if err != nil {
			return err
		}
		q.People = append([]int64{}, vis...)
	case !readsAll:
		return apperr.E(apperr.Invalid, "a search of RiskAssessment must name the patient (patient=Patient/p123)")
	}
	var total int
	var rs []resource
	if !s.none && (q.People == nil || len(q.People) > 0) {
		n, err := h.deps.Scores.CountRiskScores(ctx, q)
		if err != nil {
			return err
		}
		total = n
		if !s.summaryCount && s.count > 0 && s.offset < total {
			q.Offset, q.Limit = s.offset, s.count
			scores, err := h.deps.Scores.SearchRiskScores(ctx, q)
			if err != nil {
				return err
			}
			for _, sc := range scores {
				res := fhir.RiskAssessmentFrom(sc)
				rs = append(rs, resource{fhir.TypeRiskAssessment, res.ID, sc.PersonID, &res})
			}
		}
	}
	switch {
	case s.summaryCount && total > 0:
		if err := h.accessed(r, "search", fhir.TypeRiskAssessment, q.People); err != nil {
			return err
		}
	case len(rs) > 0:
		if err := h.accessed(r, "search", fhir.TypeRiskAssessment, peopleOf(rs)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, nil))
	return nil
}
