package hl7v2

import (
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Path addresses one value in a message, written as in
//
//	PID-3             field 3 of the first PID
//	PID-3[2].1.2      repetition 2, component 1, subcomponent 2
//	OBX(3)-5          field 5 of the third OBX
//
// Numbers start at 1; a part left out means the first (Rep, Component and
// Sub are then 1), following HL7's rule that a composite value read as a
// simple one is its first part.
type Path struct {
	Segment   string
	Occurs    int // which segment of that name
	Field     int
	Rep       int
	Component int
	Sub       int
}

// ParsePath parses the text form of a path.
func ParsePath(s string) (Path, error) {
	bad := func() (Path, error) {
		return Path{}, apperr.E(apperr.Invalid, "hl7v2: a path is SEG[(n)]-F[[r]][.c[.s]], e.g. PID-3[2].1")
	}
	p := Path{Occurs: 1, Rep: 1, Component: 1, Sub: 1}
	if len(s) < 5 || !validName(s) {
		return bad()
	}
	p.Segment, s = s[:3], s[3:]
	var ok bool
	if strings.HasPrefix(s, "(") {
		if p.Occurs, s, ok = bracketed(s, '(', ')'); !ok {
			return bad()
		}
	}
	if !strings.HasPrefix(s, "-") {
		return bad()
	}
	if p.Field, s, ok = number(s[1:]); !ok {
		return bad()
	}
	if strings.HasPrefix(s, "[") {
		if p.Rep, s, ok = bracketed(s, '[', ']'); !ok {
			return bad()
		}
	}
	if strings.HasPrefix(s, ".") {
		if p.Component, s, ok = number(s[1:]); !ok {
			return bad()
		}
		if strings.HasPrefix(s, ".") {
			if p.Sub, s, ok = number(s[1:]); !ok {
				return bad()
			}
		}
	}
	if s != "" {
		return bad()
	}
	return p, nil
}

func number(s string) (int, string, bool) {
	i := 0
	for i < len(s) && i < 6 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 1 {
		return 0, s, false
	}
	return n, s[i:], true
}

func bracketed(s string, open, close byte) (int, string, bool) {
	n, rest, ok := number(s[1:])
	if !ok || !strings.HasPrefix(rest, string(close)) || s[0] != open {
		return 0, s, false
	}
	return n, rest[1:], true
}

// String writes the path in its text form, every part spelt out.
func (p Path) String() string {
	return p.Segment + "(" + strconv.Itoa(p.Occurs) + ")-" + strconv.Itoa(p.Field) +
		"[" + strconv.Itoa(p.Rep) + "]." + strconv.Itoa(p.Component) + "." + strconv.Itoa(p.Sub)
}

// Get is the decoded value at path (see Path), "" when it is absent or the
// path is malformed.
func (m *Message) Get(path string) string {
	p, err := ParsePath(path)
	if err != nil {
		return ""
	}
	return m.At(p)
}

// At is the decoded value at p, "" when it is absent.
func (m *Message) At(p Path) string {
	if m == nil || p.Occurs < 1 {
		return ""
	}
	n := 0
	for i := range m.segs {
		if m.segs[i].fields[0] != p.Segment {
			continue
		}
		if n++; n == p.Occurs {
			return m.segs[i].Field(p.Field).Rep(p.Rep).Sub(p.Component, p.Sub)
		}
	}
	return ""
}
