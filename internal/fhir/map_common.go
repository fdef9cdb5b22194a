package fhir

import (
	"time"

	"github.com/wholecare/wholecare/internal/record"
)

func codingFrom(c record.Coding) Coding {
	return Coding{System: SystemURI(c.System), Code: c.Code, Display: c.Display}
}

// conceptFrom is the zero CodeableConcept (and so omitted) for an uncoded
// row: a system with no code would be an invalid Coding.
func conceptFrom(c record.Coding) CodeableConcept {
	if c.Code == "" {
		if c.Display != "" {
			return CodeableConcept{Text: c.Display}
		}
		return CodeableConcept{}
	}
	return CodeableConcept{Coding: []Coding{codingFrom(c)}}
}

func concept(system, code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

func metaFrom(source string, receivedAt time.Time) Meta {
	return Meta{Source: SourceURI(source), LastUpdated: Instant(receivedAt)}
}

// sourceIdentifiers keeps the row's id in its sending system, so an importer
// can recognise a resource it has seen before.
func sourceIdentifiers(p record.Provenance) []Identifier {
	if p.SourceRef == "" || p.Source == "" {
		return nil
	}
	return []Identifier{{System: SourceURI(p.Source), Value: p.SourceRef}}
}
