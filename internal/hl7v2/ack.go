package hl7v2

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Acknowledgement codes (HL7 table 0008, original mode).
const (
	AckAccept = "AA" // accepted and stored
	AckError  = "AE" // the content is wrong; resending it unchanged will fail again
	AckReject = "AR" // refused for a reason other than content (down, not allowed, unreadable header); may be resent
)

// maxAckText bounds the user message in ERR-8 (and MSA-3).
const maxAckText = 200

// Ack builds the acknowledgement of msg: an MSH answering it (sending and
// receiving application and facility swapped, a new control id, MSH-9
// ACK^<trigger>^ACK, the same processing id and version), an MSA with code
// and the original control id, and for AE and AR an ERR with ERR-3 207
// (application internal error), ERR-4 severity E and ERR-8 errText.
// errText must be safe to send back: no person data. A nil msg gives an
// ACK with an empty MSA-2.
func Ack(msg *Message, code, errText string, now time.Time) []byte {
	return buildAck(msg, code, CodeInternal, errText, now)
}

// AckFor builds the ACK for the outcome of handling msg: AA when err is
// nil; otherwise AE or AR by err's apperr kind, ERR-3 from CodeOf(err) and
// ERR-8 from apperr.Message(err) (so an Internal error says only "internal
// error").
//
//	Invalid, NotFound, Conflict, Internal  AE: resending the same message will not help
//	Unavailable, Forbidden                 AR: the sender may resend later or elsewhere
//	unsupported type, event, processing id or version (codes 200-203)  AR
func AckFor(msg *Message, err error, now time.Time) []byte {
	if err == nil {
		return buildAck(msg, AckAccept, 0, "", now)
	}
	code := AckError
	cond := CodeOf(err)
	switch {
	case cond >= CodeUnsupportedMessageType && cond <= CodeUnsupportedVersion:
		code = AckReject
	case apperr.Is(err, apperr.Unavailable), apperr.Is(err, apperr.Forbidden):
		code = AckReject
	}
	return buildAck(msg, code, cond, apperr.Message(err), now)
}

// AckUnparseable builds an AR for bytes that are not a message Parse
// accepts (or that were too large to read). It salvages what it can from
// the header (MSH-10 for MSA-2, the sender and receiver, version) and uses
// standard delimiters for everything else.
func AckUnparseable(raw []byte, errText string, now time.Time) []byte {
	return buildAck(salvage(raw), AckReject, CodeInternal, errText, now)
}

// salvage reads what it can of a header that did not parse: the MSH alone
// when it parses by itself, else a message holding just the control id
// when it is plainly an identifier.
func salvage(raw []byte) *Message {
	raw = bytes.TrimPrefix(raw, bom)
	raw = bytes.TrimLeft(raw, "\r\n \t")
	if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
		raw = raw[:i]
	}
	if len(raw) > DefaultMaxBytes {
		raw = raw[:DefaultMaxBytes]
	}
	if m, err := Parse(raw); err == nil {
		return m
	}
	if !bytes.HasPrefix(raw, []byte("MSH")) || len(raw) < 4 {
		return nil
	}
	parts := bytes.Split(raw[4:], raw[3:4]) // parts[k] is MSH-(k+2)
	if len(parts) < 9 || !plainID(parts[8]) {
		return nil
	}
	m, err := Parse([]byte("MSH|^~\\&||||||||" + string(parts[8])))
	if err != nil {
		return nil
	}
	return m
}

// plainID reports whether b looks like a control id and nothing else:
// short, and letters, digits, '.', '-' and '_' only.
func plainID(b []byte) bool {
	if len(b) == 0 || len(b) > 199 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func buildAck(msg *Message, code string, cond ErrorCode, text string, now time.Time) []byte {
	d := msg.Delimiters()
	msh := msg.Segment("MSH")
	raw := func(n int) string { return msh.Field(n).Raw() }
	_, trigger, _ := msg.Type()
	legacy := legacyVersion(msg.Version())
	text = ackText(text)

	var b bytes.Buffer
	f := func(s string) { b.WriteByte(d.Field); b.WriteString(s) }
	b.WriteString("MSH")
	b.WriteByte(d.Field)
	b.WriteString(encodingChars(d))
	f(raw(5)) // MSH-3 sending application: whoever we answer received theirs
	f(raw(6))
	f(raw(3))
	f(raw(4))
	f(FormatDTM(now))
	f("")
	mtype := "ACK"
	if trigger != "" {
		mtype += string(d.Component) + d.EscapeText(trigger) + string(d.Component) + "ACK"
	}
	f(mtype)
	f(newControlID(now))
	proc := raw(11)
	if proc == "" {
		proc = "P"
	}
	f(proc)
	version := raw(12)
	if version == "" {
		version = "2.5"
	}
	f(version)
	if cs := raw(18); cs != "" {
		f("")
		f("")
		f("")
		f("")
		f("")
		f(cs)
	}
	b.WriteByte('\r')

	b.WriteString("MSA")
	f(code)
	f(raw(10))
	if code != AckAccept && legacy {
		f(d.EscapeText(text))
	}
	b.WriteByte('\r')

	if code != AckAccept {
		if cond == 0 {
			cond = CodeInternal
		}
		c, s := string(d.Component), string(d.Subcomponent)
		if d.Subcomponent == 0 {
			s = c
		}
		b.WriteString("ERR")
		if legacy {
			// ERR-1, error code and location, the only ERR field before v2.5.
			f(c + c + c + fmt.Sprint(int(cond)) + s + cond.Text() + s + "HL70357")
		} else {
			f("")
		}
		f("")
		f(fmt.Sprint(int(cond)) + c + cond.Text() + c + "HL70357")
		f("E")
		f("")
		f("")
		f("")
		f(d.EscapeText(text))
		b.WriteByte('\r')
	}
	return b.Bytes()
}

// encodingChars is MSH-2 for d.
func encodingChars(d Delimiters) string {
	var out []byte
	for _, c := range []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent, d.Truncation} {
		if c == 0 {
			break
		}
		out = append(out, c)
	}
	return string(out)
}

// legacyVersion reports whether v is before 2.5, when the ERR segment held
// only ERR-1 and the text went in MSA-3.
func legacyVersion(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major < 2 || major == 2 && minor < 5
}

// ackText makes the user message one short line.
func ackText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxAckText {
		s = s[:maxAckText]
		for len(s) > 0 && s[len(s)-1]&0xc0 == 0x80 {
			s = s[:len(s)-1] // do not cut a UTF-8 sequence
		}
		if len(s) > 0 && s[len(s)-1] >= 0xc0 {
			s = s[:len(s)-1]
		}
	}
	return s
}

// newControlID is a control id for a message Wholecare sends: the time to
// the second and six hex digits of a counter that starts at a random
// point, 20 characters (the v2.3-2.6 maximum). Ids are unique within a
// process for 16 million ACKs and very likely unique across restarts.
func newControlID(now time.Time) string {
	n := (ackSeqStart() + ackSeq.Add(1)) & 0xffffff
	return now.UTC().Format("20060102150405") + fmt.Sprintf("%06x", n)
}

var (
	ackSeq      atomic.Uint32
	ackSeqStart = sync.OnceValue(rand.Uint32)
)
