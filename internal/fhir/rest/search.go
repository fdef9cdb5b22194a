package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/fhir/query"
)

// base is the absolute base URL for links in a response to r: Deps.Base
// when it is absolute, else made so from the request's scheme and host.
func (h *Handler) base(r *http.Request) string {
	b := h.deps.Base
	if strings.Contains(b, "://") {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + b
}

func (h *Handler) typeDef(typ string) (*typeDef, error) {
	td := h.types[typ]
	if td == nil {
		return nil, apperr.Ef(apperr.NotFound, "resource type %s is not supported (see /metadata)", safeToken(typ))
	}
	return td, nil
}

// accessed records the access, turning a failure into a 500 that sends
// no data.
func (h *Handler) accessed(r *http.Request, action, typ string, people []int64) error {
	if err := h.deps.Guard.Accessed(r.Context(), action, typ, people); err != nil {
		return apperr.Wrap(apperr.Internal, err, "recording access in the audit log")
	}
	return nil
}

// handleSearch serves GET [type]?... and POST [type]/_search.
func (h *Handler) handleSearch(w http.ResponseWriter, r *http.Request) error {
	td, err := h.typeDef(r.PathValue("type"))
	if err != nil {
		return err
	}
	values := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return apperr.Wrap(apperr.Invalid, err, "reading the search form")
		}
		values = r.Form // the body's parameters and the query's
	}
	s, err := parseSearch(r, td, values)
	if err != nil {
		return err
	}
	switch td.typ {
	case fhir.TypePatient:
		return h.searchPatients(w, r, s)
	case fhir.TypeConsent:
		return h.searchConsents(w, r, s)
	case fhir.TypeAuditEvent:
		return h.searchAudit(w, r, s)
	case fhir.TypeRiskAssessment:
		return h.searchRiskAssessments(w, r, s)
	case fhir.TypeGroup:
		return h.searchGroups(w, r, s)
	}
	return h.searchRows(w, r, s)
}

// page is the part of ids a search page shows.
func page(ids []int64, offset, count int) []int64 {
	if offset >= len(ids) {
		return nil
	}
	return ids[offset:min(len(ids), offset+count)]
}

func (h *Handler) searchPatients(w http.ResponseWriter, r *http.Request, s *search) error {
	ctx := r.Context()
	g := h.deps.Guard
	q := query.People{Where: s.clauses}
	var total int
	var ids []int64     // the page
	var counted []int64 // the people a count covers; nil when population-wide
	switch {
	case s.none:
	case g.ReadsAll(ctx, fhir.TypePatient):
		n, err := h.deps.Store.CountPeople(ctx, q)
		if err != nil {
			return err
		}
		total = n
		if !s.summaryCount && s.count > 0 && s.offset < total {
			q.Offset, q.Limit = s.offset, s.count
			if ids, err = h.deps.Store.FindPeople(ctx, q); err != nil {
				return err
			}
		}
	default:
		q.Limit = h.maxCandidates + 1
		cand, err := h.deps.Store.FindPeople(ctx, q)
		if err != nil {
			return err
		}
		if len(cand) > h.maxCandidates {
			return &statusError{status: http.StatusBadRequest, code: "too-costly",
				msg: "the search finds more than " + strconv.Itoa(h.maxCandidates) + " people: narrow your search"}
		}
		vis, err := g.Visible(ctx, cand, fhir.TypePatient)
		if err != nil {
			return err
		}
		total, counted = len(vis), vis
		if !s.summaryCount {
			ids = page(vis, s.offset, s.count)
		}
	}
	var rs []resource
	if len(ids) > 0 {
		people, idents, err := h.deps.Store.Patients(ctx, ids)
		if err != nil {
			return err
		}
		byID := make(map[int64]int, len(people))
		for i, p := range people {
			byID[p.ID] = i
		}
		all := patientResources(people, idents)
		for _, id := range ids {
			if i, ok := byID[id]; ok {
				rs = append(rs, all[i])
			}
		}
	}
	switch {
	case s.summaryCount && total > 0:
		if err := h.accessed(r, "search", fhir.TypePatient, counted); err != nil {
			return err
		}
	case len(rs) > 0:
		if err := h.accessed(r, "search", fhir.TypePatient, peopleOf(rs)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, nil))
	return nil
}

