package fhir

import (
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A decoded resource is a generic ordered tree over a private copy of the
// input: every element is kept, in the order it was sent, with extensions,
// modifierExtensions, _element siblings and contained resources. Strings,
// numbers and booleans keep their literal JSON text, so a decimal written
// 1.50 is re-encoded as 1.50 and an escaped string keeps its escapes.
//
// The nodes of one document sit in one slice in document order; a node's
// subtree is the size nodes starting at it, so the children of a node are
// found by skipping subtrees, and nothing points anywhere.

// Kind is the JSON kind of a value.
type Kind uint8

const (
	KindAbsent Kind = iota // no such element
	KindObject
	KindArray
	KindString
	KindNumber
	KindBool
	KindNull // only inside arrays of primitives and their _element siblings
)

// String describes the kind as error messages do: "an object", "null".
func (k Kind) String() string {
	switch k {
	case KindObject:
		return "an object"
	case KindArray:
		return "an array"
	case KindString:
		return "a string"
	case KindNumber:
		return "a number"
	case KindBool:
		return "a boolean"
	case KindNull:
		return "null"
	}
	return "nothing"
}

const (
	nodeUnder   uint8 = 1 << iota // the member is the _element sibling of key
	nodeEscaped                   // the string literal holds escapes
)

// node is 24 bytes: a member's name is not stored but found from its
// element's index in the type of the object holding it.
type node struct {
	off   uint32 // scalars: the literal's offset in src (strings: inside the quotes)
	len   uint32 // scalars: the literal's length
	size  uint32 // nodes in this subtree, this one included
	n     uint32 // objects: members; arrays: items
	typ   typeID // the FHIR type; for a resource root, its resource type
	kind  Kind
	flags uint8
	elem  uint8 // members: index of the element in the holder's type, or elemResourceType
}

const (
	elemResourceType = 254 // the member is resourceType
	elemNone         = 255 // array items and roots are not members
)

// key is the name of member child of object parent, without the _ of a
// sibling.
func key(parent, child *node) string {
	if child.elem == elemResourceType {
		return "resourceType"
	}
	return parent.typ.spec().elems[child.elem].name
}

type document struct {
	src   []byte
	nodes []node
}

// Resource is one decoded, validated resource: a top-level one, or one
// inside a Bundle entry or a contained list, sharing its document.
type Resource struct {
	doc  *document
	root int32
	pos  string
}

// Value is one element (or array item) of a decoded resource. The zero Value
// is absent: every accessor on it returns the zero result, so navigation
// needs no checks until the end.
type Value struct {
	doc *document
	i   int32
}

// Root is the resource's JSON object.
func (r *Resource) Root() Value { return Value{r.doc, r.root} }

// Type is the resource type, e.g. "Observation".
func (r *Resource) Type() string { return r.doc.nodes[r.root].typ.spec().name }

// ID is the resource's logical id, "" when it has none.
func (r *Resource) ID() string { return r.Root().Member("id").Str() }

// Pos says where the resource was read: "file:LINE" for NDJSON, "file
// entry N" for a bundle, "" when decoded from bytes. It names no content.
func (r *Resource) Pos() string { return r.pos }

// Get follows a path of member names and array indexes from the resource
// root, e.g. "code.coding[0].system"; see Value.Get.
func (r *Resource) Get(path string) Value { return r.Root().Get(path) }

// Str is Get(path).Str().
func (r *Resource) Str(path string) string { return r.Root().Get(path).Str() }

// MarshalJSON re-encodes the resource compactly: the same elements in the
// same order, with literals as they were sent.
func (r *Resource) MarshalJSON() ([]byte, error) { return r.Root().MarshalJSON() }

func (v Value) node() *node { return &v.doc.nodes[v.i] }

// Exists reports whether the value is present.
func (v Value) Exists() bool { return v.doc != nil }

// Kind is the JSON kind, KindAbsent for an absent value.
func (v Value) Kind() Kind {
	if v.doc == nil {
		return KindAbsent
	}
	return v.node().kind
}

// Type is the FHIR type of the value ("CodeableConcept", "dateTime",
// "Element" for an _element sibling, the resource type for a resource), ""
// for an absent value or an array.
func (v Value) Type() string {
	if v.doc == nil || v.node().kind == KindArray {
		return ""
	}
	return v.node().typ.spec().name
}

// Len is the number of items of an array, or members of an object; 0
// otherwise.
func (v Value) Len() int {
	if v.doc == nil {
		return 0
	}
	return int(v.node().n)
}

// Index is item i of an array, absent when out of range or not an array.
func (v Value) Index(i int) Value {
	if v.doc == nil || v.node().kind != KindArray || i < 0 || i >= int(v.node().n) {
		return Value{}
	}
	c := v.i + 1
	for ; i > 0; i-- {
		c += int32(v.doc.nodes[c].size)
	}
	return Value{v.doc, c}
}

// Items yields the items of an array, or a single value once, so that code
// reading an element need not care how many times it may repeat. An absent
// value yields nothing.
func (v Value) Items() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		if v.doc == nil {
			return
		}
		if v.node().kind != KindArray {
			yield(0, v)
			return
		}
		c := v.i + 1
		for i := range int(v.node().n) {
			if !yield(i, Value{v.doc, c}) {
				return
			}
			c += int32(v.doc.nodes[c].size)
		}
	}
}

