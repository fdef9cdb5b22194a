package fhir

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
)

// The strict decoder: one pass of a hand-written byte scanner over the
// input, checking every member against the generated element table as it
// builds the tree. It refuses anything the R4 JSON format does not allow:
// unknown elements, duplicate members, more than one type for a choice
// element, wrong JSON kinds, bad primitive lexical forms, codes outside a
// required binding, empty strings, objects and arrays, missing required
// elements, nulls outside primitive arrays, resource types out of scope,
// invalid JSON or UTF-8, and anything after the resource.

// maxDepth bounds JSON nesting, so no input can exhaust the stack.
const maxDepth = 100

// maxInput is the largest input the tree's 32-bit offsets can address.
const maxInput = 1<<32 - 1

// ElementError says what is wrong with an element of a resource, and where:
// the decoder's errors, and the mapping's. It never holds an element's
// value: only the path, what was expected, and for the decoder the offset.
type ElementError struct {
	Path   string // e.g. "Observation.component[1].valueQuantity.value"; "" for the document itself
	Msg    string // e.g. "expected a number, got a string"
	Offset int    // byte offset in the input where the decoder found the problem

	// Unsupported is set when the whole resource (the one decoded, or a
	// bundle entry's in ReadBundle) is of a type out of scope: its
	// resourceType, for an importer that counts such resources as skipped
	// rather than failed. A contained resource out of scope fails its
	// container and leaves it empty.
	Unsupported string
}

func (e *ElementError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Decode decodes and validates one R4 resource of a type in scope
// (SupportedResourceTypes) from JSON. Errors have kind apperr.Invalid and
// wrap a *ElementError. data is copied; the caller may reuse it.
func Decode(data []byte) (*Resource, error) {
	return decodeOwned(bytes.Clone(data), "")
}

// decodeOwned decodes src, which the resource keeps.
func decodeOwned(src []byte, pos string) (*Resource, error) {
	d := getDecoder(src, false)
	defer putDecoder(d)
	if err := d.top(); err != nil {
		return nil, wrapElementError(err)
	}
	// The resource and its document in one allocation.
	o := &struct {
		r Resource
		d document
	}{}
	o.d = document{src: src, nodes: slices.Clone(d.nodes)}
	o.r = Resource{doc: &o.d, root: 0, pos: pos}
	return &o.r, nil
}

// Decoders are pooled with their working buffers (the node slice, which is
// copied out at its exact size, the path and the seen bitsets), so a
// decode allocates little beyond what the resource keeps.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder(src []byte, lenient bool) *decoder {
	d := decoders.Get().(*decoder)
	d.src, d.pos, d.depth, d.lenient, d.entryFrame = src, 0, 0, lenient, -1
	d.nodes, d.path, d.seen, d.entries = d.nodes[:0], d.path[:0], d.seen[:0], nil
	return d
}

func putDecoder(d *decoder) {
	d.src, d.entries = nil, nil
	if cap(d.nodes) > 1<<16 {
		d.nodes = nil // do not keep a big bundle's buffer alive
	}
	if cap(d.scratch) > 1<<16 {
		d.scratch = nil
	}
	decoders.Put(d)
}

func wrapElementError(err error) error {
	return &apperr.Error{Kind: apperr.Invalid, Err: err}
}

type decoder struct {
	src     []byte
	pos     int
	nodes   []node
	path    []frame
	seen    []uint64 // a stack of bitsets, one per open object: members seen
	depth   int
	scratch []byte

	// Lenient bundle entries (ReadBundle): an entry that fails is dropped
	// and its error kept, instead of failing the bundle.
	lenient    bool
	entryFrame int // index in path of the entry being decoded, -1 outside
	entries    []entryResult
}

type entryResult struct {
	index int   // position in Bundle.entry
	node  int32 // the entry's node; -1 when it failed
	err   *ElementError
}

type frame struct {
	name  string
	index int32 // array item index, -1 when not an item
	under bool  // the _element sibling
	root  bool  // a resource starts here; name is its type
}

