// Package fhirschema is a small JSON Schema validator for the subset of
// draft-06 that the official FHIR R4 schema (fhir.schema.json) uses: $ref to
// #/definitions/..., properties, required, additionalProperties: false,
// type, items, enum, const, pattern and oneOf. Compiling fails on any other
// keyword, so the validator can never silently ignore a rule.
//
// Two deliberate departures from plain JSON Schema make it stricter, in
// the direction the FHIR schema intends:
//
//   - A schema with properties requires an object. The FHIR schema leaves
//     "type": "object" off its complex types, so by the letter of JSON
//     Schema a string where a CodeableConcept belongs would pass.
//   - pattern applies to numbers and booleans too, matched against their
//     literal text. The FHIR schema puts patterns on integer ("type":
//     "number" with pattern ^-?([0]|([1-9][0-9]*))$), which by the letter
//     would let 1.5 through as an integer.
//
// A oneOf whose branches all $ref definitions with a const resourceType
// (ResourceList and the schema root) is discriminated by the instance's
// resourceType, as the schema's discriminator says; any other oneOf is
// checked by the book (exactly one branch matches).
//
// It serves tests only (the fhir package's and the REST API's): the schema
// is shared test data, never shipped, and the ingest path validates with
// the strict typed decoder. It is a non-test package so that tests of
// several packages can share it; it must never import testing, and nothing
// outside tests should call it.
package fhirschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

type schemaNode struct {
	ref         string
	typ         string
	properties  map[string]*schemaNode
	required    []string
	closed      bool // additionalProperties: false
	items       *schemaNode
	enum        []string
	hasConst    bool
	constVal    string
	pattern     *regexp.Regexp
	oneOf       []*schemaNode
	byResource  map[string]*schemaNode // oneOf discriminated by resourceType
	resourceTyp string                 // properties.resourceType.const, for discrimination
}

// Validator checks resources against the compiled FHIR R4 JSON schema. It
// is safe for concurrent use: validation only reads it.
type Validator struct {
	defs map[string]*schemaNode
	root *schemaNode
}

// Compile compiles the official FHIR R4 JSON schema (fhir.schema.json).
func Compile(raw []byte) (*Validator, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	defs, ok := doc["definitions"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema has no definitions")
	}
	v := &Validator{defs: make(map[string]*schemaNode, len(defs))}
	for name, d := range defs {
		n, err := compileNode(d, "#/definitions/"+name)
		if err != nil {
			return nil, err
		}
		v.defs[name] = n
	}
	rootSchema := map[string]any{"oneOf": doc["oneOf"]}
	root, err := compileNode(rootSchema, "#")
	if err != nil {
		return nil, err
	}
	v.root = root
	// Resolve discriminated oneOfs now that every definition exists.
	for _, n := range v.defs {
		if err := v.discriminate(n); err != nil {
			return nil, err
		}
	}
	if err := v.discriminate(root); err != nil {
		return nil, err
	}
	if len(root.byResource) < 100 {
		return nil, fmt.Errorf("schema root discriminates only %d resource types", len(root.byResource))
	}
	return v, nil
}

func compileNode(x any, at string) (*schemaNode, error) {
	m, ok := x.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: schema is %T, not an object", at, x)
	}
	n := &schemaNode{}
	for k, val := range m {
		var err error
		switch k {
		case "description", "id", "$schema", "discriminator":
			// Annotations; the discriminator is honoured through oneOf.
		case "$ref":
			s, _ := val.(string)
			if !strings.HasPrefix(s, "#/definitions/") {
				return nil, fmt.Errorf("%s: unsupported $ref %q", at, s)
			}
			n.ref = strings.TrimPrefix(s, "#/definitions/")
		case "type":
			n.typ, _ = val.(string)
			switch n.typ {
			case "object", "array", "string", "number", "boolean":
			default:
				return nil, fmt.Errorf("%s: unsupported type %v", at, val)
			}
		case "properties":
			props, _ := val.(map[string]any)
			n.properties = make(map[string]*schemaNode, len(props))
			for p, ps := range props {
				if n.properties[p], err = compileNode(ps, at+"/"+p); err != nil {
					return nil, err
				}
			}
			if rt, ok := props["resourceType"].(map[string]any); ok {
				n.resourceTyp, _ = rt["const"].(string)
			}
		case "required":
			for _, r := range val.([]any) {
				n.required = append(n.required, r.(string))
			}
		case "additionalProperties":
			b, ok := val.(bool)
			if !ok || b {
				return nil, fmt.Errorf("%s: only additionalProperties: false is supported", at)
			}
			n.closed = true
		case "items":
			if n.items, err = compileNode(val, at+"[]"); err != nil {
				return nil, err
			}
		case "enum":
			for _, e := range val.([]any) {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("%s: non-string enum value", at)
				}
				n.enum = append(n.enum, s)
			}
		case "const":
			s, ok := val.(string)
			if !ok {
				return nil, fmt.Errorf("%s: non-string const", at)
			}
			n.hasConst, n.constVal = true, s
		case "pattern":
			if n.pattern, err = regexp.Compile(val.(string)); err != nil {
				return nil, fmt.Errorf("%s: pattern is not RE2: %v", at, err)
			}
		case "oneOf":
			for i, b := range val.([]any) {
				bn, err := compileNode(b, fmt.Sprintf("%s/oneOf/%d", at, i))
				if err != nil {
					return nil, err
				}
				n.oneOf = append(n.oneOf, bn)
			}
		default:
			return nil, fmt.Errorf("%s: unsupported keyword %q", at, k)
		}
	}
	return n, nil
}

