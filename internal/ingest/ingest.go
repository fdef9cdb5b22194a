// Package ingest is the one door through which data from other systems
// (FHIR R4 resources, HL7 v2 ADT messages, later CSV and device readings)
// reaches the registry and the record. Codecs at the edge (fhir, hl7v2)
// turn what they receive into Items; this package validates them, finds or
// creates the person each is about, and hands them to the store to apply
// atomically, so both doors share one set of rules.
//
// Identity is source + local id: an item sent twice updates what the first
// created and never duplicates it. A person is also found by a verified NHS
// number already in the registry. The package must never import database,
// HTTP or codec packages, and never logs person data.
package ingest

import (
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/registry"
)

// Item is what one received resource or message segment group says about
// one person. Exactly one of Person or Rows (non-empty) or Cancel is set,
// except that a Person item may carry no rows.
type Item struct {
	// Source is the sending system, e.g. "fhir:synthea", "hl7v2:RXR-PAS".
	Source string
	// Subject is the source's own id for the person the item is about: the
	// Patient resource id, or the PID-3 identifier of the sending system.
	Subject string
	// At says where the item came from, for error messages: a file and
	// line, a bundle entry, a message control id. Never person data.
	At string

	// Person, when set, is the person's demographics as sent. Its ID is
	// ignored; NHSNumber and NHSStatus are used to find the person.
	Person *registry.Person

	// Rows are clinical rows about Subject. PersonID and ID are left zero
	// (the store assigns them); every row's Provenance.SourceRef is the
	// source's id for it (resource id, visit number), the key that makes a
	// repeated item an update, never a duplicate. Provenance.Source must
	// equal Source.
	Rows record.Batch

	// Cancel, when set, removes the rows of these kinds previously received
	// from Source with SourceRef (an HL7 v2 A11 cancels an admission).
	Cancel *Cancel
}

// Cancel names rows a source withdraws.
type Cancel struct {
	Table     string // "encounters"
	SourceRef string
}

// Merge says that a source has merged two of its person identities (HL7 v2
// A40): From's records now belong to Into.
type Merge struct {
	Source string
	Into   string // the surviving local id
	From   string // the retired local id
	At     string
}