func (d *decoder) push(name string, under bool) {
	d.path = append(d.path, frame{name: name, index: -1, under: under})
}

func (d *decoder) pop() { d.path = d.path[:len(d.path)-1] }

// pathString renders the current path. Inside a lenient bundle entry it
// starts at the entry's resource when the problem is inside it.
func (d *decoder) pathString() string {
	start := 0
	if d.entryFrame >= 0 {
		for i := d.entryFrame + 1; i < len(d.path); i++ {
			if d.path[i].root {
				start = i
				break
			}
		}
	}
	var b strings.Builder
	for i := start; i < len(d.path); i++ {
		f := d.path[i]
		if f.root {
			if i == start {
				b.WriteString(f.name)
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if f.under {
			b.WriteByte('_')
		}
		b.WriteString(f.name)
		if f.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(int(f.index)))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func (d *decoder) fail(msg string) error {
	return &ElementError{Path: d.pathString(), Msg: msg, Offset: d.pos}
}

func (d *decoder) syntax(msg string) error {
	if d.pos >= len(d.src) {
		return d.fail("invalid JSON: unexpected end of input")
	}
	return d.fail("invalid JSON at byte " + strconv.Itoa(d.pos) + ": " + msg)
}

func (d *decoder) expected(want string, got Kind) error {
	return d.fail("expected " + want + ", got " + got.String())
}

func (d *decoder) ws() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\n', '\r', '\t':
			d.pos++
		default:
			return
		}
	}
}

// peek is the kind of the value at d.pos (after whitespace), KindAbsent
// when it cannot start a JSON value.
func (d *decoder) peek() Kind {
	if d.pos >= len(d.src) {
		return KindAbsent
	}
	switch c := d.src[d.pos]; {
	case c == '{':
		return KindObject
	case c == '[':
		return KindArray
	case c == '"':
		return KindString
	case c == 't' || c == 'f':
		return KindBool
	case c == 'n':
		return KindNull
	case c == '-' || c >= '0' && c <= '9':
		return KindNumber
	}
	return KindAbsent
}

func (d *decoder) top() error {
	if uint64(len(d.src)) > maxInput {
		return d.fail("input larger than " + strconv.FormatUint(maxInput, 10) + " bytes")
	}
	d.ws()
	switch k := d.peek(); k {
	case KindObject:
	case KindAbsent:
		if d.pos >= len(d.src) {
			return d.fail("empty input")
		}
		return d.syntax("not a JSON value")
	default:
		return d.expected("a resource (a JSON object)", k)
	}
	if err := d.resource(); err != nil {
		return err
	}
	d.ws()
	if d.pos != len(d.src) {
		return &ElementError{Msg: "trailing data after the resource at byte " + strconv.Itoa(d.pos), Offset: d.pos}
	}
	return nil
}

// resource decodes a resource object at d.pos, of any type in scope.
func (d *decoder) resource() error {
	t, err := d.resourceType()
	if err != nil {
		return err
	}
	d.path = append(d.path, frame{name: t.spec().name, index: -1, root: true})
	err = d.object(t, true)
	d.pop()
	return err
}

