package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
	"github.com/wholecare/wholecare/internal/fhir"
)

// Protocols is the care protocol library (protocols.Catalog).
type Protocols interface {
	Library() *protocols.Library
	About(p *protocols.Protocol) protocols.Stored
}

// planDefinitionCap is the CapabilityStatement entry of PlanDefinition.
var planDefinitionCap = CapResource{
	Type:        fhir.TypePlanDefinition,
	Interaction: []CapInteraction{{Code: "read"}, {Code: "vread"}, {Code: "history-instance"}, {Code: "search-type"}},
	SearchParam: []CapSearchParam{
		{Name: "name", Type: "string", Documentation: "The computable name, starting with the value (case-insensitive)"},
		{Name: "title", Type: "string", Documentation: "Words in the title (case-insensitive)"},
		{Name: "url", Type: "uri", Documentation: "The canonical URL, " + fhir.ProtocolURLBase + "{id}"},
		{Name: "status", Type: "token", Documentation: "active: the current version of each protocol"},
		{Name: "_count", Type: "number", Documentation: "Page size (default 50, at most 500)"},
		{Name: "_offset", Type: "number", Documentation: "Where the page starts"},
		{Name: "_summary", Type: "token", Documentation: "count: the total only"},
	},
	Operation: []CapOperation{{Name: "apply", Definition: "http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply"}},
}

// canReadProtocols checks that the caller may read the protocol library:
// guidance, not person data, so it needs the permission (and, for a token,
// a PlanDefinition read scope) but no relationship.
func canReadProtocols(r *http.Request) error {
	p, err := access.Allow(r.Context(), access.ReadProtocols)
	if err != nil {
		return err
	}
	if p.Via == auth.ViaToken && !p.Scopes.Allows(fhir.TypePlanDefinition, false) {
		return apperr.E(apperr.Forbidden, "the token's scopes do not include reading PlanDefinition")
	}
	return nil
}

func (h *Handler) planDefinition(p *protocols.Protocol) *fhir.PlanDefinition {
	cur, _ := h.deps.Protocols.Library().Latest(p.ID)
	pd := fhir.PlanDefinitionOf(p, cur == p, h.deps.Protocols.About(p).CreatedAt)
	return &pd
}

// handlePlanDefinitionRead serves PlanDefinition/[id], the current version.
func (h *Handler) handlePlanDefinitionRead(w http.ResponseWriter, r *http.Request) error {
	if err := canReadProtocols(r); err != nil {
		return err
	}
	p, ok := h.deps.Protocols.Library().Latest(r.PathValue("id"))
	if !ok {
		return apperr.E(apperr.NotFound, "no PlanDefinition with that id")
	}
	writeJSON(w, http.StatusOK, h.planDefinition(p))
	return nil
}

// handlePlanDefinitionVRead serves PlanDefinition/[id]/_history/[vid].
func (h *Handler) handlePlanDefinitionVRead(w http.ResponseWriter, r *http.Request) error {
	if err := canReadProtocols(r); err != nil {
		return err
	}
	v, err := strconv.Atoi(r.PathValue("vid"))
	if err != nil {
		return apperr.E(apperr.NotFound, "no PlanDefinition version with that id")
	}
	p, ok := h.deps.Protocols.Library().Version(r.PathValue("id"), v)
	if !ok {
		return apperr.E(apperr.NotFound, "no PlanDefinition version with that id")
	}
	writeJSON(w, http.StatusOK, h.planDefinition(p))
	return nil
}

