package rest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/fhir"
)

// CapabilityStatement is an R4 CapabilityStatement, with the elements the
// API's statement uses.
type CapabilityStatement struct {
	ResourceType   string             `json:"resourceType"`
	Status         string             `json:"status"`
	Date           string             `json:"date"`
	Publisher      string             `json:"publisher,omitempty"`
	Kind           string             `json:"kind"`
	Software       *CapSoftware       `json:"software,omitempty"`
	Implementation *CapImplementation `json:"implementation,omitempty"`
	FHIRVersion    string             `json:"fhirVersion"`
	Format         []string           `json:"format"`
	Rest           []CapRest          `json:"rest"`
}

// CapSoftware is CapabilityStatement.software.
type CapSoftware struct {
	Name string `json:"name"`
}

// CapImplementation is CapabilityStatement.implementation.
type CapImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapRest is CapabilityStatement.rest.
type CapRest struct {
	Mode        string           `json:"mode"`
	Resource    []CapResource    `json:"resource"`
	Interaction []CapInteraction `json:"interaction,omitempty"`
	Operation   []CapOperation   `json:"operation,omitempty"`
}

// CapResource is CapabilityStatement.rest.resource.
type CapResource struct {
	Type          string           `json:"type"`
	Interaction   []CapInteraction `json:"interaction,omitempty"`
	SearchInclude []string         `json:"searchInclude,omitempty"`
	SearchParam   []CapSearchParam `json:"searchParam,omitempty"`
	Operation     []CapOperation   `json:"operation,omitempty"`
}

// CapInteraction is an interaction code.
type CapInteraction struct {
	Code string `json:"code"`
}

// CapSearchParam is a search parameter.
type CapSearchParam struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// CapOperation is an operation.
type CapOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// commonParams are the result parameters every search takes.
var commonParams = []CapSearchParam{
	{Name: "_count", Type: "number", Documentation: "Page size (default 50, at most 500)"},
	{Name: "_offset", Type: "number", Documentation: "Where the page starts (the paging links carry it)"},
	{Name: "_summary", Type: "token", Documentation: "count: the total only"},
}

// keysetParams are the result parameters of a search paged newest first.
var keysetParams = []CapSearchParam{
	{Name: "_count", Type: "number", Documentation: "Page size (default 50, at most 500); newest first, with no total"},
	{Name: "_before", Type: "number", Documentation: "Where the page starts: entries recorded before AuditEvent a<_before> (the next links carry it)"},
}

// capability builds the statement from the type definitions, so that it
// lists exactly the interactions and parameters the handler serves.
func capability(types map[string]*typeDef, now time.Time, base string, extra ...CapResource) CapabilityStatement {
	c := CapabilityStatement{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         fhir.Date(now),
		Publisher:    "Wholecare",
		Kind:         "instance",
		Software:     &CapSoftware{Name: "Wholecare"},
		Implementation: &CapImplementation{
			Description: "Wholecare FHIR R4 API: read and search of the record, consents, the audit log, stored risk scores and saved cohorts, Patient/$everything, transaction and batch bundles, Bulk Data $export",
		},
		// R4 is 4.0.1, but the official R4 JSON schema's FHIRVersion enum
		// stops at 4.0.0 (a known slip in the published schema), and every
		// response must validate against it. 4.0.0 names the same release
		// line (R4) to any client that checks.
		FHIRVersion: "4.0.0",
		Format:      []string{"json"},
	}
	if strings.Contains(base, "://") {
		c.Implementation.URL = base
	}
	rest := CapRest{
		Mode:        "server",
		Interaction: []CapInteraction{{Code: "transaction"}, {Code: "batch"}},
		Operation:   []CapOperation{{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}},
	}
	for _, typ := range slices.Concat(readTypes, trustTypes, derivedTypes) {
		td := types[typ]
		if td == nil {
			continue // not offered by this handler
		}
		r := CapResource{
			Type:          typ,
			Interaction:   []CapInteraction{{Code: "read"}, {Code: "search-type"}},
			SearchInclude: td.includes,
		}
		for _, p := range td.params {
			r.SearchParam = append(r.SearchParam, CapSearchParam{Name: p.name, Type: string(p.typ), Documentation: p.doc})
		}
		if td.keyset {
			r.SearchParam = append(r.SearchParam, keysetParams...)
		} else {
			r.SearchParam = append(r.SearchParam, commonParams...)
		}
		if typ == fhir.TypePatient {
			r.Operation = []CapOperation{{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}
		}
		rest.Resource = append(rest.Resource, r)
	}
	rest.Resource = append(rest.Resource, extra...)
	c.Rest = []CapRest{rest}
	return c
}

func capabilityJSON(types map[string]*typeDef, now time.Time, base string, extra ...CapResource) []byte {
	b, err := json.Marshal(capability(types, now, base, extra...))
	if err != nil {
		panic("rest: encoding the CapabilityStatement: " + err.Error()) // static data: a bug
	}
	return b
}
