package rest

import (
	"net/http"
	"slices"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
)

// readConsent serves GET Consent/[id]. The id names the person, so the
// guard is asked before the store.
func (h *Handler) readConsent(w http.ResponseWriter, r *http.Request, id string) error {
	person, cid, ok := fhir.ParseConsentID(id)
	if !ok {
		return apperr.E(apperr.NotFound, "no Consent with that id")
	}
	ctx := r.Context()
	if err := h.deps.Guard.CanRead(ctx, person, fhir.TypeConsent); err != nil {
		return err
	}
	cs, err := h.deps.Store.Consents(ctx, person)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cs, func(c access.Consent) bool { return c.ID == cid })
	if i < 0 {
		return apperr.Ef(apperr.NotFound, "no Consent %s", id)
	}
	c := fhir.ConsentFrom(cs[i])
	if err := h.accessed(r, "read", fhir.TypeConsent, []int64{person}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &c)
	return nil
}

// searchConsents serves a Consent search: the consent records of the named
// patients the caller may read, each person's oldest first, people in id
// order. A person has a handful of records, so they are read whole, the
// status is tested here and the total is exact.
func (h *Handler) searchConsents(w http.ResponseWriter, r *http.Request, s *search) error {
	ctx := r.Context()
	g := h.deps.Guard
	if !s.hasRef {
		return apperr.E(apperr.Invalid, "a search of Consent must name the patient (patient=Patient/p123)")
	}
	people := s.people
	if !g.ReadsAll(ctx, fhir.TypeConsent) {
		vis, err := g.Visible(ctx, s.people, fhir.TypeConsent)
		if err != nil {
			return err
		}
		people = vis
	}
	var all []resource
	for _, person := range people {
		if s.none {
			break
		}
		cs, err := h.deps.Store.Consents(ctx, person)
		if err != nil {
			return err
		}
		for _, c := range cs {
			res := fhir.ConsentFrom(c)
			if consentMatches(&res, s.clauses) {
				all = append(all, resource{fhir.TypeConsent, res.ID, person, &res})
			}
		}
	}
	total := len(all)
	var rs []resource
	if !s.summaryCount && s.offset < total {
		rs = all[s.offset:min(total, s.offset+s.count)]
	}
	switch {
	case s.summaryCount && total > 0:
		if err := h.accessed(r, "search", fhir.TypeConsent, peopleOf(all)); err != nil {
			return err
		}
	case len(rs) > 0:
		if err := h.accessed(r, "search", fhir.TypeConsent, peopleOf(rs)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, nil))
	return nil
}

// consentMatches tests a mapped Consent against a search's clauses, which
// for Consent are status clauses only.
func consentMatches(c *fhir.Consent, clauses []query.Clause) bool {
	for _, cl := range clauses {
		if !slices.ContainsFunc(cl, func(f query.Filter) bool { return f.Field == query.Status && f.Value == c.Status }) {
			return false
		}
	}
	return true
}