// Members yields the members of an object in document order, with their
// names as sent ("_birthDate" for an _element sibling).
func (v Value) Members() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if v.doc == nil || v.node().kind != KindObject {
			return
		}
		c := v.i + 1
		for range int(v.node().n) {
			nd := &v.doc.nodes[c]
			name := key(v.node(), nd)
			if nd.flags&nodeUnder != 0 {
				name = "_" + name
			}
			if !yield(name, Value{v.doc, c}) {
				return
			}
			c += int32(nd.size)
		}
	}
}

// Member is the member called name ("_name" for an _element sibling),
// absent when there is none.
func (v Value) Member(name string) Value {
	if v.doc == nil || v.node().kind != KindObject {
		return Value{}
	}
	var under uint8
	if strings.HasPrefix(name, "_") {
		name, under = name[1:], nodeUnder
	}
	var want uint8 = elemResourceType
	if name != "resourceType" || under != 0 {
		i, ok := v.node().typ.spec().elemIndex(name)
		if !ok {
			return Value{}
		}
		want = uint8(i)
	}
	c := v.i + 1
	for range int(v.node().n) {
		nd := &v.doc.nodes[c]
		if nd.elem == want && nd.flags&nodeUnder == under {
			return Value{v.doc, c}
		}
		c += int32(nd.size)
	}
	return Value{}
}

// Get follows a dotted path of member names, each optionally indexed:
// "component[1].valueQuantity.value". A name without an index on an array
// gives the array. Any step that does not exist gives an absent Value.
func (v Value) Get(path string) Value {
	for path != "" && v.doc != nil {
		step, rest, _ := strings.Cut(path, ".")
		path = rest
		name, idx, hasIdx := step, 0, false
		if i := strings.IndexByte(step, '['); i >= 0 && strings.HasSuffix(step, "]") {
			n, err := strconv.Atoi(step[i+1 : len(step)-1])
			if err != nil {
				return Value{}
			}
			name, idx, hasIdx = step[:i], n, true
		}
		v = v.Member(name)
		if hasIdx {
			v = v.Index(idx)
		}
	}
	return v
}

// First is item 0 of an array, or the value itself when it is not one.
func (v Value) First() Value {
	if v.doc != nil && v.node().kind == KindArray {
		return v.Index(0)
	}
	return v
}

// Choice finds the variant of a choice element ("value" for value[x]) that
// is present, and returns its type suffix ("Quantity") and value.
func (v Value) Choice(base string) (string, Value) {
	if v.doc == nil || v.node().kind != KindObject {
		return "", Value{}
	}
	spec := v.node().typ.spec()
	c := v.i + 1
	for range int(v.node().n) {
		nd := &v.doc.nodes[c]
		if nd.flags&nodeUnder == 0 && nd.elem < elemResourceType {
			if e := &spec.elems[nd.elem]; e.choice != 0 && spec.choices[e.choice-1] == base {
				return e.name[len(base):], Value{v.doc, c}
			}
		}
		c += int32(nd.size)
	}
	return "", Value{}
}