// resourceType reads the resourceType of the object at d.pos without
// consuming it: the first member normally, else by skipping ahead.
func (d *decoder) resourceType() (typeID, error) {
	start := d.pos
	defer func() { d.pos = start }()
	d.pos++
	for {
		d.ws()
		if d.pos >= len(d.src) || d.src[d.pos] != '"' {
			if d.pos < len(d.src) && d.src[d.pos] == '}' {
				break
			}
			return 0, d.syntax("expected a member name")
		}
		key, err := d.key()
		if err != nil {
			return 0, err
		}
		isRT := string(key) == "resourceType"
		if err := d.colon(); err != nil {
			return 0, err
		}
		if isRT {
			d.push("resourceType", false)
			defer d.pop()
			if k := d.peek(); k != KindString {
				if k == KindAbsent {
					return 0, d.syntax("not a JSON value")
				}
				return 0, d.expected("a string", k)
			}
			s, e, esc, err := d.str()
			if err != nil {
				return 0, err
			}
			name := d.src[s:e]
			if esc {
				d.scratch = appendUnescaped(d.scratch[:0], name)
				name = d.scratch
			}
			t, ok := resourceTypeID(name)
			if !ok {
				msg, shaped := unsupportedType(name)
				err := d.fail(msg).(*ElementError)
				// The path is now [..., resourceType]: a whole resource is
				// the document's, or (reading a bundle) an entry's.
				whole := len(d.path) == 1 || d.entryFrame >= 0 && len(d.path) == d.entryFrame+3
				if shaped && whole {
					err.Unsupported = string(name)
				}
				return 0, err
			}
			return t, nil
		}
		if err := d.skip(); err != nil {
			return 0, err
		}
		d.ws()
		if d.pos < len(d.src) && d.src[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.pos < len(d.src) && d.src[d.pos] == '}' {
			break
		}
		return 0, d.syntax("expected ',' or '}'")
	}
	d.pos = start
	d.push("resourceType", false)
	defer d.pop()
	return 0, d.fail("missing (every resource needs one)")
}

// unsupportedType names the type only when it looks like a type name: the
// member could hold anything, and an error never echoes content.
func unsupportedType(name []byte) (msg string, shaped bool) {
	if len(name) == 0 || len(name) > 64 || name[0] < 'A' || name[0] > 'Z' {
		return "not a supported resource type", false
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "not a supported resource type", false
		}
	}
	return strconv.Quote(string(name)) + " is not a supported resource type", true
}

// safeName is a member name fit for an error message. A member name is
// structure, not content, but an unknown one could hold anything: it is
// shown only when it is shaped like an element name (ASCII letters and _,
// at most 64), which numbers, spaces and punctuation are not.
func safeName(key []byte) string {
	if len(key) == 0 || len(key) > 64 {
		return "(unknown name)"
	}
	for _, c := range key {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_') {
			return "(unknown name)"
		}
	}
	return string(key)
}

func (d *decoder) colon() error {
	d.ws()
	if d.pos >= len(d.src) || d.src[d.pos] != ':' {
		return d.syntax("expected ':'")
	}
	d.pos++
	d.ws()
	return nil
}

// key reads a member name at d.pos (a '"'), unescaped if needed.
func (d *decoder) key() ([]byte, error) {
	s, e, esc, err := d.str()
	if err != nil {
		return nil, err
	}
	if !esc {
		return d.src[s:e], nil
	}
	d.scratch = appendUnescaped(d.scratch[:0], d.src[s:e])
	return d.scratch, nil
}

