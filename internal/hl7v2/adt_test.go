package hl7v2

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/registry"
)

// seg builds a segment from numbered fields, so that tests need not count
// bars. Values are written as given (already escaped).
func seg(name string, fields map[int]string) string {
	n := 0
	for k := range fields {
		n = max(n, k)
	}
	parts := make([]string, n+1)
	parts[0] = name
	for k, v := range fields {
		parts[k] = v
	}
	return strings.Join(parts, "|")
}

// with returns a copy of fields with changes applied; "-" deletes a field.
func with(fields map[int]string, changes map[int]string) map[int]string {
	out := maps.Clone(fields)
	for k, v := range changes {
		if v == "-" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Synthetic test data: made-up names, NHS numbers from the 999 test range.
var (
	testPID = map[int]string{
		1:  "1",
		3:  "H123456^^^RXR^MR~999 000 0018^^^NHS^NH",
		5:  "TEST^PATIENT^^^MS~OTHER^NAME",
		7:  "19700215",
		8:  "F",
		11: "1 Test Street^^Leeds^^LS1 4AP^GBR^H",
		22: "A^White British",
		32: "01",
	}
	testPV1 = map[int]string{
		1:  "1",
		2:  "I",
		3:  "WARD1^BAY2^BED3^RXR01",
		4:  "EL",
		10: "GEN",
		19: "V100",
		44: "20240301100000",
	}
)

// adtMsg builds an ADT message with the given trigger, EVN time and
// segments after EVN.
func adtMsg(trigger string, segs ...string) []byte {
	head := []string{
		`MSH|^~\&|PAS|RXR01|WHOLECARE|ICS|20240301101500+0000||ADT^` + trigger + `^ADT_A01|CTRL-` + trigger + `|P|2.5.1`,
		"EVN|" + trigger + "|20240301101400||||20240301101000",
	}
	return msg(append(head, segs...)...)
}

func mustADT(t *testing.T, data []byte) *ADT {
	t.Helper()
	a, err := ParseADT(mustParse(t, data))
	if err != nil {
		t.Fatalf("ParseADT: %v", err)
	}
	return a
}

func dtmOf(t *testing.T, s string) DTM {
	t.Helper()
	d, err := ParseDTM(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseADT(t *testing.T) {
	a := mustADT(t, adtMsg("A01", seg("PID", with(testPID, map[int]string{29: "20240305", 30: "Y"})), "PD1|||GP PRACTICE^^B99999", seg("PV1", with(testPV1, map[int]string{36: "19", 45: "20240310120000"}))))
	want := &ADT{
		Trigger:         "A01",
		Structure:       "ADT_A01",
		ControlID:       "CTRL-A01",
		SendingApp:      "PAS",
		SendingFacility: "RXR01",
		MessageTime:     dtmOf(t, "20240301101500+0000"),
		EventTime:       dtmOf(t, "20240301101000"),
		Patient: Patient{
			Identifiers: []Identifier{
				{ID: "H123456", Authority: "RXR", Type: "MR"},
				{ID: "999 000 0018", Authority: "NHS", Type: "NH", NHS: true},
			},
			NHSNumber:  "9990000018",
			NHSStatus:  "01",
			FamilyName: "TEST",
			GivenName:  "PATIENT",
			BirthDate:  dtmOf(t, "19700215"),
			SexCode:    "F",
			Sex:        registry.Female,
			Postcode:   "LS1 4AP",
			Ethnicity:  "A",
			DeathTime:  dtmOf(t, "20240305"),
			Deceased:   "Y",
			PracticeID: "B99999",
		},
		Visit: &Visit{
			Class:           "I",
			Location:        Location{PointOfCare: "WARD1", Room: "BAY2", Bed: "BED3", Facility: "RXR01"},
			AdmissionType:   "EL",
			HospitalService: "GEN",
			VisitNumber:     "V100",
			Disposition:     "19",
			AdmitTime:       dtmOf(t, "20240301100000"),
			DischargeTime:   dtmOf(t, "20240310120000"),
		},
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("ParseADT (-want +got):\n%s", diff)
	}
}

func TestParseADTTimes(t *testing.T) {
	// EVN-2 when EVN-6 is absent; MSH-9.2 absent falls back to EVN-1.
	data := msg(`MSH|^~\&|PAS|RXR01|||20240301101500||ADT|C1|P|2.3`, "EVN|A08|20240301101400", seg("PID", testPID), "PV1|1|N")
	a := mustADT(t, data)
	if a.Trigger != "A08" {
		t.Errorf("Trigger = %q, want A08 from EVN-1", a.Trigger)
	}
	if want := time.Date(2024, 3, 1, 10, 14, 0, 0, time.UTC); !a.EventTime.Time.Equal(want) {
		t.Errorf("EventTime = %v, want %v", a.EventTime.Time, want)
	}
	// No EVN at all is accepted (some feeds leave it out).
	a = mustADT(t, msg(`MSH|^~\&|PAS|RXR01|||20240301101500||ADT^A31|C1|P|2.5`, seg("PID", testPID)))
	if !a.EventTime.IsZero() || a.Visit != nil {
		t.Errorf("without EVN and PV1: EventTime %v, Visit %v", a.EventTime, a.Visit)
	}
}

func TestParseADTErrors(t *testing.T) {
	const secret = "SECRETVALUE"
	tests := []struct {
		name string
		data []byte
		want string
		code ErrorCode
	}{
		{"not ADT", msg(`MSH|^~\&|LAB|RXR01|||20240301||ORU^R01|C1|P|2.5`), "message type ORU is not ADT", CodeUnsupportedMessageType},
		{"odd type not echoed", msg(`MSH|^~\&|LAB|RXR01|||20240301||` + secret + `^R01|C1|P|2.5`), "message type (unrecognised) is not ADT", CodeUnsupportedMessageType},
		{"unsupported trigger", adtMsg("A60", seg("PID", testPID)), "ADT^A60 is not supported", CodeUnsupportedEvent},
		{"no trigger", msg(`MSH|^~\&|PAS|RXR01|||20240301||ADT|C1|P|2.5`, seg("PID", testPID)), "ADT^(empty) is not supported", CodeUnsupportedEvent},
		{"A01 without PID", adtMsg("A01", seg("PV1", testPV1)), "A01 has no PID segment", CodeSegmentSequence},
		{"A03 without PV1", adtMsg("A03", seg("PID", testPID)), "A03 has no PV1 segment", CodeSegmentSequence},
		{"A11 without PV1", adtMsg("A11", seg("PID", testPID)), "A11 has no PV1 segment", CodeSegmentSequence},
		{"A40 without MRG", adtMsg("A40", seg("PID", testPID)), "A40 has no MRG segment", CodeSegmentSequence},
		{"A40 without PID", adtMsg("A40", "MRG|H1^^^RXR^MR"), "A40 segment 3: MRG before any PID", CodeSegmentSequence},
		{"A40 PID without MRG", adtMsg("A40", seg("PID", testPID), seg("PID", testPID), "MRG|H1"), "A40 segment 3: PID has no MRG segment after it", CodeSegmentSequence},
		{"A40 two MRG", adtMsg("A40", seg("PID", testPID), "MRG|H1", "MRG|H2"), "A40 segment 5: a second MRG", CodeSegmentSequence},
		{"A40 empty MRG-1", adtMsg("A40", seg("PID", testPID), "MRG|^^^RXR"), "A40 segment 4: MRG-1 has no prior identifier", CodeRequiredFieldMissing},
		{"bad birth date", adtMsg("A01", seg("PID", with(testPID, map[int]string{7: "1970" + secret})), seg("PV1", testPV1)), "A01 PID-7 birth date is not an HL7 date/time", CodeDataType},
		{"bad death date", adtMsg("A08", seg("PID", with(testPID, map[int]string{29: "2024-01-01"})), seg("PV1", testPV1)), "A08 PID-29 death date", CodeDataType},
		{"bad admit time", adtMsg("A01", seg("PID", testPID), seg("PV1", with(testPV1, map[int]string{44: "yesterday"}))), "A01 PV1-44 admit time", CodeDataType},
		{"bad discharge time", adtMsg("A03", seg("PID", testPID), seg("PV1", with(testPV1, map[int]string{45: "20241301"}))), "A03 PV1-45 discharge time", CodeDataType},
		{"bad message time", msg(`MSH|^~\&|PAS|RXR01|||2024030||ADT^A08|C1|P|2.5`, seg("PID", testPID), "PV1|1|N"), "A08 MSH-7 message time", CodeDataType},
		{"bad event time", msg(`MSH|^~\&|PAS|RXR01|||20240301||ADT^A08|C1|P|2.5`, "EVN||2024x", seg("PID", testPID), "PV1|1|N"), "A08 EVN-2 recorded time", CodeDataType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.data)
			_, err := ParseADT(m)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q leaks content", err)
			}
			if !apperr.Is(err, apperr.Invalid) || CodeOf(err) != tt.code {
				t.Errorf("error kind %v code %d, want Invalid %d", apperr.KindOf(err), CodeOf(err), tt.code)
			}
		})
	}
	if _, err := ParseADT(nil); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("ParseADT(nil) = %v", err)
	}
}

