package hl7v2

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

var ackNow = time.Date(2024, 3, 1, 10, 16, 0, 0, time.UTC)

const ackIn = `MSH|^~\&|PAS^1.2.3^ISO|RXR01|WHOLECARE|ICS|20240301101500+0000||ADT^A03^ADT_A03|CTRL0001|T|2.5.1`

// ackFields parses an ACK and returns the values tests look at.
func ackFields(t *testing.T, ack []byte) *Message {
	t.Helper()
	if len(ack) == 0 || ack[len(ack)-1] != '\r' {
		t.Fatalf("ACK %q does not end with CR", ack)
	}
	m, err := Parse(ack)
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, ack)
	}
	return m
}

func TestAckAccept(t *testing.T) {
	in := mustParse(t, msg(ackIn, "PID|1||SECRET-ID||SECRET^NAME"))
	ack := Ack(in, AckAccept, "", ackNow)
	if strings.Contains(string(ack), "SECRET") {
		t.Errorf("ACK copies patient data: %q", ack)
	}
	m := ackFields(t, ack)
	for path, want := range map[string]string{
		"MSH-3":   "WHOLECARE",
		"MSH-4":   "ICS",
		"MSH-5":   "PAS",
		"MSH-5.2": "1.2.3",
		"MSH-6":   "RXR01",
		"MSH-7":   "20240301101600+0000",
		"MSH-9.1": "ACK",
		"MSH-9.2": "A03",
		"MSH-9.3": "ACK",
		"MSH-11":  "T",
		"MSH-12":  "2.5.1",
		"MSA-1":   "AA",
		"MSA-2":   "CTRL0001",
		"MSA-3":   "",
	} {
		if got := m.Get(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	id := m.ControlID()
	if id == "" || id == "CTRL0001" || len(id) > 20 || !strings.HasPrefix(id, "20240301101600") {
		t.Errorf("ACK control id %q is not a new 20-character id", id)
	}
	if m.Segment("ERR") != nil {
		t.Error("an AA has an ERR segment")
	}
	seen := map[string]bool{id: true}
	for range 2000 {
		id := mustParse(t, Ack(in, AckAccept, "", ackNow)).ControlID()
		if seen[id] {
			t.Fatalf("control id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestAckError(t *testing.T) {
	in := mustParse(t, msg(ackIn))
	m := ackFields(t, Ack(in, AckError, "bad | text ^ with\r\ndelimiters", ackNow))
	for path, want := range map[string]string{
		"MSA-1":   "AE",
		"MSA-2":   "CTRL0001",
		"MSA-3":   "", // withdrawn after 2.4
		"ERR-1":   "",
		"ERR-3.1": "207",
		"ERR-3.2": "Application internal error",
		"ERR-3.3": "HL70357",
		"ERR-4":   "E",
		"ERR-8":   "bad | text ^ with  delimiters",
	} {
		if got := m.Get(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	long := strings.Repeat("é", 300)
	m = ackFields(t, Ack(in, AckReject, long, ackNow))
	if got := m.Get("ERR-8"); len(got) > maxAckText || !strings.HasPrefix(long, got) {
		t.Errorf("long text = %d bytes %q", len(got), got)
	}
}

func TestAckFor(t *testing.T) {
	in := mustParse(t, msg(ackIn))
	tests := []struct {
		name     string
		err      error
		code     string
		cond     string
		text     string
		notInAck string
	}{
		{"accepted", nil, "AA", "", "", ""},
		{"invalid with code", invalid(CodeRequiredFieldMissing, "hl7v2: A03 PV1-44 admit time is missing"), "AE", "101", "hl7v2: A03 PV1-44 admit time is missing", ""},
		{"invalid without code", apperr.E(apperr.Invalid, "bad"), "AE", "207", "bad", ""},
		{"not found", WithCode(apperr.E(apperr.NotFound, "no such patient"), CodeUnknownKey), "AE", "204", "no such patient", ""},
		{"unsupported event", invalid(CodeUnsupportedEvent, "hl7v2: ADT^A99 is not supported"), "AR", "201", "hl7v2: ADT^A99 is not supported", ""},
		{"unavailable", apperr.Wrap(apperr.Unavailable, errors.New("db down at 10.0.0.1"), "store busy"), "AR", "207", "store busy: db down at 10.0.0.1", ""},
		{"internal hides cause", apperr.Wrap(apperr.Internal, errors.New("SECRET detail"), "saving"), "AE", "207", "internal error", "SECRET"},
		{"plain error", errors.New("SECRET"), "AE", "207", "internal error", "SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack := AckFor(in, tt.err, ackNow)
			m := ackFields(t, ack)
			if got := m.Get("MSA-1"); got != tt.code {
				t.Errorf("MSA-1 = %q, want %q", got, tt.code)
			}
			if got := m.Get("ERR-3"); got != tt.cond {
				t.Errorf("ERR-3 = %q, want %q", got, tt.cond)
			}
			if got := m.Get("ERR-8"); got != tt.text {
				t.Errorf("ERR-8 = %q, want %q", got, tt.text)
			}
			if tt.notInAck != "" && strings.Contains(string(ack), tt.notInAck) {
				t.Errorf("ACK holds %q: %q", tt.notInAck, ack)
			}
		})
	}
}

func TestAckLegacyVersion(t *testing.T) {
	in := mustParse(t, msg(`MSH|^~\&|SIMHOSP|SFAC|RAPP|RFAC|20200508130643||ADT^A01|5|T|2.3|||AL||44|ASCII`))
	m := ackFields(t, AckFor(in, invalid(CodeDataType, "hl7v2: A01 PID-7 birth date is not an HL7 date/time"), ackNow))
	for path, want := range map[string]string{
		"MSA-1":     "AE",
		"MSA-2":     "5",
		"MSA-3":     "hl7v2: A01 PID-7 birth date is not an HL7 date/time",
		"ERR-1.4":   "102",
		"ERR-1.4.2": "Data type error",
		"ERR-3":     "102",
		"MSH-12":    "2.3",
		"MSH-18":    "ASCII",
	} {
		if got := m.Get(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
}

func TestAckKeepsDelimiters(t *testing.T) {
	in := mustParse(t, msg(`MSH#*!$%#APP#FAC#WC#ICS#20240301##ADT*A01#C1#P#2.5`))
	ack := Ack(in, AckError, "a#b*c", ackNow)
	if !strings.HasPrefix(string(ack), "MSH#*!$%#WC#ICS#APP#FAC#") {
		t.Errorf("ACK header = %q", ack)
	}
	m := ackFields(t, ack)
	if got := m.Get("ERR-8"); got != "a#b*c" {
		t.Errorf("ERR-8 = %q", got)
	}
	if got := m.Get("MSH-9.2"); got != "A01" {
		t.Errorf("MSH-9.2 = %q", got)
	}
}

func TestAckUnparseable(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		control string
		sender  string
	}{
		{"bad later segment", "MSH|^~\\&|PAS|RXR|WC|ICS|20240301||ADT^A01|C-77|P|2.4\rPID|1\rbad segment", "C-77", "PAS"},
		{"bad encoding characters", "MSH|^^^|PAS|RXR|WC|ICS|20240301||ADT^A01|C.78|P|2.4\rPID", "C.78", ""},
		{"control id with delimiters", "MSH|^^^|PAS|RXR|WC|ICS|20240301||ADT^A01|C^78|P|2.4", "", ""},
		{"not HL7", "GET / HTTP/1.1\r\n", "", ""},
		{"empty", "", "", ""},
		{"truncated header", "MSH|^~\\&|PAS", "", "PAS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ackFields(t, AckUnparseable([]byte(tt.raw), "message not readable", ackNow))
			if got := m.Get("MSA-1"); got != "AR" {
				t.Errorf("MSA-1 = %q", got)
			}
			if got := m.Get("MSA-2"); got != tt.control {
				t.Errorf("MSA-2 = %q, want %q", got, tt.control)
			}
			if got := m.Get("MSH-5"); got != tt.sender {
				t.Errorf("MSH-5 = %q, want %q", got, tt.sender)
			}
			if got := m.Get("ERR-8"); got != "message not readable" {
				t.Errorf("ERR-8 = %q", got)
			}
			if got := m.Get("MSH-9"); got != "ACK" {
				t.Errorf("MSH-9 = %q", got)
			}
		})
	}
}

func TestAckNilMessage(t *testing.T) {
	m := ackFields(t, Ack(nil, AckReject, "x", ackNow))
	if m.Get("MSA-1") != "AR" || m.Get("MSA-2") != "" || m.Get("MSH-12") != "2.5" {
		t.Errorf("ACK of nil = %q", m.Encode())
	}
}