// object decodes an object of type t at d.pos ('{'), checking its members.
func (d *decoder) object(t typeID, isResource bool) error {
	// On an error the decoder stops (or, for a lenient bundle entry,
	// restores depth, path and seen itself), so only success cleans up:
	// deferred cleanup costs a tenth of the decoding time.
	if d.depth++; d.depth > maxDepth {
		return d.fail("nested more than " + strconv.Itoa(maxDepth) + " deep")
	}
	idx := len(d.nodes)
	d.nodes = append(d.nodes, node{elem: elemNone, kind: KindObject, typ: t})
	d.pos++
	spec := t.spec()
	words := (2*len(spec.elems) + 63) / 64
	base := len(d.seen)
	for range words {
		d.seen = append(d.seen, 0)
	}
	var choices uint64
	var n uint32
	sawType, checkArrays := false, false
	d.ws()
	if d.pos < len(d.src) && d.src[d.pos] == '}' {
		return d.fail("empty object (FHIR leaves out empty elements)")
	}
	for {
		if d.pos >= len(d.src) || d.src[d.pos] != '"' {
			return d.syntax("expected a member name")
		}
		key, err := d.key()
		if err != nil {
			return err
		}
		if isResource && string(key) == "resourceType" {
			if sawType {
				d.push("resourceType", false)
				return d.fail("duplicate element")
			}
			sawType = true
			if err := d.colon(); err != nil {
				return err
			}
			s, e, _, err := d.str() // checked by resourceType
			if err != nil {
				return err
			}
			d.nodes = append(d.nodes, node{elem: elemResourceType, kind: KindString, typ: tCode, off: uint32(s), len: uint32(e - s), size: 1})
			n++
		} else {
			under := len(key) > 0 && key[0] == '_'
			name := key
			if under {
				name = key[1:]
			}
			e, ei := spec.elem(name)
			if e == nil || under && e.flags&elemUnder == 0 {
				d.path = append(d.path, frame{name: safeName(key), index: -1})
				return d.fail("unknown element")
			}
			d.push(e.name, under)
			bit := 2 * ei
			if under {
				bit++
			}
			if d.seen[base+bit/64]&(1<<(bit%64)) != 0 {
				return d.fail("duplicate element")
			}
			d.seen[base+bit/64] |= 1 << (bit % 64)
			if e.choice != 0 {
				g := uint64(1) << (e.choice - 1)
				if choices&g != 0 {
					if other := d.otherVariant(idx, spec, ei); other != "" {
						d.pop()
						d.push(spec.choices[e.choice-1]+"[x]", false)
						return d.fail("more than one type given (" + other + " and " + e.name + ")")
					}
				}
				choices |= g
			}
			if err := d.colon(); err != nil {
				return err
			}
			vi := len(d.nodes)
			arrays, err := d.member(e, under)
			if err != nil {
				return err
			}
			checkArrays = checkArrays || arrays
			d.nodes[vi].elem = uint8(ei)
			if under {
				d.nodes[vi].flags |= nodeUnder
			}
			n++
			d.pop()
		}
		d.ws()
		if d.pos < len(d.src) && d.src[d.pos] == ',' {
			d.pos++
			d.ws()
			continue
		}
		if d.pos < len(d.src) && d.src[d.pos] == '}' {
			d.pos++
			break
		}
		return d.syntax("expected ',' or '}'")
	}
	for _, ri := range spec.required {
		if d.seen[base+2*int(ri)/64]&(1<<(2*uint(ri)%64)) == 0 {
			d.push(spec.elems[ri].name, false)
			return d.fail("required element missing")
		}
	}
	d.nodes[idx].n = n
	d.nodes[idx].size = uint32(len(d.nodes) - idx)
	if checkArrays {
		if err := d.checkPrimitiveArrays(idx); err != nil {
			return err
		}
	}
	d.seen = d.seen[:base]
	d.depth--
	return nil
}

// otherVariant names a member of object idx, other than e, in e's choice
// group: "" when the only one is e itself (value and its _value sibling).
func (d *decoder) otherVariant(idx int, spec *specType, ei int) string {
	for c := idx + 1; c < len(d.nodes); c += int(d.nodes[c].size) {
		if k := int(d.nodes[c].elem); k != ei && k < elemResourceType && spec.elems[k].choice == spec.elems[ei].choice {
			return spec.elems[k].name
		}
	}
	return ""
}