func (h *Handler) searchRows(w http.ResponseWriter, r *http.Request, s *search) error {
	ctx := r.Context()
	g := h.deps.Guard
	q := query.Rows{Type: s.typ, Where: s.clauses}
	readsAll := g.ReadsAll(ctx, s.typ)
	switch {
	case s.hasRef && readsAll:
		q.People = s.people
	case s.hasRef:
		vis, err := g.Visible(ctx, s.people, s.typ)
		if err != nil {
			return err
		}
		q.People = append([]int64{}, vis...)
	case !readsAll:
		return apperr.Ef(apperr.Invalid, "a search of %s must name the patient (patient=Patient/p123)", s.typ)
	}
	var total int
	var rs []resource
	if !s.none && (q.People == nil || len(q.People) > 0) {
		n, err := h.deps.Store.CountRows(ctx, q)
		if err != nil {
			return err
		}
		total = n
		if !s.summaryCount && s.count > 0 && s.offset < total {
			q.Offset, q.Limit = s.offset, s.count
			b, err := h.deps.Store.SearchRows(ctx, q)
			if err != nil {
				return err
			}
			rs = rowResources(s.typ, b)
		}
	}
	people := peopleOf(rs)
	var included []resource
	if s.include != "" && len(people) > 0 {
		ids := people
		if !g.ReadsAll(ctx, fhir.TypePatient) {
			vis, err := g.Visible(ctx, people, fhir.TypePatient)
			if err != nil {
				return err
			}
			ids = vis
		}
		if len(ids) > 0 {
			pp, idents, err := h.deps.Store.Patients(ctx, ids)
			if err != nil {
				return err
			}
			included = patientResources(pp, idents)
		}
	}
	switch {
	case s.summaryCount && total > 0:
		if err := h.accessed(r, "search", s.typ, q.People); err != nil {
			return err
		}
	case len(rs) > 0:
		if err := h.accessed(r, "search", s.typ, people); err != nil {
			return err
		}
	}
	if len(included) > 0 {
		if err := h.accessed(r, "search", fhir.TypePatient, peopleOf(included)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, included))
	return nil
}

// searchset builds the response bundle with its paging links.
func (h *Handler) searchset(r *http.Request, s *search, total int, match, include []resource) *Bundle {
	base := h.base(r)
	b := &Bundle{ResourceType: "Bundle", Type: "searchset", Timestamp: fhir.Instant(h.deps.Now()), Total: &total}
	link := func(rel string, offset int) {
		u := searchURL(base, s, func(v url.Values) {
			if !s.summaryCount {
				v.Set("_count", strconv.Itoa(s.count))
				if offset > 0 {
					v.Set("_offset", strconv.Itoa(offset))
				}
			}
		})
		b.Link = append(b.Link, BundleLink{Relation: rel, URL: u})
	}
	link("self", s.offset)
	if !s.summaryCount && s.count > 0 {
		if s.offset > 0 {
			link("first", 0)
			link("previous", max(0, s.offset-s.count))
		}
		if s.offset+s.count < total {
			link("next", s.offset+s.count)
		}
	}
	b.Entry = make([]BundleEntry, 0, len(match)+len(include))
	b.Entry = appendEntries(b.Entry, base, "match", match)
	b.Entry = appendEntries(b.Entry, base, "include", include)
	return b
}

// appendEntries appends rs to entries as search results of mode.
func appendEntries(entries []BundleEntry, base, mode string, rs []resource) []BundleEntry {
	for _, m := range rs {
		entries = append(entries, BundleEntry{FullURL: base + "/" + m.typ + "/" + m.id, Resource: m.body, Search: &BundleSearch{Mode: mode}})
	}
	return entries
}

// searchURL is the URL of the search s, with the paging parameters that
// page sets.
func searchURL(base string, s *search, page func(v url.Values)) string {
	v := url.Values{}
	for k, vs := range s.used {
		v[k] = vs
	}
	page(v)
	u := base + "/" + s.typ
	if enc := v.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}
