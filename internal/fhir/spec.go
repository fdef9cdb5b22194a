package fhir

import (
	"slices"
	"strings"
)

//go:generate go run ./internal/specgen -out spec_gen.go

// The element table (spec_gen.go) is generated from the official R4 JSON
// schema by internal/specgen. These are the types it is written in.

// typeID numbers every type in the table: primitives, tResource, then the
// complex types, backbone elements and resources in scope.
type typeID uint16

type typeKind uint8

const (
	kindPrimitive    typeKind = iota + 1
	kindComplex               // a datatype such as CodeableConcept
	kindBackbone              // an element defined inside a resource, e.g. Observation.component
	kindResource              // a resource type in scope
	kindResourceList          // any resource in scope: contained, Bundle.entry.resource
)

// primKind is the lexical rule of a primitive type. The order matches the
// primitive type ids: primKind(n) is the primitive with typeID n.
type primKind uint8

const (
	primBoolean primKind = iota + 1
	primInteger
	primString
	primDecimal
	primURI
	primURL
	primCanonical
	primBase64Binary
	primInstant
	primDate
	primDateTime
	primTime
	primCode
	primOID
	primID
	primMarkdown
	primUnsignedInt
	primPositiveInt
	primUUID
	primXHTML
)

type elemFlags uint8

const (
	elemArray    elemFlags = 1 << iota // the element repeats: a JSON array
	elemRequired                       // the schema requires it (min cardinality 1)
	elemUnder                          // a primitive with a _name sibling for its id and extensions
)

type specType struct {
	name     string
	kind     typeKind
	prim     primKind   // for primitives
	choices  []string   // choice group bases: choices[g-1] for specElem.choice g
	required []uint8    // indexes into elems of the elements the schema requires
	elems    []specElem // sorted by name
}

type specElem struct {
	name   string
	typ    typeID
	flags  elemFlags
	choice uint8  // 1-based choice group, 0 when the element is not a choice
	enum   uint16 // 1-based index into specEnums, 0 when unbound
}

func (t typeID) spec() *specType { return &specTypes[t] }

// elem finds the element called name, nil when the type has none.
func (s *specType) elem(name []byte) (*specElem, int) {
	lo, hi := 0, len(s.elems)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.elems[m].name < string(name) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.elems) && s.elems[lo].name == string(name) {
		return &s.elems[lo], lo
	}
	return nil, -1
}

// elemNamed is elem for a string name.
func (s *specType) elemNamed(name string) *specElem {
	if i, ok := s.elemIndex(name); ok {
		return &s.elems[i]
	}
	return nil
}

func (s *specType) elemIndex(name string) (int, bool) {
	return slices.BinarySearchFunc(s.elems, name, func(e specElem, n string) int { return strings.Compare(e.name, n) })
}

// resourceTypeID finds a resource type in scope.
func resourceTypeID(name []byte) (typeID, bool) {
	lo, hi := 0, len(specResources)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if specResources[m].spec().name < string(name) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(specResources) && specResources[lo].spec().name == string(name) {
		return specResources[lo], true
	}
	return 0, false
}

// SupportedResourceTypes lists the resource types the decoder accepts, in
// alphabetical order.
func SupportedResourceTypes() []string {
	out := make([]string, len(specResources))
	for i, t := range specResources {
		out[i] = t.spec().name
	}
	return out
}