// handlePlanDefinitionHistory serves PlanDefinition/[id]/_history: every
// version, newest first.
func (h *Handler) handlePlanDefinitionHistory(w http.ResponseWriter, r *http.Request) error {
	if err := canReadProtocols(r); err != nil {
		return err
	}
	vs := h.deps.Protocols.Library().Versions(r.PathValue("id"))
	if len(vs) == 0 {
		return apperr.E(apperr.NotFound, "no PlanDefinition with that id")
	}
	base := h.base(r)
	total := len(vs)
	b := &Bundle{ResourceType: "Bundle", Type: "history", Timestamp: fhir.Instant(h.deps.Now()), Total: &total}
	for i := len(vs) - 1; i >= 0; i-- {
		p := vs[i]
		b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/PlanDefinition/" + p.ID, Resource: h.planDefinition(p),
			Response: &BundleResponse{Status: "200 OK", Location: "PlanDefinition/" + p.ID + "/_history/" + strconv.Itoa(p.Version)}})
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// handlePlanDefinitionSearch serves a PlanDefinition search over the
// current version of every protocol.
func (h *Handler) handlePlanDefinitionSearch(w http.ResponseWriter, r *http.Request) error {
	if err := canReadProtocols(r); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return apperr.Wrap(apperr.Invalid, err, "reading the search form")
		}
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.Form
	}
	if err := checkFormat(r, q); err != nil {
		return err
	}
	s := &search{typ: fhir.TypePlanDefinition, used: url.Values{}}
	var err error
	if s.count, s.offset, err = parsePaging(q, DefaultCount); err != nil {
		return err
	}
	if sum := q.Get("_summary"); sum != "" {
		if sum != "count" {
			return invalidValue("_summary", "only count is offered")
		}
		s.summaryCount = true
		s.used.Set("_summary", "count")
	}
	match := func(p *protocols.Protocol) bool { return true }
	for k, vs := range q {
		switch k {
		case "_count", "_offset", "_summary", "_format":
			continue
		}
		v := vs[0]
		prev := match
		switch k {
		case "name":
			name := strings.ToLower(v)
			match = func(p *protocols.Protocol) bool {
				return prev(p) && strings.HasPrefix(strings.ToLower(fhir.PlanDefinitionOf(p, true, h.deps.Now()).Name), name)
			}
		case "title":
			words := strings.Fields(strings.ToLower(v))
			match = func(p *protocols.Protocol) bool {
				t := strings.ToLower(p.Title)
				for _, w := range words {
					if !strings.Contains(t, w) {
						return false
					}
				}
				return prev(p)
			}
		case "url":
			match = func(p *protocols.Protocol) bool { return prev(p) && fhir.ProtocolURLBase+p.ID == v }
		case "status":
			switch v {
			case "active":
			case "retired", "draft", "unknown":
				match = func(*protocols.Protocol) bool { return false }
			default:
				return invalidValue("status", "want active, retired, draft or unknown")
			}
		default:
			return apperr.Ef(apperr.Invalid, "PlanDefinition has no search parameter %q (see /metadata)", safeToken(k))
		}
		s.used[k] = vs[:1]
	}
	var all []resource
	for _, p := range h.deps.Protocols.Library().Current() {
		if match(p) {
			all = append(all, resource{typ: fhir.TypePlanDefinition, id: p.ID, body: h.planDefinition(p)})
		}
	}
	total := len(all)
	var rs []resource
	if !s.summaryCount && s.offset < total {
		rs = all[s.offset:min(total, s.offset+s.count)]
	}
	writeJSON(w, http.StatusOK, h.searchset(r, s, total, rs, nil))
	return nil
}

// handlePlanDefinitionApply serves PlanDefinition/[id]/$apply?subject=
// Patient/[id]: what the protocol proposes for the person, as a draft
// CarePlan with intent proposal. Nothing is stored. Reading the person's
// record for it is a read of their data: checked and audited.
func (h *Handler) handlePlanDefinitionApply(w http.ResponseWriter, r *http.Request) error {
	if err := canReadProtocols(r); err != nil {
		return err
	}
	p, ok := h.deps.Protocols.Library().Latest(r.PathValue("id"))
	if !ok {
		return apperr.E(apperr.NotFound, "no PlanDefinition with that id")
	}
	subjects := r.URL.Query()["subject"]
	if len(subjects) != 1 {
		return apperr.E(apperr.Invalid, "$apply needs one subject: ?subject=Patient/p123")
	}
	ref := strings.TrimPrefix(subjects[0], h.base(r)+"/")
	pid, found := strings.CutPrefix(ref, fhir.TypePatient+"/")
	person, _, okID := fhir.ParseResourceID(fhir.TypePatient, pid)
	if !found || !okID {
		return invalidValue("subject", "want a Patient reference such as Patient/p123")
	}
	ctx := r.Context()
	if err := h.deps.Guard.CanRead(ctx, person, fhir.TypePatient); err != nil {
		return err
	}
	b, err := h.deps.Store.PersonRecord(ctx, person)
	if err != nil {
		return err
	}
	now := h.deps.Now()
	prop, err := protocols.Apply(p, protocols.PersonFrom(b, person, h.deps.Codes, now))
	if err != nil {
		return err
	}
	cp := fhir.ProposedCarePlan(p, prop, person, now)
	if err := h.accessed(r, "read", fhir.TypePatient, []int64{person}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &cp)
	return nil
}
