// Command specgen writes internal/fhir/spec_gen.go, the element table the
// strict R4 decoder checks resources against, from the official FHIR R4 JSON
// schema (fhir.schema.json, CC0). It is run by go generate in internal/fhir:
//
//	go generate ./internal/fhir
//
// The schema is found from -schema, else $WHOLECARE_SHARED_DATA, else the
// workspace layout (../../../shared/data from internal/fhir). The output is
// deterministic: the same schema and type list give the same file.
//
// The table holds every resource type in scope, and every complex datatype
// and backbone element reachable from them: for each element its name, its
// type (a primitive, a complex type, a backbone element, or Resource for a
// contained or bundled resource), whether it repeats, whether the schema
// requires it, the choice group ([x]) it belongs to and, for codes with a
// required binding, the allowed codes.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// coreTypes are the resource types Wholecare reads, as the ingest brief
// lists them.
var coreTypes = []string{
	"Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter", "EpisodeOfCare",
	"Condition", "Observation", "MedicationRequest", "MedicationStatement", "Immunization", "Procedure",
	"AllergyIntolerance", "CarePlan", "Goal", "CareTeam", "RiskAssessment", "Flag", "Task", "Consent",
	"AuditEvent", "Bundle", "OperationOutcome", "CapabilityStatement",
}

// feedTypes are resource types that real feeds put beside the core ones, in
// bundles, bulk exports and contained lists: Medication is contained by
// MedicationRequests (dm+d products), and Synthea sends the rest in every
// patient bundle and bulk export. They are decoded strictly, so those feeds
// can be read whole, but the mapping does not store them.
var feedTypes = []string{
	"Medication", "Provenance", "Claim", "ExplanationOfBenefit", "Coverage", "DiagnosticReport",
	"ServiceRequest", "ImagingStudy", "Device", "DocumentReference",
}

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "specgen:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("specgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	schema := fs.String("schema", "", "path to fhir.schema.json (default: $WHOLECARE_SHARED_DATA/fhir-r4/schema/fhir.schema.json, else ../../../shared/data/...)")
	out := fs.String("out", "spec_gen.go", "output Go file")
	types := fs.String("types", strings.Join(append(slices.Clone(coreTypes), feedTypes...), ","), "comma-separated resource types to include")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *schema
	if path == "" {
		dir := getenv("WHOLECARE_SHARED_DATA")
		if dir == "" {
			dir = filepath.Join("..", "..", "..", "shared", "data")
		}
		path = filepath.Join(dir, "fhir-r4", "schema", "fhir.schema.json")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	src, err := generate(raw, strings.Split(*types, ","))
	if err != nil {
		return err
	}
	return os.WriteFile(*out, src, 0o644)
}

// The schema, as far as the generator reads it.
type schemaDoc struct {
	ID          string                `json:"id"`
	Definitions map[string]definition `json:"definitions"`
}

type definition struct {
	Pattern    string              `json:"pattern"`
	Type       string              `json:"type"`
	Properties map[string]property `json:"properties"`
	Required   []string            `json:"required"`
	OneOf      []struct {
		Ref string `json:"$ref"`
	} `json:"oneOf"`
}

type property struct {
	Ref         string   `json:"$ref"`
	Type        string   `json:"type"`
	Pattern     string   `json:"pattern"`
	Enum        []string `json:"enum"`
	Const       string   `json:"const"`
	Description string   `json:"description"`
	Items       *struct {
		Ref  string   `json:"$ref"`
		Enum []string `json:"enum"`
	} `json:"items"`
}

// primitives are the R4 primitive types in the order of the decoder's prim
// constants (spec.go); their type ids are 1..len(primitives).
var primitives = []string{
	"boolean", "integer", "string", "decimal", "uri", "url", "canonical", "base64Binary", "instant",
	"date", "dateTime", "time", "code", "oid", "id", "markdown", "unsignedInt", "positiveInt", "uuid", "xhtml",
}

