package hl7v2

import (
	"bytes"
	"iter"
	"log/slog"
	"strings"
)

// Delimiters are the separators a message declares in MSH-1 and MSH-2. A
// zero byte means the message declared none: with no escape character,
// say, nothing is decoded.
type Delimiters struct {
	Field        byte // MSH-1, usually '|'
	Component    byte // MSH-2 first character, usually '^'
	Repetition   byte // usually '~'
	Escape       byte // usually '\'
	Subcomponent byte // usually '&'
	Truncation   byte // v2.7 and later, usually '#'; 0 when not declared
}

// standard are the delimiters Wholecare writes when it has no message to
// follow.
var standard = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// syntax is what reading a value needs: the delimiters, and whether the
// message declared ISO 8859-1 (MSH-18 "8859/1"), whose bytes are turned
// into UTF-8 when read.
type syntax struct {
	d      Delimiters
	latin1 bool
}

// Limits bound what Parse accepts. A zero field means its default.
type Limits struct {
	MaxBytes    int // the whole message, terminators included
	MaxSegments int
}

// Default limits: an ADT message is a few kilobytes and a few dozen
// segments; these leave room for results and documents without letting one
// message take a process's memory.
const (
	DefaultMaxBytes    = 1 << 20
	DefaultMaxSegments = 5000
)

// Message is one parsed HL7 v2 message. Values are kept as received (still
// escaped) and decoded when read; every accessor returns a zero value
// rather than failing when the part asked for is absent.
type Message struct {
	sx   syntax
	segs []Segment
}

// Segment is one segment. A nil *Segment (what Message.Segment returns for
// a segment that is not there) reads as empty.
type Segment struct {
	sx     syntax
	index  int      // 1-based position in the message
	fields []string // fields[0] is the name; for MSH, fields[1] is MSH-1 and fields[2] MSH-2
}

// Field is one field of a segment with all its repetitions. The zero Field
// is an empty field.
type Field struct {
	raw     string
	sx      syntax
	literal bool // MSH-1 and MSH-2, which are never split or decoded
}

// Rep is one repetition of a field.
type Rep struct {
	raw     string
	sx      syntax
	literal bool
}

// Parse parses one message with the default limits.
func Parse(data []byte) (*Message, error) { return ParseLimits(data, Limits{}) }

// ParseLimits parses one message. Segments may end with CR, LF or CRLF;
// empty and blank lines are skipped, and a leading UTF-8 byte-order mark is
// ignored. A second MSH is an error: Split separates the messages of a file
// or batch first.
func ParseLimits(data []byte, lim Limits) (*Message, error) {
	maxBytes, maxSegs := lim.MaxBytes, lim.MaxSegments
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxSegs <= 0 {
		maxSegs = DefaultMaxSegments
	}
	if len(data) > maxBytes {
		return nil, invalid(CodeInternal, "hl7v2: message is %d bytes, over the limit of %d", len(data), maxBytes)
	}
	data = bytes.TrimPrefix(data, bom)
	data = bytes.TrimLeft(data, "\r\n \t")
	if len(data) == 0 {
		return nil, invalid(CodeSegmentSequence, "hl7v2: empty message")
	}
	if !bytes.HasPrefix(data, []byte("MSH")) {
		return nil, invalid(CodeSegmentSequence, "hl7v2: message does not start with an MSH segment")
	}
	d, err := delimiters(data)
	if err != nil {
		return nil, err
	}
	s := string(data) // one copy; every value is a substring of it

	m := &Message{sx: syntax{d: d}}
	nlines := strings.Count(s, "\r") + strings.Count(s, "\n") + 1
	m.segs = make([]Segment, 0, min(nlines, maxSegs))
	arena := make([]string, 0, strings.Count(s, string(d.Field))+min(nlines, maxSegs)+1)

	for line := range lines(s) {
		if blank(line) {
			continue
		}
		idx := len(m.segs) + 1
		if idx > maxSegs {
			return nil, invalid(CodeInternal, "hl7v2: message has more than %d segments", maxSegs)
		}
		if !validName(line) || (len(line) > 3 && line[3] != d.Field) {
			return nil, invalid(CodeSegmentSequence, "hl7v2: segment %d: name is not three upper-case letters or digits followed by the field separator", idx)
		}
		name := line[:3]
		if name == "MSH" && idx > 1 {
			return nil, invalid(CodeSegmentSequence, "hl7v2: segment %d: a second MSH segment (split batches into messages first)", idx)
		}
		start := len(arena)
		arena = append(arena, name)
		if idx == 1 {
			arena = append(arena, line[3:4]) // MSH-1, the field separator itself
		}
		if len(line) > 3 {
			rest := line[4:]
			for {
				i := strings.IndexByte(rest, d.Field)
				if i < 0 {
					arena = append(arena, rest)
					break
				}
				arena = append(arena, rest[:i])
				rest = rest[i+1:]
			}
		}
		m.segs = append(m.segs, Segment{sx: m.sx, index: idx, fields: arena[start:len(arena):len(arena)]})
	}
	if m.segs[0].Field(18).Rep(1).Component(1) == "8859/1" {
		m.sx.latin1 = true
		for i := range m.segs {
			m.segs[i].sx = m.sx
		}
	}
	return m, nil
}