// member decodes the value of element e. arrays reports that it was an
// array of primitives holding nulls, or an _element array, which need the
// pairing check once the object is complete.
func (d *decoder) member(e *specElem, under bool) (arrays bool, err error) {
	k := d.peek()
	if k == KindAbsent {
		return false, d.syntax("not a JSON value")
	}
	prim := e.typ.spec().kind == kindPrimitive
	if e.flags&elemArray == 0 {
		if k == KindArray {
			return false, d.fail("expected a single value, got an array")
		}
		return false, d.item(e, under, k)
	}
	if k != KindArray {
		return false, d.expected("an array", k)
	}
	if d.depth++; d.depth > maxDepth {
		return false, d.fail("nested more than " + strconv.Itoa(maxDepth) + " deep")
	}
	idx := len(d.nodes)
	d.nodes = append(d.nodes, node{elem: elemNone, kind: KindArray, typ: e.typ})
	d.pos++
	d.ws()
	if d.pos < len(d.src) && d.src[d.pos] == ']' {
		return false, d.fail("empty array (FHIR leaves out empty elements)")
	}
	fr := len(d.path) - 1
	lenient := d.lenient && e.typ == tBundleEntry && d.entryFrame < 0 && d.depth == 2
	var n uint32
	nulls := false
	for i := 0; ; i++ {
		d.path[fr].index = int32(i)
		k := d.peek()
		switch {
		case k == KindAbsent:
			return false, d.syntax("not a JSON value")
		case k == KindNull:
			if !under && !(prim && e.flags&elemUnder != 0) {
				return false, d.expected(itemExpectation(e, under), k)
			}
			if err := d.literal("null"); err != nil {
				return false, err
			}
			d.nodes = append(d.nodes, node{elem: elemNone, kind: KindNull, typ: e.typ, size: 1})
			nulls = true
			n++
		case lenient:
			ok, err := d.entry(e, i)
			if err != nil {
				return false, err
			}
			if ok {
				n++
			}
		default:
			if err := d.item(e, under, k); err != nil {
				return false, err
			}
			n++
		}
		d.ws()
		if d.pos < len(d.src) && d.src[d.pos] == ',' {
			d.pos++
			d.ws()
			continue
		}
		if d.pos < len(d.src) && d.src[d.pos] == ']' {
			d.pos++
			break
		}
		return false, d.syntax("expected ',' or ']'")
	}
	d.path[fr].index = -1
	d.nodes[idx].n = n
	d.nodes[idx].size = uint32(len(d.nodes) - idx)
	d.depth--
	return nulls || under, nil
}

// entry decodes one Bundle.entry leniently: on a problem the entry is
// dropped, its error kept, and decoding goes on after it. Only broken JSON,
// which leaves nowhere to go on from, fails the bundle.
func (d *decoder) entry(e *specElem, i int) (ok bool, err error) {
	pos, nodes, path, seen, depth := d.pos, len(d.nodes), len(d.path), len(d.seen), d.depth
	d.entryFrame = len(d.path) - 1
	err = d.item(e, false, d.peek())
	d.entryFrame = -1
	if err == nil {
		d.entries = append(d.entries, entryResult{index: i, node: int32(nodes)})
		return true, nil
	}
	d.nodes, d.path, d.seen, d.depth = d.nodes[:nodes], d.path[:path], d.seen[:seen], depth
	d.pos = pos
	if serr := d.skip(); serr != nil {
		return false, serr
	}
	de, _ := err.(*ElementError)
	d.entries = append(d.entries, entryResult{index: i, node: -1, err: de})
	return false, nil
}

func itemExpectation(e *specElem, under bool) string {
	if under {
		return "an object"
	}
	switch t := e.typ.spec(); t.kind {
	case kindPrimitive:
		return primExpectation(t.prim)
	case kindResourceList:
		return "a resource (an object)"
	}
	return "an object"
}

func primExpectation(p primKind) string {
	switch p {
	case primBoolean:
		return "a boolean"
	case primInteger, primDecimal, primUnsignedInt, primPositiveInt:
		return "a number"
	}
	return "a string"
}

func jsonKind(p primKind) Kind {
	switch p {
	case primBoolean:
		return KindBool
	case primInteger, primDecimal, primUnsignedInt, primPositiveInt:
		return KindNumber
	}
	return KindString
}

// item decodes one value of element e whose kind k is not an array.
func (d *decoder) item(e *specElem, under bool, k Kind) error {
	if under {
		if k != KindObject {
			return d.expected("an object", k)
		}
		return d.object(tElement, false)
	}
	t := e.typ.spec()
	switch t.kind {
	case kindPrimitive:
		return d.primitive(e, t.prim, k)
	case kindResourceList:
		if k != KindObject {
			return d.expected("a resource (an object)", k)
		}
		return d.resource()
	}
	if k != KindObject {
		return d.expected("an object", k)
	}
	return d.object(e.typ, false)
}