type elem struct {
	name     string
	typ      string // a primitive, a definition name, or "Resource"
	array    bool
	required bool
	under    bool // the schema allows _name
	choice   int  // 1-based choice group within the type, 0 when not a choice
	enum     int  // 1-based index into the enum table, 0 when none
	desc     string
}

type typeDef struct {
	name    string
	kind    string // "kindComplex", "kindBackbone", "kindResource"
	elems   []elem
	choices []string // choice group bases, in group order
}

func generate(raw []byte, scope []string) ([]byte, error) {
	var doc schemaDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("reading schema: %w", err)
	}
	defs := doc.Definitions
	isPrim := map[string]bool{}
	for _, p := range primitives {
		if _, ok := defs[p]; !ok {
			return nil, fmt.Errorf("schema has no primitive %q", p)
		}
		isPrim[p] = true
	}
	resources := map[string]bool{}
	for _, o := range defs["ResourceList"].OneOf {
		resources[strings.TrimPrefix(o.Ref, "#/definitions/")] = true
	}
	for _, t := range scope {
		if !resources[t] {
			return nil, fmt.Errorf("%q is not an R4 resource type", t)
		}
	}

	enums := map[string]int{}
	var enumList [][]string
	enumIndex := func(codes []string) int {
		key := strings.Join(codes, "\x00")
		if i, ok := enums[key]; ok {
			return i
		}
		enumList = append(enumList, codes)
		enums[key] = len(enumList)
		return len(enumList)
	}

	types := map[string]*typeDef{}
	var queue []string
	need := func(t string) {
		if isPrim[t] || t == "Resource" {
			return
		}
		if _, ok := types[t]; !ok {
			types[t] = nil
			queue = append(queue, t)
		}
	}
	for _, t := range scope {
		need(t)
	}
	need("Element") // the type of every _element sibling
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		td, err := buildType(name, defs[name], defs, isPrim, resources, enumIndex)
		if err != nil {
			return nil, err
		}
		types[name] = td
		for _, e := range td.elems {
			need(e.typ)
		}
	}

	// Order: resources in scope, then complex types, then backbones, each
	// sorted by name, so that ids are stable.
	var names []string
	for n := range types {
		names = append(names, n)
	}
	rank := func(n string) int {
		switch types[n].kind {
		case "kindResource":
			return 2
		case "kindBackbone":
			return 1
		}
		return 0
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	constName := map[string]string{"Resource": "tResource"}
	used := map[string]string{}
	for _, p := range primitives {
		constName[p] = "t" + upperFirst(p)
	}
	for _, n := range names {
		c := "t" + strings.ReplaceAll(n, "_", "")
		if prev, ok := used[c]; ok {
			return nil, fmt.Errorf("constant %s names both %s and %s", c, prev, n)
		}
		used[c] = n
		constName[n] = c
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/fhir/internal/specgen from the FHIR R4 JSON schema (%s). DO NOT EDIT.\n\n", doc.ID)
	b.WriteString("package fhir\n\n")
	b.WriteString("// Type ids. The primitives come first, in the order of the prim* constants;\n")
	b.WriteString("// tResource stands for any resource in scope (contained, Bundle.entry.resource).\n")
	b.WriteString("const (\n\t_ typeID = iota\n")
	for _, p := range primitives {
		fmt.Fprintf(&b, "\t%s\n", constName[p])
	}
	b.WriteString("\ttResource\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t%s\n", constName[n])
	}
	b.WriteString("\tnumTypes\n)\n\n")

	b.WriteString("// specTypes describes every type by id. Elements are sorted by name.\n")
	b.WriteString("var specTypes = [numTypes]specType{\n")
	for i, p := range primitives {
		fmt.Fprintf(&b, "\t%s: {name: %q, kind: kindPrimitive, prim: primKind(%d)},\n", constName[p], p, i+1)
	}
	b.WriteString("\ttResource: {name: \"Resource\", kind: kindResourceList},\n")
	for _, n := range names {
		td := types[n]
		fmt.Fprintf(&b, "\t%s: {name: %q, kind: %s", constName[n], n, td.kind)
		if len(td.choices) > 0 {
			fmt.Fprintf(&b, ", choices: %#v", td.choices)
		}
		var req []string
		for i, e := range td.elems {
			if e.required {
				req = append(req, fmt.Sprint(i))
			}
		}
		if len(req) > 0 {
			fmt.Fprintf(&b, ", required: []uint8{%s}", strings.Join(req, ", "))
		}
		b.WriteString(", elems: []specElem{\n")
		for _, e := range td.elems {
			var flags []string
			if e.array {
				flags = append(flags, "elemArray")
			}
			if e.required {
				flags = append(flags, "elemRequired")
			}
			if e.under {
				flags = append(flags, "elemUnder")
			}
			f := "0"
			if len(flags) > 0 {
				f = strings.Join(flags, "|")
			}
			fmt.Fprintf(&b, "\t\t{%q, %s, %s, %d, %d},\n", e.name, constName[e.typ], f, e.choice, e.enum)
		}
		b.WriteString("\t}},\n")
	}
	b.WriteString("}\n\n")

	var inScope []string
	inScope = append(inScope, scope...)
	sort.Strings(inScope)
	b.WriteString("// specResources lists the resource types in scope, sorted by name.\n")
	b.WriteString("var specResources = [...]typeID{\n")
	for _, n := range inScope {
		fmt.Fprintf(&b, "\t%s,\n", constName[n])
	}
	b.WriteString("}\n\n")

	b.WriteString("// specEnums holds the codes allowed by required bindings; specElem.enum\n// indexes it from 1.\n")
	b.WriteString("var specEnums = [...][]string{\n\t{},\n")
	for _, codes := range enumList {
		fmt.Fprintf(&b, "\t%#v,\n", codes)
	}
	b.WriteString("}\n\n")

	b.WriteString("// specPatterns are the schema's regular expressions for the primitive\n// types; the decoder's hand-written checks are tested against them.\n")
	b.WriteString("var specPatterns = [...]string{\n")
	for i, p := range primitives {
		if pat := defs[p].Pattern; pat != "" {
			fmt.Fprintf(&b, "\tprimKind(%d): %q, // %s\n", i+1, pat, p)
		}
	}
	b.WriteString("}\n")

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting output: %w", err)
	}
	return src, nil
}