func TestSexMapping(t *testing.T) {
	for code, want := range map[string]registry.Sex{
		"M": registry.Male, "F": registry.Female, "O": registry.Other, "A": registry.Other,
		"U": registry.Unknown, "N": registry.Unknown, "m": registry.Male, "X": registry.Unknown, "": "", `""`: "",
	} {
		a := mustADT(t, adtMsg("A31", seg("PID", with(testPID, map[int]string{8: code}))))
		if a.Patient.Sex != want {
			t.Errorf("PID-8 %q = %q, want %q", code, a.Patient.Sex, want)
		}
	}
}

func TestNHSNumberRecognised(t *testing.T) {
	tests := []struct {
		pid3 string
		want string
	}{
		{"H1^^^RXR^MR~9990000026^^^^NH", "9990000026"},
		{"H1^^^RXR^MR~9990000026^^^NHS", "9990000026"},
		{"H1^^^RXR^MR~9990000026^^^&2.16.840.1.113883.2.1.4.1&ISO^NH", "9990000026"},
		{"H1^^^RXR^MR~9990000026^^^&2.16.840.1.113883.2.1.4.1&ISO", "9990000026"},
		{"H1^^^RXR^MR~9990000026^^^2.16.840.1.113883.2.1.4.1", "9990000026"},
		{"H1^^^SIMULATOR MRN^MRN~9990000026^^^NHSNBR^NHSNMBR", "9990000026"},
		{"H1^^^RXR^MR~9990000026^^^USSSA^SS", ""},
		{"9990000026^^^NHS^NH~9990000034^^^NHS^NH", "9990000026"},
		{`""`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		a := mustADT(t, adtMsg("A31", seg("PID", with(testPID, map[int]string{3: tt.pid3}))))
		if a.Patient.NHSNumber != tt.want {
			t.Errorf("PID-3 %q: NHS number %q, want %q", tt.pid3, a.Patient.NHSNumber, tt.want)
		}
	}
}

func TestValidNHSNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"9990000018": true, "9990000026": true, "9990000019": false, "999000001": false,
		"99900000181": false, "999000001X": false, "": false,
		"0000000000": true, // check digit 0 from sum 0: well formed, if unlikely
	} {
		if got := validNHSNumber(s); got != want {
			t.Errorf("validNHSNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestSupported(t *testing.T) {
	got := slices.Sorted(maps.Keys(adtTriggers))
	want := []string{"A01", "A02", "A03", "A04", "A05", "A08", "A11", "A12", "A13", "A28", "A31", "A34", "A40"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("supported triggers (-want +got):\n%s", diff)
	}
	if Supported("A60") || !Supported("A01") {
		t.Error("Supported is wrong")
	}
}