func (d *decoder) primitive(e *specElem, p primKind, k Kind) error {
	if want := jsonKind(p); k != want {
		return d.expected(primExpectation(p), k)
	}
	switch k {
	case KindString:
		s, end, esc, err := d.str()
		if err != nil {
			return err
		}
		v := d.src[s:end]
		if esc {
			d.scratch = appendUnescaped(d.scratch[:0], v)
			v = d.scratch
		}
		if msg := checkString(p, v); msg != "" {
			d.pos = s
			return d.fail(msg)
		}
		if e.enum != 0 && !inEnum(specEnums[e.enum], v) {
			d.pos = s
			return d.fail("expected a code from the required value set")
		}
		var flags uint8
		if esc {
			flags = nodeEscaped
		}
		d.nodes = append(d.nodes, node{elem: elemNone, kind: KindString, typ: e.typ, off: uint32(s), len: uint32(end - s), size: 1, flags: flags})
	case KindNumber:
		s := d.pos
		if err := d.number(); err != nil {
			return err
		}
		if msg := checkNumber(p, d.src[s:d.pos]); msg != "" {
			d.pos = s
			return d.fail(msg)
		}
		d.nodes = append(d.nodes, node{elem: elemNone, kind: KindNumber, typ: e.typ, off: uint32(s), len: uint32(d.pos - s), size: 1})
	case KindBool:
		s := d.pos
		lit := "true"
		if d.src[s] == 'f' {
			lit = "false"
		}
		if err := d.literal(lit); err != nil {
			return err
		}
		d.nodes = append(d.nodes, node{elem: elemNone, kind: KindBool, typ: e.typ, off: uint32(s), len: uint32(len(lit)), size: 1})
	}
	return nil
}

func inEnum(codes []string, v []byte) bool {
	for _, c := range codes {
		if c == string(v) {
			return true
		}
	}
	return false
}

func (d *decoder) literal(lit string) error {
	if len(d.src)-d.pos < len(lit) || string(d.src[d.pos:d.pos+len(lit)]) != lit {
		return d.syntax("not a JSON value")
	}
	d.pos += len(lit)
	return nil
}

// plain marks the bytes a string can hold that need no second look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a JSON string at d.pos (a '"'), validating escapes and UTF-8,
// and returns the bounds of its content.
func (d *decoder) str() (start, end int, escaped bool, err error) {
	src := d.src
	i := d.pos + 1
	start = i
	for {
		for i < len(src) && plain[src[i]] {
			i++
		}
		if i >= len(src) {
			d.pos = i
			return 0, 0, false, d.syntax("unterminated string")
		}
		switch c := src[i]; {
		case c == '"':
			d.pos = i + 1
			return start, i, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(src) {
				d.pos = i
				return 0, 0, false, d.syntax("unterminated string")
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) || !isHex(src[i+2]) || !isHex(src[i+3]) || !isHex(src[i+4]) || !isHex(src[i+5]) {
					d.pos = i
					return 0, 0, false, d.syntax("bad \\u escape")
				}
				i += 6
			default:
				d.pos = i
				return 0, 0, false, d.syntax("bad escape")
			}
		case c < 0x20:
			d.pos = i
			return 0, 0, false, d.syntax("control character in string")
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				d.pos = i
				return 0, 0, false, d.syntax("invalid UTF-8")
			}
			i += size
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// number scans a JSON number at d.pos:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	src, i := d.src, d.pos
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
		if i < len(src) && digit(src[i]) {
			d.pos = i
			return d.syntax("bad number (leading zero)")
		}
	case i < len(src) && src[i] >= '1' && src[i] <= '9':
		for i < len(src) && digit(src[i]) {
			i++
		}
	default:
		d.pos = i
		return d.syntax("bad number")
	}
	if i < len(src) && src[i] == '.' {
		i++
		s := i
		for i < len(src) && digit(src[i]) {
			i++
		}
		if i == s {
			d.pos = i
			return d.syntax("bad number")
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		s := i
		for i < len(src) && digit(src[i]) {
			i++
		}
		if i == s {
			d.pos = i
			return d.syntax("bad number")
		}
	}
	d.pos = i
	return nil
}