var bom = []byte("\ufeff")

// delimiters reads MSH-1 and MSH-2 from the start of a message that begins
// with "MSH".
func delimiters(data []byte) (Delimiters, error) {
	if len(data) < 5 {
		return Delimiters{}, invalid(CodeSegmentSequence, "hl7v2: MSH segment is too short to declare its delimiters")
	}
	fs := data[3]
	if !delimiterByte(fs) {
		return Delimiters{}, invalid(CodeDataType, "hl7v2: MSH-1 field separator is not a punctuation character")
	}
	enc := data[4:]
	if i := bytes.IndexAny(enc, string([]byte{fs, '\r', '\n'})); i >= 0 {
		enc = enc[:i]
	}
	if len(enc) == 0 || len(enc) > 5 {
		return Delimiters{}, invalid(CodeDataType, "hl7v2: MSH-2 encoding characters must be one to five characters")
	}
	seen := []byte{fs}
	for _, c := range enc {
		if !delimiterByte(c) || bytes.IndexByte(seen, c) >= 0 {
			return Delimiters{}, invalid(CodeDataType, "hl7v2: MSH-2 encoding characters must be distinct punctuation characters other than the field separator")
		}
		seen = append(seen, c)
	}
	d := Delimiters{Field: fs}
	for i, p := range []*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent, &d.Truncation} {
		if i < len(enc) {
			*p = enc[i]
		}
	}
	return d, nil
}

// delimiterByte reports whether c may be a delimiter: printable ASCII
// punctuation. Letters, digits and spaces are data; control characters
// would be invisible.
func delimiterByte(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')
}

func validName(line string) bool {
	if len(line) < 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if !(c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// lines yields the segments of s split at CR, LF or CRLF (an empty segment
// between CR and LF is skipped by the caller as blank).
func lines(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for s != "" {
			i := strings.IndexAny(s, "\r\n")
			if i < 0 {
				yield(s)
				return
			}
			if !yield(s[:i]) {
				return
			}
			s = s[i+1:]
		}
	}
}

func blank(line string) bool {
	return strings.Trim(line, " \t") == ""
}

// Split cuts a file or stream holding several messages into one slice per
// message, each starting at an MSH segment. Whatever precedes the first MSH
// and the batch envelope segments (FHS, BHS, BTS, FTS) are dropped; the
// slices share data's memory.
func Split(data []byte) [][]byte {
	var out [][]byte
	start := -1
	pos := 0
	cut := func(end int) {
		if start >= 0 {
			out = append(out, data[start:end])
		}
		start = -1
	}
	for pos < len(data) {
		end := pos + bytes.IndexAny(data[pos:], "\r\n")
		if end < pos {
			end = len(data)
		}
		line := data[pos:end]
		if pos == 0 {
			line = bytes.TrimPrefix(line, bom)
		}
		switch {
		case bytes.HasPrefix(line, []byte("MSH")):
			cut(pos)
			start = end - len(line)
		case bytes.HasPrefix(line, []byte("FHS")), bytes.HasPrefix(line, []byte("BHS")),
			bytes.HasPrefix(line, []byte("BTS")), bytes.HasPrefix(line, []byte("FTS")):
			cut(pos)
		}
		pos = end + 1
	}
	cut(len(data))
	return out
}

// Delimiters are the message's declared delimiters.
func (m *Message) Delimiters() Delimiters {
	if m == nil {
		return standard
	}
	return m.sx.d
}

// All is every segment in order.
func (m *Message) All() []*Segment {
	if m == nil {
		return nil
	}
	out := make([]*Segment, len(m.segs))
	for i := range m.segs {
		out[i] = &m.segs[i]
	}
	return out
}

// Len is the number of segments.
func (m *Message) Len() int {
	if m == nil {
		return 0
	}
	return len(m.segs)
}

// Segment is the first segment named name, or nil (which reads as empty).
func (m *Message) Segment(name string) *Segment {
	if m == nil {
		return nil
	}
	for i := range m.segs {
		if m.segs[i].fields[0] == name {
			return &m.segs[i]
		}
	}
	return nil
}

// Segments is every segment named name, in order.
func (m *Message) Segments(name string) []*Segment {
	if m == nil {
		return nil
	}
	var out []*Segment
	for i := range m.segs {
		if m.segs[i].fields[0] == name {
			out = append(out, &m.segs[i])
		}
	}
	return out
}

// Type is MSH-9: message code, trigger event and message structure, e.g.
// "ADT", "A04", "ADT_A01". Older messages leave the structure out.
func (m *Message) Type() (code, trigger, structure string) {
	f := m.Segment("MSH").Field(9)
	return f.Component(1), f.Component(2), f.Component(3)
}

// ControlID is MSH-10, the sender's id for the message, echoed in MSA-2.
func (m *Message) ControlID() string { return m.Segment("MSH").Field(10).String() }

// Version is MSH-12.1, e.g. "2.3" or "2.5.1".
func (m *Message) Version() string { return m.Segment("MSH").Field(12).Component(1) }

// LogValue logs what identifies the message and nothing of its content.
func (m *Message) LogValue() slog.Value {
	if m == nil {
		return slog.StringValue("<nil>")
	}
	code, trigger, _ := m.Type()
	return slog.GroupValue(
		slog.String("type", token(code)+"^"+token(trigger)),
		slog.Int("segments", len(m.segs)),
	)
}

// Name is the segment's name, "" for a nil segment.
func (s *Segment) Name() string {
	if s == nil {
		return ""
	}
	return s.fields[0]
}

// Index is the segment's 1-based position in its message, 0 for nil.
func (s *Segment) Index() int {
	if s == nil {
		return 0
	}
	return s.index
}

// Len is the number of the segment's last field present (trailing empty
// fields that were sent count).
func (s *Segment) Len() int {
	if s == nil {
		return 0
	}
	return len(s.fields) - 1
}

// Field is field n, numbered from 1 as the standard does. In MSH, field 1
// is the field separator and field 2 the encoding characters, both read
// as-is.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 1 || n >= len(s.fields) {
		return Field{}
	}
	return Field{raw: s.fields[n], sx: s.sx, literal: n <= 2 && s.fields[0] == "MSH"}
}

