package rest

import (
	"net/http"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/population"
)

// measureOps are the CapabilityStatement's care-gap operations.
var measureOps = []CapOperation{
	{Name: "evaluate-measure", Definition: "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"},
	{Name: "care-gaps", Definition: "http://hl7.org/fhir/us/davinci-deqm/OperationDefinition/care-gaps"},
}

// gapPeriod reads periodEnd (default today) and an optional periodStart,
// which must be the day after periodEnd a year before: the indicators'
// windows are the 12 months ending on periodEnd.
func (h *Handler) gapPeriod(r *http.Request) (time.Time, error) {
	q := r.URL.Query()
	end := h.deps.Now().UTC().Truncate(24 * time.Hour)
	if v := q.Get("periodEnd"); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return time.Time{}, invalidValue("periodEnd", "want a date, YYYY-MM-DD")
		}
		end = d
	}
	if v := q.Get("periodStart"); v != "" {
		if want := fhir.Date(end.AddDate(-1, 0, 1)); v != want {
			return time.Time{}, invalidValue("periodStart", "the indicators look back 12 months from periodEnd: give "+want+" or leave it out")
		}
	}
	return end, nil
}

// subjectPerson reads subject=Patient/[id].
func (h *Handler) subjectPerson(r *http.Request) (int64, bool, error) {
	vs := r.URL.Query()["subject"]
	if len(vs) == 0 {
		return 0, false, nil
	}
	if len(vs) > 1 {
		return 0, false, invalidValue("subject", "give one subject")
	}
	ref := strings.TrimPrefix(vs[0], h.base(r)+"/")
	pid, found := strings.CutPrefix(ref, fhir.TypePatient+"/")
	person, _, ok := fhir.ParseResourceID(fhir.TypePatient, pid)
	if !found || !ok {
		return 0, false, invalidValue("subject", "want a Patient reference such as Patient/p123")
	}
	return person, true, nil
}

// personGaps reads one person's care gaps after asking the guard, and
// records the reading.
func (h *Handler) personGaps(r *http.Request, person int64, asOf time.Time) ([]caregaps.PersonGap, error) {
	if err := h.deps.Guard.CanRead(r.Context(), person, fhir.TypeMeasureReport); err != nil {
		return nil, err
	}
	eng, err := h.deps.Population.Engine()
	if err != nil {
		return nil, err
	}
	gaps, err := h.deps.CareGaps.Person(eng, person, asOf)
	if err != nil {
		return nil, err
	}
	if err := h.accessed(r, "read", fhir.TypeMeasureReport, []int64{person}); err != nil {
		return nil, err
	}
	return gaps, nil
}

// handleEvaluateMeasure serves Measure/[id]/$evaluate-measure: a summary
// MeasureReport over the population (reportType=population, the default;
// the aggregates permission; counts of 1 to 4 left out), or one person's
// individual report (reportType=subject with subject=Patient/[id]).
func (h *Handler) handleEvaluateMeasure(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !h.hasIndicator(id) {
		return apperr.E(apperr.NotFound, "no Measure with that id")
	}
	asOf, err := h.gapPeriod(r)
	if err != nil {
		return err
	}
	person, hasSubject, err := h.subjectPerson(r)
	if err != nil {
		return err
	}
	now := h.deps.Now()
	switch rt := r.URL.Query().Get("reportType"); {
	case rt == "subject" || (rt == "" && hasSubject):
		if !hasSubject {
			return invalidValue("subject", "reportType=subject needs subject=Patient/p123")
		}
		gaps, err := h.personGaps(r, person, asOf)
		if err != nil {
			return err
		}
		for _, g := range gaps {
			if g.ID == id {
				mr := fhir.IndividualMeasureReport(g, person, asOf, now)
				writeJSON(w, http.StatusOK, &mr)
				return nil
			}
		}
		return apperr.Ef(apperr.NotFound, "the person is not in that measure's denominator on %s", fhir.Date(asOf))
	case rt == "" || rt == "population":
		if hasSubject {
			return invalidValue("subject", "a population report has no subject")
		}
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		var by population.Dimension
		if v := r.URL.Query().Get("stratify"); v != "" {
			if by, err = population.ParseDimension(v); err != nil {
				return err
			}
		}
		eng, err := h.deps.Population.Engine()
		if err != nil {
			return err
		}
		reps, err := h.deps.CareGaps.Population(eng, asOf, by)
		if err != nil {
			return err
		}
		for _, rp := range reps {
			if rp.ID == id {
				mr := fhir.SummaryMeasureReport(rp, asOf, now, func(n int) (int, bool) {
					v, ok := access.Suppress(int64(n))
					return int(v), ok
				})
				writeJSON(w, http.StatusOK, &mr)
				return nil
			}
		}
		return apperr.E(apperr.NotFound, "no Measure with that id")
	default:
		return invalidValue("reportType", "want population or subject")
	}
}

func (h *Handler) hasIndicator(id string) bool {
	for _, in := range h.deps.CareGaps.Indicators() {
		if in.ID == id {
			return true
		}
	}
	return false
}

// handleCareGaps serves Measure/$care-gaps for one person: a collection
// Bundle of an individual MeasureReport per indicator the person is
// eligible for, each saying met, gap or excepted; status=open-gap keeps
// the gaps, closed-gap the rest.
func (h *Handler) handleCareGaps(w http.ResponseWriter, r *http.Request) error {
	asOf, err := h.gapPeriod(r)
	if err != nil {
		return err
	}
	person, ok, err := h.subjectPerson(r)
	if err != nil {
		return err
	}
	if !ok {
		return invalidValue("subject", "$care-gaps is for one person: subject=Patient/p123")
	}
	var keep func(caregaps.Status) bool
	switch st := r.URL.Query().Get("status"); st {
	case "":
		keep = func(caregaps.Status) bool { return true }
	case "open-gap":
		keep = func(s caregaps.Status) bool { return s == caregaps.Gap }
	case "closed-gap":
		keep = func(s caregaps.Status) bool { return s != caregaps.Gap }
	default:
		return invalidValue("status", "want open-gap or closed-gap")
	}
	gaps, err := h.personGaps(r, person, asOf)
	if err != nil {
		return err
	}
	now := h.deps.Now()
	b := &Bundle{ResourceType: "Bundle", Type: "collection", Timestamp: fhir.Instant(now)}
	for _, g := range gaps {
		if !keep(g.Status) {
			continue
		}
		mr := fhir.IndividualMeasureReport(g, person, asOf, now)
		b.Entry = append(b.Entry, BundleEntry{Resource: &mr})
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}