// skip passes over one JSON value at d.pos, checking only its syntax.
func (d *decoder) skip() error {
	if d.depth++; d.depth > maxDepth {
		return d.fail("nested more than " + strconv.Itoa(maxDepth) + " deep")
	}
	defer func() { d.depth-- }()
	switch d.peek() {
	case KindString:
		_, _, _, err := d.str()
		return err
	case KindNumber:
		return d.number()
	case KindBool:
		if d.src[d.pos] == 't' {
			return d.literal("true")
		}
		return d.literal("false")
	case KindNull:
		return d.literal("null")
	case KindObject, KindArray:
		closer := byte('}')
		obj := d.src[d.pos] == '{'
		if !obj {
			closer = ']'
		}
		d.pos++
		d.ws()
		if d.pos < len(d.src) && d.src[d.pos] == closer {
			d.pos++
			return nil
		}
		for {
			if obj {
				if d.pos >= len(d.src) || d.src[d.pos] != '"' {
					return d.syntax("expected a member name")
				}
				if _, _, _, err := d.str(); err != nil {
					return err
				}
				if err := d.colon(); err != nil {
					return err
				}
			}
			if err := d.skip(); err != nil {
				return err
			}
			d.ws()
			if d.pos < len(d.src) && d.src[d.pos] == ',' {
				d.pos++
				d.ws()
				continue
			}
			if d.pos < len(d.src) && d.src[d.pos] == closer {
				d.pos++
				return nil
			}
			return d.syntax("expected ',' or '" + string(closer) + "'")
		}
	}
	return d.syntax("not a JSON value")
}

// checkPrimitiveArrays checks the arrays of primitives of object idx
// against their _element siblings: as many items in each, and no position
// null in both (or null where there is no sibling to carry it).
func (d *decoder) checkPrimitiveArrays(idx int) error {
	end := idx + int(d.nodes[idx].size)
	for c := idx + 1; c < end; c += int(d.nodes[c].size) {
		nd := &d.nodes[c]
		if nd.kind != KindArray {
			continue
		}
		name := key(&d.nodes[idx], nd)
		under := nd.flags&nodeUnder != 0
		other := -1
		for o := idx + 1; o < end; o += int(d.nodes[o].size) {
			if o != c && d.nodes[o].elem == nd.elem && d.nodes[o].kind == KindArray {
				other = o
				break
			}
		}
		if under && other >= 0 {
			continue // checked from the value array
		}
		if other >= 0 && d.nodes[other].n != nd.n {
			d.push(name, true)
			defer d.pop()
			return d.fail("must have as many items as " + name)
		}
		items := func(a int) []int32 {
			if a < 0 {
				return nil
			}
			out := make([]int32, 0, d.nodes[a].n)
			for i := a + 1; i < a+int(d.nodes[a].size); i += int(d.nodes[i].size) {
				out = append(out, int32(i))
			}
			return out
		}
		mine, theirs := items(c), items(other)
		for i, m := range mine {
			if d.nodes[m].kind != KindNull || (theirs != nil && d.nodes[theirs[i]].kind != KindNull) {
				continue
			}
			d.path = append(d.path, frame{name: name, index: int32(i), under: under})
			defer d.pop()
			switch {
			case theirs != nil:
				return d.fail("null in both " + name + " and _" + name)
			case under:
				return d.fail("null, and no " + name + " array to match it")
			}
			return d.fail("null, and no _" + name + " array to carry it")
		}
	}
	return nil
}