func (v Value) literal() []byte {
	nd := v.node()
	return v.doc.src[nd.off : nd.off+nd.len]
}

// Str is a string value, unescaped; "" for anything else.
func (v Value) Str() string {
	if v.doc == nil || v.node().kind != KindString {
		return ""
	}
	lit := v.literal()
	if v.node().flags&nodeEscaped == 0 {
		return string(lit)
	}
	return string(appendUnescaped(nil, lit))
}

// Literal is the JSON text of a string (inside its quotes, escapes kept),
// number or boolean; "" for anything else.
func (v Value) Literal() string {
	if v.doc == nil {
		return ""
	}
	switch v.node().kind {
	case KindString, KindNumber, KindBool:
		return string(v.literal())
	}
	return ""
}

// Decimal is a number value with its literal text kept.
func (v Value) Decimal() (Decimal, bool) {
	if v.doc == nil || v.node().kind != KindNumber {
		return Decimal{}, false
	}
	return Decimal{lit: string(v.literal())}, true
}

// Int is an integer value (integer, positiveInt, unsignedInt).
func (v Value) Int() (int64, bool) {
	if v.doc == nil || v.node().kind != KindNumber {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v.literal()), 10, 64)
	return n, err == nil
}

// Bool is a boolean value.
func (v Value) Bool() (value, ok bool) {
	if v.doc == nil || v.node().kind != KindBool {
		return false, false
	}
	return v.doc.src[v.node().off] == 't', true
}

// Resource is the resource held by a contained or Bundle.entry.resource
// element, nil for anything else.
func (v Value) Resource() *Resource {
	if v.doc == nil || v.node().kind != KindObject || v.node().typ.spec().kind != kindResource {
		return nil
	}
	return &Resource{doc: v.doc, root: v.i}
}

// MarshalJSON encodes the value compactly, literals as sent.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.doc == nil {
		return []byte("null"), nil
	}
	size := 0
	end := v.i + int32(v.node().size)
	for i := v.i; i < end; i++ {
		size += int(v.doc.nodes[i].len) + 24
	}
	b := make([]byte, 0, size)
	b, _ = v.doc.appendJSON(b, v.i)
	return b, nil
}

// appendJSON writes node i and its subtree, and returns the index after it.
func (d *document) appendJSON(b []byte, i int32) ([]byte, int32) {
	nd := &d.nodes[i]
	switch nd.kind {
	case KindObject, KindArray:
		open, close := byte('{'), byte('}')
		if nd.kind == KindArray {
			open, close = '[', ']'
		}
		b = append(b, open)
		c := i + 1
		for k := range int(nd.n) {
			if k > 0 {
				b = append(b, ',')
			}
			if nd.kind == KindObject {
				m := &d.nodes[c]
				b = append(b, '"')
				if m.flags&nodeUnder != 0 {
					b = append(b, '_')
				}
				b = append(b, key(nd, m)...)
				b = append(b, '"', ':')
			}
			b, c = d.appendJSON(b, c)
		}
		return append(b, close), i + int32(nd.size)
	case KindString:
		b = append(b, '"')
		b = append(b, d.src[nd.off:nd.off+nd.len]...)
		return append(b, '"'), i + 1
	case KindNull:
		return append(b, "null"...), i + 1
	}
	return append(b, d.src[nd.off:nd.off+nd.len]...), i + 1
}

// appendUnescaped appends the JSON string literal lit (without quotes, and
// already validated) with its escapes resolved. A lone surrogate becomes
// U+FFFD, as encoding/json does.
func appendUnescaped(b, lit []byte) []byte {
	for i := 0; i < len(lit); {
		c := lit[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch lit[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := rune(hex4(lit[i+2:]))
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(lit) && lit[i] == '\\' && lit[i+1] == 'u' {
				if r2 := rune(hex4(lit[i+2:])); r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000
					i += 6
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // " \ /
			b = append(b, lit[i+1])
		}
		i += 2
	}
	return b
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b[:4] {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c - 'a' + 10)
		default:
			n |= int(c - 'A' + 10)
		}
	}
	return n
}
