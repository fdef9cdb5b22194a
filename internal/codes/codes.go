// Package codes maps clinical codes in every code system Wholecare meets
// (SNOMED CT, ICD-10, OPCS-4, dm+d, LOINC, RxNorm, CVX) to clinical concepts
// such as "copd", "obs.systolic_bp" or "efi.falls". Rules elsewhere speak of
// concepts, never of raw codes.
//
// The code lists are data files embedded in the binary (data/concepts.csv
// and data/codes.csv); they are a curated selection checked in tests
// against the NHS Primary Care Domain refsets, not copies of them. The
// package holds no mutable package state, does no I/O beyond the embedded
// files and must never import database, HTTP or UI packages.
//
// ICD-10 codes match by prefix: a list entry "J44" matches J44, J44.1, J441
// and J441X; an entry "J44.1" matches only J44.1 and its extensions. See
// NormaliseICD10.
package codes

import (
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/record"
)

//go:embed data/concepts.csv data/codes.csv
var dataFS embed.FS

// Concept is a stable concept id, e.g. "copd", "obs.systolic_bp",
// "vacc.flu", "med.statin", "efi.falls", "proc.asthma_review".
type Concept string

// Kind is the kind of a concept.
type Kind string

const (
	Condition   Kind = "condition"
	Observation Kind = "observation"
	Vaccine     Kind = "vaccine"
	Medication  Kind = "medication"
	Procedure   Kind = "procedure"
	EFIDeficit  Kind = "efi_deficit"
	Value       Kind = "value" // coded observation values, e.g. smoking status
)

var kinds = []Kind{Condition, Observation, Vaccine, Medication, Procedure, EFIDeficit, Value}

// Info describes a concept.
type Info struct {
	ID   Concept
	Kind Kind
	Name string
	// Refset names the NHS PCD refset cluster(s) the concept's SNOMED codes
	// are checked against, e.g. "COPD_COD"; several are separated by a
	// space ("STRK_COD TIA_COD"); "" when there is none.
	Refset string
}

// Refsets returns the refset clusters in Refset.
func (i Info) Refsets() []string { return strings.Fields(i.Refset) }

type key struct{ system, code string }

// Set is a loaded set of concepts and code lists. It is immutable after
// Load and safe for concurrent use.
type Set struct {
	infos    []Info
	index    map[Concept]int
	codes    map[Concept][]record.Coding
	byCode   map[key][]Concept // ICD-10 keys are normalised
	maxICD10 int               // longest normalised ICD-10 list entry
}

const (
	conceptsFile = "data/concepts.csv"
	codesFile    = "data/codes.csv"
)

// Load parses the embedded code lists. Errors name the file and line.
func Load() (*Set, error) {
	cb, err := dataFS.ReadFile(conceptsFile)
	if err != nil {
		return nil, err
	}
	db, err := dataFS.ReadFile(codesFile)
	if err != nil {
		return nil, err
	}
	return parse(cb, db)
}

var systems = []string{record.SNOMED, record.ICD10, record.OPCS4, record.DMD, record.LOINC, record.RxNorm, record.CVX}