func buildType(name string, def definition, defs map[string]definition, isPrim, resources map[string]bool, enumIndex func([]string) int) (*typeDef, error) {
	if def.Properties == nil {
		return nil, fmt.Errorf("definition %q has no properties", name)
	}
	td := &typeDef{name: name, kind: "kindComplex"}
	switch {
	case resources[name]:
		td.kind = "kindResource"
	case strings.Contains(name, "_"):
		td.kind = "kindBackbone"
	}
	required := map[string]bool{}
	for _, r := range def.Required {
		required[r] = true
	}
	under := map[string]bool{}
	// Properties in name order, so that enum numbering, and so the output,
	// does not depend on map iteration.
	pnames := make([]string, 0, len(def.Properties))
	for pname := range def.Properties {
		pnames = append(pnames, pname)
	}
	sort.Strings(pnames)
	for _, pname := range pnames {
		p := def.Properties[pname]
		if pname == "resourceType" {
			if p.Const != name {
				return nil, fmt.Errorf("%s.resourceType is not const %q", name, name)
			}
			continue
		}
		if strings.HasPrefix(pname, "_") {
			under[pname[1:]] = true
			continue
		}
		e := elem{name: pname, required: required[pname], desc: p.Description}
		ref := func(r string) string { return strings.TrimPrefix(r, "#/definitions/") }
		switch {
		case p.Ref != "":
			e.typ = ref(p.Ref)
		case p.Type == "array" && p.Items != nil && p.Items.Ref != "":
			e.typ, e.array = ref(p.Items.Ref), true
		case p.Type == "array" && p.Items != nil && len(p.Items.Enum) > 0:
			e.typ, e.array, e.enum = "code", true, enumIndex(p.Items.Enum)
		case len(p.Enum) > 0:
			e.typ, e.enum = "code", enumIndex(p.Enum)
		case p.Pattern != "":
			// Choice variants of primitive types inline the primitive's
			// pattern; the type is the one the name ends with.
			t, err := inlinePrimitive(name, pname, p, defs)
			if err != nil {
				return nil, err
			}
			e.typ = t
		default:
			return nil, fmt.Errorf("%s.%s: unrecognised property shape", name, pname)
		}
		if e.typ == "ResourceList" {
			e.typ = "Resource"
		}
		if _, ok := defs[e.typ]; !ok && e.typ != "Resource" {
			return nil, fmt.Errorf("%s.%s: unknown type %q", name, pname, e.typ)
		}
		td.elems = append(td.elems, e)
	}
	sort.Slice(td.elems, func(i, j int) bool { return td.elems[i].name < td.elems[j].name })
	if len(td.elems) > 254 { // indexes 254 and 255 mean resourceType and none
		return nil, fmt.Errorf("%s has more than 254 elements", name)
	}
	// Primitive elements have an _element sibling for their id and
	// extensions, except where the schema leaves it out (ids, xhtml and
	// canonicals); nothing else has one.
	for i, e := range td.elems {
		if under[e.name] && !isPrim[e.typ] {
			return nil, fmt.Errorf("%s._%s: sibling of a non-primitive", name, e.name)
		}
		td.elems[i].under = under[e.name]
		delete(under, e.name)
	}
	for u := range under {
		return nil, fmt.Errorf("%s._%s has no element", name, u)
	}
	if err := markChoices(td); err != nil {
		return nil, err
	}
	return td, nil
}

