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
	Extension []matchExtension `json:"extension,omitempty"` // match-grade, from $match
	Mode      string           `json:"mode"`
	Score     *float64         `json:"score,omitempty"`
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
	out := make([]resource, 0, len(people))
	fhir.BatchResources(&record.Batch{People: people, Identities: idents}, func(typ, id string, person int64, r any) error {
		out = append(out, resource{typ, id, person, r})
		return nil
	})
	return out
}

// rowResources maps the rows of b that export as typ ("" for every type
// but Patient, in export order; CareTeam placements only then), each kind
// in the batch's order.
func rowResources(typ string, b *record.Batch) []resource {
	var out []resource
	rows := *b
	rows.People, rows.Identities = nil, nil
	fhir.BatchResources(&rows, func(t, id string, person int64, r any) error {
		if typ == "" || (typ == t && t != fhir.TypeCareTeam) {
			out = append(out, resource{t, id, person, r})
		}
		return nil
	})
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
