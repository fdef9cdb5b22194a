// Package fhir is Wholecare's FHIR R4 edge: typed R4 resources, the mapping
// between them and the registry, directory and record models, and (for now)
// FHIR Bulk Data NDJSON export. The ingest path will grow a strict decoder
// and the REST facade here too.
//
// The types model only the elements Wholecare populates, with R4 JSON names
// and cardinalities, so that encoding/json writes valid resources without any
// map[string]any in the hot path.
//
// The package must never log resource content (names, NHS numbers, codes,
// values): it handles person-identifiable data, and errors it returns name
// resource types and ids only. Domain packages must never import it.
package fhir
