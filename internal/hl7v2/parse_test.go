package hl7v2

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
)

// msg joins segments with CR, as a sender would.
func msg(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

func mustParse(t testing.TB, data []byte) *Message {
	t.Helper()
	m, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

const testMSH = `MSH|^~\&|PAS|RXR01|WHOLECARE|ICS|20240301101500+0000||ADT^A01^ADT_A01|CTRL0001|P|2.5.1`

func TestParseDelimitersAndNumbering(t *testing.T) {
	m := mustParse(t, msg(testMSH,
		`PID|1||LOCAL1^^^RXR^MR~9990000018^^^NHS^NH||TEST&van^PATIENT^^^MS|`,
		`ZZ1|a\F\b\S\c\T\d\R\e\E\f|x^y&z~second^rep`,
	))
	msh := m.Segment("MSH")
	tests := []struct {
		name, got, want string
	}{
		{"MSH-1 is the field separator", msh.Field(1).String(), "|"},
		{"MSH-2 is read as-is", msh.Field(2).String(), `^~\&`},
		{"MSH-2 raw", msh.Field(2).Raw(), `^~\&`},
		{"MSH-2 has no second component", msh.Field(2).Component(2), ""},
		{"MSH-3", msh.Field(3).String(), "PAS"},
		{"MSH-9.2", msh.Field(9).Component(2), "A01"},
		{"MSH-10", m.ControlID(), "CTRL0001"},
		{"MSH-12", m.Version(), "2.5.1"},
		{"PID-3 first rep", m.Segment("PID").Field(3).String(), "LOCAL1"},
		{"PID-3[2].5", m.Segment("PID").Field(3).Rep(2).Component(5), "NH"},
		{"PID-5.1 is its first subcomponent", m.Segment("PID").Field(5).Component(1), "TEST"},
		{"PID-5.1.2", m.Segment("PID").Field(5).Sub(1, 2), "van"},
		{"PID-5.5", m.Segment("PID").Field(5).Component(5), "MS"},
		{"trailing empty field", m.Segment("PID").Field(6).Raw(), ""},
		{"escapes decoded", m.Segment("ZZ1").Field(1).String(), `a|b^c&d~e\f`},
		{"escapes kept raw", m.Segment("ZZ1").Field(1).Raw(), `a\F\b\S\c\T\d\R\e\E\f`},
		{"rep 2 component 1", m.Segment("ZZ1").Field(2).Rep(2).Component(1), "second"},
		{"component 2 sub 2", m.Segment("ZZ1").Field(2).Sub(2, 2), "z"},
		{"missing field", m.Segment("PID").Field(99).String(), ""},
		{"field 0", m.Segment("PID").Field(0).String(), ""},
		{"negative field", m.Segment("PID").Field(-1).String(), ""},
		{"missing rep", m.Segment("PID").Field(3).Rep(9).Component(1), ""},
		{"rep 0", m.Segment("PID").Field(3).Rep(0).Component(1), ""},
		{"missing component", m.Segment("PID").Field(3).Component(40), ""},
		{"component 0", m.Segment("PID").Field(3).Component(0), ""},
		{"missing segment", m.Segment("PV1").Field(2).String(), ""},
		{"missing segment name", m.Segment("PV1").Name(), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if got := m.Segment("PID").Field(3).Len(); got != 2 {
		t.Errorf("PID-3 repetitions = %d, want 2", got)
	}
	if got := m.Segment("PID").Field(6).Len(); got != 0 {
		t.Errorf("empty field repetitions = %d, want 0", got)
	}
	var reps []string
	for i, r := range m.Segment("PID").Field(3).Reps() {
		reps = append(reps, r.Component(1)+"@"+string(rune('0'+i)))
	}
	if diff := cmp.Diff([]string{"LOCAL1@1", "9990000018@2"}, reps); diff != "" {
		t.Errorf("Reps (-want +got):\n%s", diff)
	}
	if got, want := m.Segment("PID").Len(), 6; got != want {
		t.Errorf("PID Len = %d, want %d", got, want)
	}
	if got := m.Segment("ZZ1").Index(); got != 3 {
		t.Errorf("ZZ1 Index = %d, want 3", got)
	}
	code, trigger, structure := m.Type()
	if code != "ADT" || trigger != "A01" || structure != "ADT_A01" {
		t.Errorf("Type = %q %q %q", code, trigger, structure)
	}
}

func TestParseOtherDelimiters(t *testing.T) {
	// Unusual but legal delimiters, and a v2.7 truncation character.
	m := mustParse(t, msg(`MSH#*!$%@#APP#FAC#####ADT*A08#1#P#2.7`, `PID#1##ID1*a%b!ID2##NAME*GIVEN$F$X#`))
	d := m.Delimiters()
	if want := (Delimiters{Field: '#', Component: '*', Repetition: '!', Escape: '$', Subcomponent: '%', Truncation: '@'}); d != want {
		t.Errorf("Delimiters = %+v, want %+v", d, want)
	}
	pid := m.Segment("PID")
	if got := pid.Field(3).Sub(2, 2); got != "b" {
		t.Errorf("PID-3.2.2 = %q", got)
	}
	if got := pid.Field(3).Rep(2).String(); got != "ID2" {
		t.Errorf("PID-3[2] = %q", got)
	}
	if got := pid.Field(5).Component(2); got != "GIVEN#X" {
		t.Errorf("PID-5.2 = %q, want GIVEN#X", got)
	}
	if got := m.Get("MSH-9.2"); got != "A08" {
		t.Errorf("MSH-9.2 = %q", got)
	}
	// Only two encoding characters: no escape, no subcomponents.
	m = mustParse(t, msg(`MSH|^~|A`, `PID|1||a\F\b&c`))
	if got := m.Segment("PID").Field(3).String(); got != `a\F\b&c` {
		t.Errorf("without an escape character = %q", got)
	}
}

func TestParseTerminators(t *testing.T) {
	want := [][]string{{"MSH", "|", `^~\&`, "A"}, {"PID", "1", "", "X"}, {"PV1", "1", "I"}}
	for name, in := range map[string]string{
		"CR":               "MSH|^~\\&|A\rPID|1||X\rPV1|1|I\r",
		"LF":               "MSH|^~\\&|A\nPID|1||X\nPV1|1|I\n",
		"CRLF":             "MSH|^~\\&|A\r\nPID|1||X\r\nPV1|1|I\r\n",
		"no final":         "MSH|^~\\&|A\rPID|1||X\rPV1|1|I",
		"BOM":              "\ufeffMSH|^~\\&|A\rPID|1||X\rPV1|1|I\r",
		"trailing empties": "MSH|^~\\&|A\rPID|1||X\rPV1|1|I\r\r\n\n  \r\n",
		"blank lines":      "\r\nMSH|^~\\&|A\r\rPID|1||X\n\nPV1|1|I\r",
	} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, []byte(in))
			var got [][]string
			for _, s := range m.All() {
				got = append(got, s.fields)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const secret = "SECRETNAME"
	tests := []struct {
		name string
		in   string
		lim  Limits
		want string // part of the error
		code ErrorCode
	}{
		{"empty", "", Limits{}, "empty message", CodeSegmentSequence},
		{"only newlines", "\r\n\r\n", Limits{}, "empty message", CodeSegmentSequence},
		{"no MSH", "PID|1||" + secret, Limits{}, "does not start with an MSH", CodeSegmentSequence},
		{"short MSH", "MSH|", Limits{}, "too short", CodeSegmentSequence},
		{"letter separator", "MSHX^~\\&X" + secret, Limits{}, "MSH-1", CodeDataType},
		{"no encoding characters", "MSH||" + secret, Limits{}, "MSH-2", CodeDataType},
		{"six encoding characters", "MSH|^~\\&#!|" + secret, Limits{}, "MSH-2", CodeDataType},
		{"repeated encoding character", "MSH|^^\\&|" + secret, Limits{}, "MSH-2", CodeDataType},
		{"field separator in MSH-2", "MSH|^~\\&\r", Limits{}, "", 0},
		{"bad segment name", "MSH|^~\\&|A\r1ID|" + secret, Limits{}, "segment 2: name", CodeSegmentSequence},
		{"lower-case name", "MSH|^~\\&|A\rpid|" + secret, Limits{}, "segment 2: name", CodeSegmentSequence},
		{"short name", "MSH|^~\\&|A\rPI", Limits{}, "segment 2: name", CodeSegmentSequence},
		{"name runs on", "MSH|^~\\&|A\rPIDX|" + secret, Limits{}, "segment 2: name", CodeSegmentSequence},
		{"second MSH", "MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B", Limits{}, "segment 3: a second MSH", CodeSegmentSequence},
		{"too large", "MSH|^~\\&|" + secret, Limits{MaxBytes: 10}, "over the limit of 10", CodeInternal},
		{"too many segments", "MSH|^~\\&|A\rPID|1\rPV1|1\rOBX|" + secret, Limits{MaxSegments: 3}, "more than 3 segments", CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLimits([]byte(tt.in), tt.lim)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q leaks message content", err)
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("error kind = %v, want Invalid", apperr.KindOf(err))
			}
			if got := CodeOf(err); got != tt.code {
				t.Errorf("CodeOf = %d, want %d", got, tt.code)
			}
		})
	}
}

func TestNilAccessorsDoNotPanic(t *testing.T) {
	var m *Message
	var s *Segment
	_ = m.Segment("PID").Field(3).Rep(2).Sub(1, 1)
	_ = m.Segments("OBX")
	_ = m.All()
	_ = m.Get("PID-3")
	_ = m.ControlID()
	_ = m.Encode()
	_ = s.Field(1).String()
	_ = s.Name() + s.Field(2).Component(3)
	_ = Field{}.Rep(1).Component(1)
	if s.Index() != 0 || s.Len() != 0 || m.Len() != 0 {
		t.Error("nil segment or message is not empty")
	}
}

func TestGet(t *testing.T) {
	m := mustParse(t, msg(testMSH,
		`PID|1||LOCAL1^^^RXR&1.2.3&ISO^MR~9990000018^^^NHS^NH`,
		`OBX|1|NM|a`, `OBX|2|ST|b`, `OBX|3|TX|c\.br\d`))
	tests := []struct{ path, want string }{
		{"PID-3", "LOCAL1"},
		{"PID-3[1]", "LOCAL1"},
		{"PID-3[2].1", "9990000018"},
		{"PID-3[2].5", "NH"},
		{"PID-3.4", "RXR"},
		{"PID-3.4.2", "1.2.3"},
		{"PID-3[1].4.3", "ISO"},
		{"PID-3[3]", ""},
		{"OBX(2)-3", "b"},
		{"OBX(3)-3", "c\nd"},
		{"OBX(4)-3", ""},
		{"MSH-1", "|"},
		{"MSH-2", `^~\&`},
		{"MSH-9.3", "ADT_A01"},
		{"PV1-2", ""},
		// Malformed paths read as absent.
		{"PID", ""},
		{"PID-", ""},
		{"PID-0", ""},
		{"PID-3[0]", ""},
		{"PID-3.", ""},
		{"PID-3[2", ""},
		{"pid-3", ""},
		{"PID-3x", ""},
		{"OBX(0)-3", ""},
	}
	for _, tt := range tests {
		if got := m.Get(tt.path); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	p, err := ParsePath("OBX(2)-5[3].4.1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Path{Segment: "OBX", Occurs: 2, Field: 5, Rep: 3, Component: 4, Sub: 1}, p); diff != "" {
		t.Errorf("ParsePath (-want +got):\n%s", diff)
	}
	if got := p.String(); got != "OBX(2)-5[3].4.1" {
		t.Errorf("Path.String = %q", got)
	}
	if _, err := ParsePath("PID-3[x]"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("ParsePath of a bad path: %v", err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	in := "\ufeffMSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\r\nEVN|A01\nPID|1||X\\T\\Y^^^Z~W||||\r\rPV1\r\n"
	m := mustParse(t, []byte(in))
	got := string(m.Encode())
	want := "MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\rEVN|A01\rPID|1||X\\T\\Y^^^Z~W||||\rPV1\r"
	if got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	m2 := mustParse(t, m.Encode())
	if !bytes.Equal(m2.Encode(), m.Encode()) {
		t.Error("parse, encode, parse is not stable")
	}
}

func TestSplit(t *testing.T) {
	in := "\ufeffFHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A|1\rPID|1\r\n\nMSH|^~\\&|B|2\nPID|2\nBTS|2\rFTS|1\r"
	var got []string
	for _, m := range Split([]byte(in)) {
		got = append(got, string(m))
	}
	want := []string{"MSH|^~\\&|A|1\rPID|1\r\n\n", "MSH|^~\\&|B|2\nPID|2\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Split (-want +got):\n%s", diff)
	}
	if got := Split([]byte("\ufeffMSH|^~\\&|A")); len(got) != 1 || string(got[0]) != "MSH|^~\\&|A" {
		t.Errorf("Split with BOM = %q", got)
	}
	if got := Split([]byte("no message here")); got != nil {
		t.Errorf("Split of junk = %q", got)
	}
}

func TestLatin1(t *testing.T) {
	m := mustParse(t, msg("MSH|^~\\&|A||||||ADT^A08|1|P|2.4||||||8859/1", "PID|1||1||M\xfcller^Ren\\XE9\\"))
	if got := m.Segment("PID").Field(5).Component(1); got != "Müller" {
		t.Errorf("Latin-1 family name = %q", got)
	}
	if got := m.Segment("PID").Field(5).Component(2); got != "René" {
		t.Errorf("Latin-1 hex escape = %q", got)
	}
	// Without MSH-18 the bytes are returned as they came.
	m = mustParse(t, msg("MSH|^~\\&|A", "PID|1||1||M\xfcller"))
	if got := m.Segment("PID").Field(5).Component(1); got != "M\xfcller" {
		t.Errorf("undeclared charset = %q", got)
	}
}

func TestSegments(t *testing.T) {
	m := mustParse(t, msg(testMSH, "OBX|1", "NTE|1", "OBX|2", "OBX|3"))
	var got []string
	for _, s := range m.Segments("OBX") {
		got = append(got, s.Field(1).String())
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, got); diff != "" {
		t.Errorf("Segments (-want +got):\n%s", diff)
	}
	if m.Segments("AL1") != nil {
		t.Error("Segments of an absent name is not empty")
	}
	if m.Len() != 5 {
		t.Errorf("Len = %d", m.Len())
	}
}

func TestSharedMessagesParse(t *testing.T) {
	msgs := mustSharedMessages(t)
	if len(msgs) < 100 {
		t.Fatalf("only %d shared messages found", len(msgs))
	}
	for _, sm := range msgs {
		m, err := Parse(sm.data)
		if err != nil {
			t.Errorf("%s: %v", sm.name, err)
			continue
		}
		if m.ControlID() == "" {
			t.Errorf("%s: no control id", sm.name)
		}
		if code, _, _ := m.Type(); code == "" {
			t.Errorf("%s: no message type", sm.name)
		}
		m2, err := Parse(m.Encode())
		if err != nil || !bytes.Equal(m2.Encode(), m.Encode()) || m2.Len() != m.Len() {
			t.Errorf("%s: encoding is not stable (%v)", sm.name, err)
		}
	}
	t.Logf("%d shared messages parsed", len(msgs))
}

func TestManyRepetitionsAreLinear(t *testing.T) {
	// 300,000 repetitions: reading them all must take one pass, not one
	// pass per repetition.
	field := strings.Repeat("X~", 300_000)
	m := mustParse(t, msg(testMSH, "PID|1||"+field))
	start := time.Now()
	n := 0
	for range m.Segment("PID").Field(3).Reps() {
		n++
	}
	if n != 300_001 {
		t.Errorf("%d repetitions, want 300001", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("reading the repetitions took %v", d)
	}
	a, err := ParseADT(mustParse(t, adtMsg("A31", "PID|1||"+field)))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Patient.Identifiers) != maxIdentifiers {
		t.Errorf("%d identifiers read, want the cap %d", len(a.Patient.Identifiers), maxIdentifiers)
	}
}
