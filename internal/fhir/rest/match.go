package rest

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
)

// Matcher scores an incoming person against the registry: the record
// linkage index (linkage.Index) is one.
type Matcher interface {
	PersonCandidates(p registry.Person, max int) []linkage.Candidate
}

var _ Matcher = (*linkage.Index)(nil)

// The FHIR match-grade extension, and $match's defaults.
const (
	extMatchGrade     = "http://hl7.org/fhir/StructureDefinition/match-grade"
	defaultMatchCount = 10
	maxMatchBody      = 1 << 20
)

// matchGrade is the match-grade code of a candidate:
//
//	certain        linkage would link the record to this person unaided
//	probable       the model is as sure as for a link, but a caution
//	               (different valid NHS numbers, possible twins) puts the
//	               pair up for review
//	possible       in the review band: a person should look
//	certainly-not  below it (never returned: $match answers candidates)
func matchGrade(c linkage.Candidate) string {
	switch {
	case c.Outcome == linkage.Link:
		return "certain"
	case c.Outcome == linkage.Review && c.Caution != "":
		return "probable"
	case c.Outcome == linkage.Review:
		return "possible"
	}
	return "certainly-not"
}

// matchRequest is the Parameters resource $match takes.
type matchRequest struct {
	ResourceType string `json:"resourceType"`
	Parameter    []struct {
		Name         string          `json:"name"`
		Resource     json.RawMessage `json:"resource"`
		ValueBoolean *bool           `json:"valueBoolean"`
		ValueInteger *int            `json:"valueInteger"`
	} `json:"parameter"`
}