func parse(conceptsCSV, codesCSV []byte) (*Set, error) {
	s := &Set{
		index:  map[Concept]int{},
		codes:  map[Concept][]record.Coding{},
		byCode: map[key][]Concept{},
	}
	err := readCSV(conceptsFile, conceptsCSV, []string{"id", "kind", "name", "refset"}, func(line int, f []string) error {
		id := Concept(f[0])
		if id == "" || strings.TrimSpace(f[0]) != f[0] {
			return fmt.Errorf("bad concept id %q", f[0])
		}
		if _, dup := s.index[id]; dup {
			return fmt.Errorf("duplicate concept %q", id)
		}
		k := Kind(f[1])
		if !slices.Contains(kinds, k) {
			return fmt.Errorf("concept %q: unknown kind %q", id, f[1])
		}
		if f[2] == "" {
			return fmt.Errorf("concept %q: empty name", id)
		}
		s.index[id] = len(s.infos)
		s.infos = append(s.infos, Info{ID: id, Kind: k, Name: f[2], Refset: f[3]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[struct {
		c Concept
		k key
	}]bool{}
	err = readCSV(codesFile, codesCSV, []string{"concept", "system", "code", "display"}, func(line int, f []string) error {
		c := Concept(f[0])
		if _, ok := s.index[c]; !ok {
			return fmt.Errorf("unknown concept %q", f[0])
		}
		sys := f[1]
		if !slices.Contains(systems, sys) {
			return fmt.Errorf("unknown system %q", sys)
		}
		code := f[2]
		if code == "" || strings.TrimSpace(code) != code {
			return fmt.Errorf("bad code %q", code)
		}
		if f[3] == "" {
			return fmt.Errorf("code %s|%s: empty display", sys, code)
		}
		k := key{sys, code}
		if sys == record.ICD10 {
			n := NormaliseICD10(code)
			if n == "" {
				return fmt.Errorf("bad ICD-10 code %q", code)
			}
			k.code = n
			s.maxICD10 = max(s.maxICD10, len(n))
		}
		sk := struct {
			c Concept
			k key
		}{c, k}
		if seen[sk] {
			return fmt.Errorf("duplicate code %s|%s for %s", sys, code, c)
		}
		seen[sk] = true
		s.codes[c] = append(s.codes[c], record.Coding{System: sys, Code: code, Display: f[3]})
		s.byCode[k] = append(s.byCode[k], c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Cap every slice so a caller's append can never write into the set.
	for k, v := range s.byCode {
		s.byCode[k] = slices.Clip(v)
	}
	for k, v := range s.codes {
		s.codes[k] = slices.Clip(v)
	}
	return s, nil
}

func readCSV(name string, data []byte, header []string, row func(line int, f []string) error) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(header)
	r.ReuseRecord = true
	first := true
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return fmt.Errorf("codes: %s: %w", name, err)
		}
		if first {
			first = false
			if !slices.Equal(f, header) {
				return fmt.Errorf("codes: %s:%d: header is %q, want %q", name, line, f, header)
			}
			continue
		}
		if err := row(line, f); err != nil {
			return fmt.Errorf("codes: %s:%d: %w", name, line, err)
		}
	}
}

// Concepts returns every concept, in file order.
func (s *Set) Concepts() []Info { return slices.Clone(s.infos) }

// Info returns the concept's description.
func (s *Set) Info(c Concept) (Info, bool) {
	i, ok := s.index[c]
	if !ok {
		return Info{}, false
	}
	return s.infos[i], true
}

// Codes returns the concept's codes in every system, in list order.
func (s *Set) Codes(c Concept) []record.Coding { return slices.Clone(s.codes[c]) }

// Preferred returns the first-listed code of the concept in system.
func (s *Set) Preferred(c Concept, system string) (record.Coding, bool) {
	for _, cd := range s.codes[c] {
		if cd.System == system {
			return cd, true
		}
	}
	return record.Coding{}, false
}

// ConceptsOf returns the concepts a code belongs to (nil if none). system
// is a short token (record.SNOMED, ...) or a FHIR system URI. SNOMED, dm+d,
// LOINC, RxNorm, CVX and OPCS-4 codes match exactly (surrounding space is
// ignored); ICD-10 codes are normalised and match list entries by prefix.
// The returned slice is shared: callers must not modify it.
func (s *Set) ConceptsOf(system, code string) []Concept {
	if tok, ok := SystemToken(system); ok {
		system = tok
	}
	code = strings.TrimSpace(code)
	if system != record.ICD10 {
		return s.byCode[key{system, code}]
	}
	n := NormaliseICD10(code)
	if n == "" {
		return nil
	}
	var out []Concept
	shared := true
	for l := min(len(n), s.maxICD10); l >= 1; l-- {
		cs := s.byCode[key{record.ICD10, n[:l]}]
		if len(cs) == 0 {
			continue
		}
		if out == nil {
			out = cs
			continue
		}
		if shared {
			out = slices.Clone(out)
			shared = false
		}
		for _, c := range cs {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// NormaliseICD10 returns an ICD-10 code in the compact form used for
// matching: upper case, without the dot, without dagger/asterisk marks and
// without the filler or extension letters hospital systems append after
// the fourth character ("J44.1" → "J441", "J441X" → "J441", "I10X" →
// "I10", "S72.0D" → "S720", "G30.9+" → "G309"). Fifth-character digits
// (the UK 5th edition uses a few) are kept. It returns "" when code does
// not start with a letter.
func NormaliseICD10(code string) string {
	var b strings.Builder
	b.Grow(len(code))
	for _, r := range strings.ToUpper(strings.TrimSpace(code)) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	n := b.String()
	if n == "" || n[0] < 'A' || n[0] > 'Z' {
		return ""
	}
	// Past the three-character category, keep only digits: letters there
	// are fillers (X) or extensions (A, D, S ...), and anything after
	// them is dropped too.
	if len(n) > 3 {
		end := 3
		for end < len(n) && n[end] >= '0' && n[end] <= '9' {
			end++
		}
		n = n[:end]
	}
	return n
}