// Raw is the field as received, delimiters and escape sequences included.
func (f Field) Raw() string { return f.raw }

// IsEmpty reports whether the field is absent or empty.
func (f Field) IsEmpty() bool { return f.raw == "" }

// IsNull reports whether the field is the explicit null `""`, which in an
// update means "delete the value held".
func (f Field) IsNull() bool { return f.raw == `""` }

// Len is the number of repetitions, 0 for an empty field.
func (f Field) Len() int {
	if f.raw == "" {
		return 0
	}
	if f.literal || f.sx.d.Repetition == 0 {
		return 1
	}
	return strings.Count(f.raw, string(f.sx.d.Repetition)) + 1
}

// Rep is repetition r, numbered from 1.
func (f Field) Rep(r int) Rep {
	if f.literal {
		if r == 1 {
			return Rep{raw: f.raw, sx: f.sx, literal: true}
		}
		return Rep{}
	}
	return Rep{raw: nth(f.raw, f.sx.d.Repetition, r), sx: f.sx}
}

// Reps yields every repetition in order, walking the field once.
func (f Field) Reps() iter.Seq2[int, Rep] {
	return func(yield func(int, Rep) bool) {
		if f.raw == "" {
			return
		}
		if f.literal || f.sx.d.Repetition == 0 {
			yield(1, f.Rep(1))
			return
		}
		rest := f.raw
		for i := 1; ; i++ {
			j := strings.IndexByte(rest, f.sx.d.Repetition)
			if j < 0 {
				yield(i, Rep{raw: rest, sx: f.sx})
				return
			}
			if !yield(i, Rep{raw: rest[:j], sx: f.sx}) {
				return
			}
			rest = rest[j+1:]
		}
	}
}

// Component is component c (from 1) of the first repetition, decoded.
func (f Field) Component(c int) string { return f.Rep(1).Component(c) }

// Sub is subcomponent s of component c of the first repetition, decoded.
func (f Field) Sub(c, s int) string { return f.Rep(1).Sub(c, s) }

// String is the field's first value, decoded: the first subcomponent of the
// first component of the first repetition. HL7 reads a composite value used
// where a simple one is expected in the same way.
func (f Field) String() string { return f.Rep(1).String() }

// Raw is the repetition as received.
func (r Rep) Raw() string { return r.raw }

// Component is component c (from 1), decoded; when it has subcomponents,
// the first of them.
func (r Rep) Component(c int) string { return r.Sub(c, 1) }

// Sub is subcomponent s of component c, both from 1, decoded.
func (r Rep) Sub(c, s int) string {
	if r.literal {
		if c == 1 && s == 1 {
			return r.raw
		}
		return ""
	}
	v := nth(r.raw, r.sx.d.Component, c)
	v = nth(v, r.sx.d.Subcomponent, s)
	return r.sx.decode(v)
}

// String is the repetition's first value, decoded.
func (r Rep) String() string { return r.Sub(1, 1) }

// nth is the n-th (from 1) part of s split at sep, "" when there is none.
// With no separator declared the whole of s is the only part.
func nth(s string, sep byte, n int) string {
	if n < 1 {
		return ""
	}
	if sep == 0 {
		if n == 1 {
			return s
		}
		return ""
	}
	for ; n > 1; n-- {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}
