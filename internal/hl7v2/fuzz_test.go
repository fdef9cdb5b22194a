package hl7v2

import (
	"bytes"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// FuzzParse checks that no input makes the parser, the accessors, the ADT
// mapping or the ACK builders panic; that what parses encodes to something
// that parses to the same message; and that every ACK parses.
//
// It is seeded with every shared sample file whole (several messages, LF
// line ends, byte-order marks) and each message in them, when the shared
// data is present, and with a few hand-written messages always.
func FuzzParse(f *testing.F) {
	f.Add([]byte(""))
	f.Add(msg(testMSH, `PID|1||A\F\B^^^X&Y&Z~C||N\XE9\^G\.br\||19700101`, "PV1|1|I"))
	f.Add(adtMsg("A01", seg("PID", testPID), seg("PV1", testPV1)))
	f.Add(adtMsg("A40", seg("PID", testPID), "MRG|H1^^^RXR^MR"))
	f.Add([]byte("MSH#*!$%@#A#B\nPID#1##X*Y%Z!W\r\n"))
	f.Add([]byte("MSH|^|A"))
	for _, sf := range sharedFiles(f) {
		f.Add(sf.data)
		for _, m := range Split(sf.data) {
			f.Add(m)
		}
	}
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse(AckUnparseable(data, "unreadable", now)); err != nil {
			t.Fatalf("AckUnparseable gives an ACK that does not parse: %v", err)
		}
		m, err := Parse(data)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("Parse error of kind %v: %v", apperr.KindOf(err), err)
			}
			return
		}
		enc := m.Encode()
		m2, err := Parse(enc)
		if err != nil {
			t.Fatalf("encoded message does not parse: %v\n%q", err, enc)
		}
		if !bytes.Equal(m2.Encode(), enc) || m2.Len() != m.Len() || m2.Delimiters() != m.Delimiters() {
			t.Fatalf("parse, encode, parse is not stable:\n%q\n%q", enc, m2.Encode())
		}
		for i, s := range m.All() {
			s2 := m2.All()[i]
			if s.Name() != s2.Name() || s.Len() != s2.Len() {
				t.Fatalf("segment %d differs after encoding", i+1)
			}
			for n := 1; n <= s.Len()+1; n++ {
				f, f2 := s.Field(n), s2.Field(n)
				if f.Raw() != f2.Raw() || f.String() != f2.String() {
					t.Fatalf("%s-%d differs after encoding", s.Name(), n)
				}
				for _, r := range f.Reps() {
					for c := 1; c <= 4; c++ {
						for sub := 1; sub <= 3; sub++ {
							_ = r.Sub(c, sub)
						}
					}
				}
			}
		}
		_ = m.Get("PID-3[2].4.2")
		for _, code := range []string{AckAccept, AckError} {
			if _, err := Parse(Ack(m, code, "text | with ^ delimiters \\ & ~", now)); err != nil {
				t.Fatalf("Ack gives an ACK that does not parse: %v", err)
			}
		}
		a, err := ParseADT(m)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("ParseADT error of kind %v: %v", apperr.KindOf(err), err)
			}
			if _, perr := Parse(AckFor(m, err, now)); perr != nil {
				t.Fatalf("AckFor gives an ACK that does not parse: %v", perr)
			}
			return
		}
		if _, _, err := a.Items("", now); err != nil && !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("Items error of kind %v: %v", apperr.KindOf(err), err)
		}
	})
}
