package hl7v2

import (
	"strings"
	"unicode/utf8"
)

// maxSpace bounds the blank lines one \.sp n\ may produce, so that a few
// bytes of input cannot become megabytes of output.
const maxSpace = 20

// decode turns a received value into text: escape sequences are replaced
// by what they stand for, and ISO 8859-1 bytes become UTF-8 when the
// message declared that character set.
//
//	\F\ \S\ \T\ \R\ \E\ \P\  the field, component, subcomponent, repetition,
//	                         escape and truncation characters
//	\Xhhhh...\               the bytes given in hexadecimal
//	\.br\ and \.sp n\        a line break, n line breaks
//	\H\ \N\ \.fi\ \.nf\ \.in n\ \.ti n\ \.ce\ \Cxxyy\ \Mxxyyzz\
//	                         formatting and character-set switches, dropped
//
// Anything else between escape characters (\Z..\ local escapes, unknown or
// malformed sequences) is kept as received, as is an escape character with
// no closing one.
func (sx syntax) decode(s string) string {
	esc := sx.d.Escape
	if esc == 0 || strings.IndexByte(s, esc) < 0 {
		return sx.charset(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, esc)
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i+1:], esc)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+j]
		whole := s[i : i+j+2]
		s = s[i+j+2:]
		sx.unescape(&b, seq, whole)
	}
	return sx.charset(b.String())
}

// unescape writes what one escape sequence stands for; seq is the text
// between the escape characters, whole the sequence with them.
func (sx syntax) unescape(b *strings.Builder, seq, whole string) {
	d := sx.d
	switch seq {
	case "F":
		b.WriteByte(d.Field)
		return
	case "S":
		b.WriteByte(d.Component)
		return
	case "T":
		if d.Subcomponent != 0 {
			b.WriteByte(d.Subcomponent)
			return
		}
	case "R":
		b.WriteByte(d.Repetition)
		return
	case "E":
		b.WriteByte(d.Escape)
		return
	case "P":
		if d.Truncation != 0 {
			b.WriteByte(d.Truncation)
			return
		}
	case "H", "N", ".fi", ".nf", ".ce":
		return
	case ".br":
		b.WriteByte('\n')
		return
	}
	if seq == "" {
		b.WriteString(whole)
		return
	}
	switch {
	case seq[0] == 'X':
		if hexBytes(b, seq[1:]) {
			return
		}
	case strings.HasPrefix(seq, ".sp"):
		if n, ok := spaceCount(seq[3:]); ok {
			for range n {
				b.WriteByte('\n')
			}
			return
		}
	case strings.HasPrefix(seq, ".in"), strings.HasPrefix(seq, ".ti"):
		if _, ok := signedInt(strings.TrimSpace(seq[3:])); ok {
			return
		}
	case (seq[0] == 'C' && len(seq) == 5) || (seq[0] == 'M' && (len(seq) == 5 || len(seq) == 7)):
		if isHex(seq[1:]) {
			return
		}
	}
	b.WriteString(whole)
}

// hexBytes writes the bytes of an even-length hex string, reporting false
// (and writing nothing) when it is not one.
func hexBytes(b *strings.Builder, h string) bool {
	if h == "" || len(h)%2 != 0 || !isHex(h) {
		return false
	}
	for i := 0; i < len(h); i += 2 {
		b.WriteByte(unhex(h[i])<<4 | unhex(h[i+1]))
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// spaceCount reads the n of \.sp n\ (1 when absent).
func spaceCount(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 1, true
	}
	n, ok := signedInt(strings.TrimPrefix(s, "+"))
	if !ok || n < 0 {
		return 0, false
	}
	return min(n, maxSpace), true
}

func signedInt(s string) (int, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg || strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// charset turns ISO 8859-1 text into UTF-8 when the message declared it;
// otherwise the bytes are returned as received.
func (sx syntax) charset(s string) string {
	if !sx.latin1 {
		return s
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	buf := make([]byte, 0, len(s)+len(s)/4)
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, rune(s[i]))
	}
	return string(buf)
}

// EscapeText makes text safe to place in a value of a message with these
// delimiters: each delimiter becomes its escape sequence and CR and LF
// become \X0D\ and \X0A\. Without a declared escape character, delimiters
// and line ends become spaces, the only safe choice left.
func (d Delimiters) EscapeText(text string) string {
	special := func(c byte) bool {
		return c == '\r' || c == '\n' || c != 0 &&
			(c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape || c == d.Subcomponent || c == d.Truncation)
	}
	clean := true
	for i := 0; i < len(text); i++ {
		if special(text[i]) {
			clean = false
			break
		}
	}
	if clean {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + 8)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !special(c) {
			b.WriteByte(c)
			continue
		}
		if d.Escape == 0 {
			b.WriteByte(' ')
			continue
		}
		var seq string
		switch c {
		case '\r':
			seq = "X0D"
		case '\n':
			seq = "X0A"
		case d.Field:
			seq = "F"
		case d.Component:
			seq = "S"
		case d.Repetition:
			seq = "R"
		case d.Escape:
			seq = "E"
		case d.Subcomponent:
			seq = "T"
		case d.Truncation:
			seq = "P"
		}
		b.WriteByte(d.Escape)
		b.WriteString(seq)
		b.WriteByte(d.Escape)
	}
	return b.String()
}