func inlinePrimitive(typ, pname string, p property, defs map[string]definition) (string, error) {
	best := ""
	for _, prim := range primitives {
		if strings.HasSuffix(pname, upperFirst(prim)) && len(prim) > len(best) {
			best = prim
		}
	}
	if best == "" {
		return "", fmt.Errorf("%s.%s: inline pattern but no primitive suffix", typ, pname)
	}
	if want := defs[best].Pattern; want != "" && want != p.Pattern {
		return "", fmt.Errorf("%s.%s: pattern differs from %s's", typ, pname, best)
	}
	return best, nil
}

// markChoices finds the choice groups ([x] elements): two or more elements
// named base+Type, where Type is the element's own type, that share the
// schema's description, and where base is not itself an element.
func markChoices(td *typeDef) error {
	byName := map[string]bool{}
	for _, e := range td.elems {
		byName[e.name] = true
	}
	groups := map[string][]int{}
	for i, e := range td.elems {
		suffix := upperFirst(e.typ)
		if e.array || e.typ == "Resource" || !strings.HasSuffix(e.name, suffix) || len(e.name) == len(suffix) {
			continue
		}
		base := strings.TrimSuffix(e.name, suffix)
		if byName[base] {
			continue
		}
		groups[base] = append(groups[base], i)
	}
	var bases []string
	for base, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		// Separate elements can look like a choice (Task.instantiatesUri
		// and instantiatesCanonical); the variants of a real one share
		// their description.
		same := true
		for _, i := range idx[1:] {
			same = same && td.elems[i].desc == td.elems[idx[0]].desc
		}
		if same {
			bases = append(bases, base)
		}
	}
	sort.Strings(bases)
	if len(bases) > 64 {
		return errors.New(td.name + ": more than 64 choice groups")
	}
	td.choices = bases
	for g, base := range bases {
		for _, i := range groups[base] {
			td.elems[i].choice = g + 1
		}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