// handleMatch serves POST Patient/$match: the people of the registry the
// Patient in the Parameters may be, scored by record linkage. Each entry's
// search.score is the model's posterior probability that the two are one
// person, 1/(1 + 2^-(w + prior)), where w is the total match weight in
// bits over the compared fields and prior the log odds of a match among a
// record's candidates in this registry; its match-grade extension says
// what linkage would do (see matchGrade). Only candidates in the review
// band or above are returned, best first, and only those the caller may
// see; with onlyCertainMatches, only a single certain one (none when two
// or more are certain, as the specification asks).
func (h *Handler) handleMatch(w http.ResponseWriter, r *http.Request) error {
	if h.deps.Matcher == nil {
		return &statusError{status: http.StatusNotImplemented, code: "not-supported", msg: "Patient/$match needs record linkage, which this server runs without"}
	}
	if err := checkFormat(r, r.URL.Query()); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMatchBody))
	if err != nil {
		return &statusError{status: http.StatusRequestEntityTooLarge, code: "too-costly", msg: "a $match request is at most 1 MiB"}
	}
	p, onlyCertain, count, err := parseMatch(body, h.deps.Now)
	if err != nil {
		return err
	}
	cands := h.deps.Matcher.PersonCandidates(p, count*4)
	kept := cands[:0]
	for _, c := range cands {
		if c.Outcome != linkage.NoLink && (!onlyCertain || matchGrade(c) == "certain") {
			kept = append(kept, c)
		}
	}
	ctx := r.Context()
	ids := make([]int64, len(kept))
	for i, c := range kept {
		ids[i] = c.PersonID
	}
	if !h.deps.Guard.ReadsAll(ctx, fhir.TypePatient) && len(ids) > 0 {
		vis, err := h.deps.Guard.Visible(ctx, ids, fhir.TypePatient)
		if err != nil {
			return err
		}
		seen := make(map[int64]bool, len(vis))
		for _, id := range vis {
			seen[id] = true
		}
		out := kept[:0]
		for _, c := range kept {
			if seen[c.PersonID] {
				out = append(out, c)
			}
		}
		kept = out
	}
	if onlyCertain && len(kept) > 1 {
		kept = nil
	}
	kept = kept[:min(len(kept), count)]
	ids = ids[:0]
	for _, c := range kept {
		ids = append(ids, c.PersonID)
	}
	var rs []resource
	var scores []linkage.Candidate
	if len(ids) > 0 {
		people, idents, err := h.deps.Store.Patients(ctx, ids)
		if err != nil {
			return err
		}
		byID := make(map[int64]int, len(people))
		all := patientResources(people, idents)
		for i, p := range people {
			byID[p.ID] = i
		}
		for _, c := range kept {
			if i, ok := byID[c.PersonID]; ok { // a person removed since the index saw them is left out
				rs = append(rs, all[i])
				scores = append(scores, c)
			}
		}
		if err := h.accessed(r, "match", fhir.TypePatient, peopleOf(rs)); err != nil {
			return err
		}
	}
	base := h.base(r)
	total := len(rs)
	b := &Bundle{ResourceType: "Bundle", Type: "searchset", Timestamp: fhir.Instant(h.deps.Now()), Total: &total,
		Link: []BundleLink{{Relation: "self", URL: base + "/Patient/$match"}}, Entry: make([]BundleEntry, 0, len(rs))}
	for i, m := range rs {
		score := scores[i].Probability
		b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + m.typ + "/" + m.id, Resource: m.body,
			Search: &BundleSearch{Mode: "match", Score: &score, Extension: []matchExtension{{URL: extMatchGrade, ValueCode: matchGrade(scores[i])}}}})
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// parseMatch reads $match's Parameters: the Patient as registry
// demographics, onlyCertainMatches and count.
func parseMatch(body []byte, now func() time.Time) (registry.Person, bool, int, error) {
	var q matchRequest
	if err := json.Unmarshal(body, &q); err != nil {
		return registry.Person{}, false, 0, apperr.Wrap(apperr.Invalid, err, "$match takes a Parameters resource")
	}
	if q.ResourceType != "Parameters" {
		return registry.Person{}, false, 0, apperr.E(apperr.Invalid, "$match takes a Parameters resource")
	}
	var patient json.RawMessage
	onlyCertain, count := false, defaultMatchCount
	for i, p := range q.Parameter {
		switch p.Name {
		case "resource":
			if patient != nil || p.Resource == nil {
				return registry.Person{}, false, 0, apperr.E(apperr.Invalid, "Parameters.parameter: name one resource, a Patient")
			}
			patient = p.Resource
		case "onlyCertainMatches":
			if p.ValueBoolean == nil {
				return registry.Person{}, false, 0, apperr.E(apperr.Invalid, "onlyCertainMatches takes valueBoolean")
			}
			onlyCertain = *p.ValueBoolean
		case "count":
			if p.ValueInteger == nil || *p.ValueInteger < 1 || *p.ValueInteger > MaxCount {
				return registry.Person{}, false, 0, apperr.Ef(apperr.Invalid, "count takes a valueInteger from 1 to %d", MaxCount)
			}
			count = *p.ValueInteger
		default:
			return registry.Person{}, false, 0, apperr.Ef(apperr.Invalid, "Parameters.parameter[%d]: unknown parameter (use resource, onlyCertainMatches, count)", i)
		}
	}
	if patient == nil {
		return registry.Person{}, false, 0, apperr.E(apperr.Invalid, "Parameters: no resource parameter with the Patient to match")
	}
	// A Patient to match need not have an id; the mapping to
	// demographics wants one, as it would from a source.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patient, &fields); err != nil {
		return registry.Person{}, false, 0, apperr.Wrap(apperr.Invalid, err, "Parameters.parameter.resource")
	}
	if _, ok := fields["id"]; !ok {
		fields["id"] = json.RawMessage(`"match"`)
		patient, _ = json.Marshal(fields)
	}
	res, err := fhir.Decode(patient)
	if err != nil {
		return registry.Person{}, false, 0, err
	}
	if res.Type() != fhir.TypePatient {
		return registry.Person{}, false, 0, apperr.E(apperr.Invalid, "Parameters.parameter.resource: $match matches a Patient")
	}
	it, err := fhir.ToItem(res, "match", now())
	if err != nil || it.Person == nil {
		return registry.Person{}, false, 0, apperr.Wrap(apperr.Invalid, err, "Parameters.parameter.resource")
	}
	return *it.Person, onlyCertain, count, nil
}

// matchExtension is the match-grade extension on Bundle.entry.search.
type matchExtension struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode"`
}
