package rest

import (
	"github.com/wholecare/wholecare/internal/fhir"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Bundle is an R4 Bundle as the API writes it: a searchset, or the
// response to a transaction or batch.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is one Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one Bundle.entry.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource any             `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// BundleSearch is Bundle.entry.search.
type BundleSearch struct {
	Mode string `json:"mode"`
}

// BundleResponse is Bundle.entry.response.
type BundleResponse struct {
	Status   string            `json:"status"`
	Location string            `json:"location,omitempty"`
	Outcome  *OperationOutcome `json:"outcome,omitempty"`
}

// resource is one resource the API is about to return, with the person
// whose data it is.
type resource struct {
	typ, id string
	person  int64
	body    any // a pointer to one of fhir's resource structs
}

// patientResources maps people to Patients, in the order of people.
func patientResources(people []registry.Person, idents []registry.SourceIdentity) []resource {
	byPerson := make(map[int64][]registry.SourceIdentity, len(people))
	for _, si := range idents {
		byPerson[si.PersonID] = append(byPerson[si.PersonID], si)
	}
	out := make([]resource, 0, len(people))
	for _, p := range people {
		pt := fhir.PatientFrom(p, byPerson[p.ID])
		out = append(out, resource{fhir.TypePatient, pt.ID, p.ID, &pt})
	}
	return out
}

// rowResources maps the rows of b that export as typ ("" for every type
// but Patient, in export order), each kind in the batch's order.
func rowResources(typ string, b *record.Batch) []resource {
	var out []resource
	want := func(t string) bool { return typ == "" || typ == t }
	if want(fhir.TypeCareTeam) && typ == "" {
		type personTeam struct{ person, team int64 }
		seen := make(map[personTeam]int)
		for _, l := range b.TeamLinks {
			k := personTeam{l.PersonID, l.TeamID}
			n := seen[k]
			seen[k] = n + 1
			r := fhir.CareTeamFromLink(l, n)
			out = append(out, resource{fhir.TypeCareTeam, r.ID, l.PersonID, &r})
		}
	}
	if want(fhir.TypeEncounter) {
		for _, e := range b.Encounters {
			r := fhir.EncounterFrom(e)
			out = append(out, resource{fhir.TypeEncounter, r.ID, e.PersonID, &r})
		}
	}
	if want(fhir.TypeCondition) {
		for _, c := range b.Conditions {
			r := fhir.ConditionFrom(c)
			out = append(out, resource{fhir.TypeCondition, r.ID, c.PersonID, &r})
		}
	}
	if want(fhir.TypeObservation) {
		for _, o := range b.Observations {
			r := fhir.ObservationFrom(o)
			out = append(out, resource{fhir.TypeObservation, r.ID, o.PersonID, &r})
		}
	}
	if want(fhir.TypeMedicationRequest) {
		for _, m := range b.Medications {
			r := fhir.MedicationRequestFrom(m)
			out = append(out, resource{fhir.TypeMedicationRequest, r.ID, m.PersonID, &r})
		}
	}
	if want(fhir.TypeImmunization) {
		for _, i := range b.Immunisations {
			r := fhir.ImmunizationFrom(i)
			out = append(out, resource{fhir.TypeImmunization, r.ID, i.PersonID, &r})
		}
	}
	if want(fhir.TypeProcedure) {
		for _, p := range b.Procedures {
			r := fhir.ProcedureFrom(p)
			out = append(out, resource{fhir.TypeProcedure, r.ID, p.PersonID, &r})
		}
	}
	return out
}

// peopleOf lists the distinct people of rs, in order of first appearance.
func peopleOf(rs []resource) []int64 {
	var out []int64
	seen := make(map[int64]bool)
	for _, r := range rs {
		if !seen[r.person] {
			seen[r.person] = true
			out = append(out, r.person)
		}
	}
	return out
}