// discriminate indexes a oneOf by resourceType when every branch is a $ref
// to a definition with a const resourceType, recursing into properties and
// items so that nested ResourceLists (contained, Bundle.entry.resource) are
// covered too.
func (v *Validator) discriminate(n *schemaNode) error {
	if len(n.oneOf) > 0 {
		by := make(map[string]*schemaNode, len(n.oneOf))
		for _, b := range n.oneOf {
			def := v.defs[b.ref]
			if b.ref == "" || def == nil || def.resourceTyp == "" {
				by = nil
				break
			}
			by[def.resourceTyp] = def
		}
		n.byResource = by
	}
	for _, p := range n.properties {
		if err := v.discriminate(p); err != nil {
			return err
		}
	}
	if n.items != nil {
		return v.discriminate(n.items)
	}
	return nil
}

// Validate checks one resource (raw JSON) against the schema root.
// It returns every violation found, each with its JSON path.
func (v *Validator) Validate(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	v.validate(v.root, x, "$", &errs, 0)
	return errs
}

func (v *Validator) validate(n *schemaNode, x any, path string, errs *[]string, depth int) {
	if depth > 200 {
		*errs = append(*errs, path+": nesting too deep")
		return
	}
	fail := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if n.ref != "" {
		def, ok := v.defs[n.ref]
		if !ok {
			fail("unknown definition %s", n.ref)
			return
		}
		v.validate(def, x, path, errs, depth+1)
	}
	if n.typ != "" && jsonType(x) != n.typ {
		fail("is %s, want %s", jsonType(x), n.typ)
		return
	}
	if n.properties != nil || n.closed || len(n.required) > 0 {
		obj, ok := x.(map[string]any)
		if !ok {
			fail("is %s, want object", jsonType(x))
			return
		}
		for _, r := range n.required {
			if _, ok := obj[r]; !ok {
				fail("missing required %q", r)
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := n.properties[k]; ok {
				v.validate(ps, obj[k], path+"."+k, errs, depth+1)
			} else if n.closed {
				fail("unknown property %q", k)
			}
		}
	}
	if n.items != nil {
		if arr, ok := x.([]any); ok {
			for i, e := range arr {
				v.validate(n.items, e, fmt.Sprintf("%s[%d]", path, i), errs, depth+1)
			}
		}
	}
	if lit, ok := literal(x); ok {
		if n.enum != nil && !slices.Contains(n.enum, lit) {
			fail("%q is not one of %v", lit, n.enum)
		}
		if n.hasConst && lit != n.constVal {
			fail("%q is not %q", lit, n.constVal)
		}
		if n.pattern != nil && !n.pattern.MatchString(lit) {
			fail("%q does not match %s", lit, n.pattern)
		}
	} else if n.enum != nil || n.hasConst {
		fail("is %s, want a literal", jsonType(x))
	}
	if len(n.oneOf) > 0 {
		v.validateOneOf(n, x, path, errs, depth)
	}
}

func (v *Validator) validateOneOf(n *schemaNode, x any, path string, errs *[]string, depth int) {
	if n.byResource != nil {
		obj, _ := x.(map[string]any)
		rt, _ := obj["resourceType"].(string)
		def, ok := n.byResource[rt]
		if !ok {
			*errs = append(*errs, fmt.Sprintf("%s: resourceType %q is not an R4 resource", path, rt))
			return
		}
		v.validate(def, x, path, errs, depth+1)
		return
	}
	matched := 0
	for _, b := range n.oneOf {
		var sub []string
		v.validate(b, x, path, &sub, depth+1)
		if len(sub) == 0 {
			matched++
		}
	}
	if matched != 1 {
		*errs = append(*errs, fmt.Sprintf("%s: matches %d oneOf branches, want 1", path, matched))
	}
}

func jsonType(x any) string {
	switch x.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", x)
}

// literal is the text a pattern, enum or const is matched against.
func literal(x any) (string, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// JSONRules checks the rules of FHIR's JSON format that the schema does
// not express: no null, no empty object and no empty array anywhere.
func JSONRules(raw []byte) []string {
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	var walk func(x any, path string)
	walk = func(x any, path string) {
		switch x := x.(type) {
		case nil:
			errs = append(errs, path+": null")
		case map[string]any:
			if len(x) == 0 {
				errs = append(errs, path+": empty object")
			}
			for k, v := range x {
				walk(v, path+"."+k)
			}
		case []any:
			if len(x) == 0 {
				errs = append(errs, path+": empty array")
			}
			for i, v := range x {
				walk(v, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(x, "$")
	return errs
}

// LoadFile reads and compiles the schema at path (fhir.schema.json).
func LoadFile(path string) (*Validator, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Compile(raw)
}
