package fhir

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/record"
)

// This file exports what the REST API (package fhir/rest) needs of the
// mapping: the ids the export gives rows, and the inverses of the code,
// class and category mappings that its searches translate into store terms.

// rowIDPrefixes are the id prefixes of person-owned rows, as map_record.go
// writes them (personRowID); TestResourceIDsRoundTrip keeps them in step.
var rowIDPrefixes = map[string]string{
	TypeEncounter:         "e",
	TypeCondition:         "c",
	TypeObservation:       "o",
	TypeMedicationRequest: "m",
	TypeImmunization:      "i",
	TypeProcedure:         "pc",
}

// ResourceID is the id the export gives a resource of typ: "p<person>" for
// a Patient (row is ignored), "<prefix><person>-<row>" for a row of the
// record. "" for a type that has no such ids.
func ResourceID(typ string, person, row int64) string {
	if typ == TypePatient {
		return patientID(person)
	}
	prefix, ok := rowIDPrefixes[typ]
	if !ok {
		return ""
	}
	return personRowID(prefix, person, row)
}

// ParseResourceID inverts ResourceID: ok is false when id is not one that
// Wholecare gives a resource of typ. row is 0 for a Patient.
func ParseResourceID(typ, id string) (person, row int64, ok bool) {
	if typ == TypePatient {
		person, ok = positive(strings.TrimPrefix(id, "p"), len(id) > 1 && id[0] == 'p')
		return person, 0, ok
	}
	prefix, known := rowIDPrefixes[typ]
	rest, found := strings.CutPrefix(id, prefix)
	if !known || !found {
		return 0, 0, false
	}
	p, r, cut := strings.Cut(rest, "-")
	if person, ok = positive(p, cut); !ok {
		return 0, 0, false
	}
	if row, ok = positive(r, true); !ok {
		return 0, 0, false
	}
	return person, row, true
}

// positive parses a canonical decimal (no sign, no leading zero) above 0.
func positive(s string, ok bool) (int64, bool) {
	if !ok || s == "" || s[0] == '0' || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// CodeSystemTokens gives the record's code-system tokens that export under
// the FHIR system uri: one for a known system, two for Wholecare's local
// system (the record keeps local codes as "local" or with no system), none
// for a system the record cannot hold.
func CodeSystemTokens(uri string) []string {
	if uri == CSLocalCode {
		return []string{record.Local, ""}
	}
	tok, rank := systemRank(uri)
	if rank == 1000 {
		return nil
	}
	return []string{tok}
}

// SourceFromURI inverts SourceURI: the source token a Wholecare source URI
// names.
func SourceFromURI(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, sourceURNPrefix)
	if !ok || rest == "" {
		return "", false
	}
	s, err := url.PathUnescape(rest)
	return s, err == nil
}

// EncounterClassesFor lists the record's encounter classes that export with
// the v3 ActCode class code (AMB, EMER, IMP); none for another code.
func EncounterClassesFor(actCode string) []record.EncounterClass {
	var out []record.EncounterClass
	for _, c := range record.EncounterClasses {
		if class, _ := encounterSetting(c); class.Code == actCode {
			out = append(out, c)
		}
	}
	return out
}

// ObservationCategoryCodes lists, in a stable order, the codes whose
// observations export with the observation-category code cat.
func ObservationCategoryCodes(cat string) []record.Coding {
	var out []record.Coding
	for k, c := range observationCategories {
		if c == cat {
			out = append(out, record.Coding{System: k.system, Code: k.code})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].System != out[j].System {
			return out[i].System < out[j].System
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// EntryItem is what one bundle entry maps to. Mapped is false for an entry
// that did not decode (its BundleEntry.Err says why), has no resource, or
// could not be mapped (Err says why; it wraps ErrNotStored for a resource
// Wholecare does not store).
type EntryItem struct {
	Item   ingest.Item
	Mapped bool
	Err    error
}

// EntryItems maps every entry of the bundle, resolving references between
// entries by fullUrl as Items does, and gives one EntryItem per entry in
// entry order, so that a caller can answer each entry on its own.
func (b *Bundle) EntryItems(source string, received time.Time) []EntryItem {
	m := mapper{source: source, received: received, refs: make(map[string]*Resource)}
	for _, e := range b.Entries {
		if e.Resource != nil && e.FullURL != "" {
			m.refs[e.FullURL] = e.Resource
		}
	}
	out := make([]EntryItem, len(b.Entries))
	for i, e := range b.Entries {
		if e.Err != nil || e.Resource == nil {
			continue
		}
		it, err := m.item(e.Resource, e.FullURL)
		out[i] = EntryItem{Item: it, Mapped: err == nil, Err: err}
	}
	return out
}
