package rest

import (
	"net/http"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/fhir"
)

// handleRead serves GET [type]/[id]. The id says whose data it is, so the
// guard is asked before the store.
func (h *Handler) handleRead(w http.ResponseWriter, r *http.Request) error {
	typ, id := r.PathValue("type"), r.PathValue("id")
	if _, err := h.typeDef(typ); err != nil {
		return err
	}
	if err := checkFormat(r, r.URL.Query()); err != nil {
		return err
	}
	switch typ {
	case fhir.TypeConsent:
		return h.readConsent(w, r, id)
	case fhir.TypeAuditEvent:
		return h.readAuditEvent(w, r, id)
	case fhir.TypeRiskAssessment:
		return h.readRiskAssessment(w, r, id)
	case fhir.TypeGroup:
		return h.readGroup(w, r, id)
	}
	person, row, ok := fhir.ParseResourceID(typ, id)
	if !ok {
		return apperr.Ef(apperr.NotFound, "no %s with that id", typ)
	}
	ctx := r.Context()
	if err := h.deps.Guard.CanRead(ctx, person, typ); err != nil {
		return err
	}
	var res resource
	if typ == fhir.TypePatient {
		people, idents, err := h.deps.Store.Patients(ctx, []int64{person})
		if err != nil {
			return err
		}
		if len(people) == 0 {
			return apperr.Ef(apperr.NotFound, "no %s %s", typ, id)
		}
		res = patientResources(people, idents)[0]
	} else {
		b, err := h.deps.Store.Row(ctx, typ, person, row)
		if err != nil {
			return err
		}
		rs := rowResources(typ, b)
		if len(rs) == 0 {
			return apperr.Ef(apperr.NotFound, "no %s %s", typ, id)
		}
		res = rs[0]
	}
	if err := h.accessed(r, "read", typ, []int64{person}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res.body)
	return nil
}

// everythingTypes are the types $everything returns besides the Patient,
// in the order it returns them.
var everythingTypes = []string{
	fhir.TypeCareTeam, fhir.TypeEncounter, fhir.TypeCondition, fhir.TypeObservation,
	fhir.TypeMedicationRequest, fhir.TypeImmunization, fhir.TypeProcedure,
}

// handleEverything serves Patient/[id]/$everything: the Patient and every
// resource of their record the caller may read, as a searchset paged with
// _count (default and most MaxCount).
func (h *Handler) handleEverything(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	values := r.URL.Query()
	if err := checkFormat(r, values); err != nil {
		return err
	}
	count, offset, err := parsePaging(values, MaxCount)
	if err != nil {
		return err
	}
	if !lenient(r) {
		for name := range values {
			switch name {
			case "_count", "_offset", "_format":
			default:
				return apperr.Ef(apperr.Invalid, "parameter %q is not supported on $everything (only _count; send Prefer: handling=lenient to ignore it)", safeParam(name))
			}
		}
	}
	person, _, ok := fhir.ParseResourceID(fhir.TypePatient, id)
	if !ok {
		return apperr.E(apperr.NotFound, "no Patient with that id")
	}
	ctx := r.Context()
	g := h.deps.Guard
	if err := g.CanRead(ctx, person, fhir.TypePatient); err != nil {
		return err
	}
	b, err := h.deps.Store.PersonRecord(ctx, person)
	if err != nil {
		return err
	}
	all := patientResources(b.People, b.Identities)
	allowed := map[string]bool{}
	for _, typ := range everythingTypes {
		switch err := g.CanRead(ctx, person, typ); {
		case err == nil:
			allowed[typ] = true
		case apperr.Is(err, apperr.Forbidden), apperr.Is(err, apperr.NotFound):
		default:
			return err
		}
	}
	for _, res := range rowResources("", b) {
		if allowed[res.typ] {
			all = append(all, res)
		}
	}
	total := len(all)
	var rs []resource
	if offset < total {
		rs = all[offset:min(total, offset+count)]
	}
	if len(rs) > 0 {
		if err := h.accessed(r, "everything", fhir.TypePatient, []int64{person}); err != nil {
			return err
		}
	}
	s := &search{typ: fhir.TypePatient + "/" + id + "/$everything", count: count, offset: offset}
	bundle := h.searchset(r, s, total, rs, nil)
	writeJSON(w, http.StatusOK, bundle)
	return nil
}

// handleMetadata serves the CapabilityStatement, which needs no guard.
func (h *Handler) handleMetadata(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r, r.URL.Query()); err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, h.cap)
	return nil
}
