// Package fhir is Wholecare's FHIR R4 edge: the strict decoder and the
// import mapping on the way in, typed resources and the export mapping on
// the way out, and FHIR Bulk Data NDJSON both ways. The REST API is the
// subpackage rest.
//
// On the way in, Decode (and ReadBundle, NDJSONReader) reads R4 JSON into
// a generic ordered tree (Resource, Value) that keeps every element as
// sent, and refuses, with the element's path, anything the R4 JSON format
// and the official schema do not allow. The element table it checks
// against (spec_gen.go) is generated from the R4 JSON schema by
// internal/specgen; SupportedResourceTypes lists the resource types in
// scope. ToItem and Bundle.Items map decoded resources to ingest items,
// inverting the export mapping so that Wholecare's own exports import back
// to the same rows.
//
// On the way out, the typed structs model only the elements Wholecare
// populates, with R4 JSON names and cardinalities, so that encoding/json
// writes valid resources without any map[string]any in the hot path.
//
// The package must never log resource content (names, NHS numbers, codes,
// values): it handles person-identifiable data, and errors it returns name
// resource types, element paths and ids only, never an element's value.
// Domain packages must never import it.
package fhir
