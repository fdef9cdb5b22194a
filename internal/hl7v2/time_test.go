package hl7v2

import (
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

func TestParseDTM(t *testing.T) {
	plus0130 := time.FixedZone("", 90*60)
	minus0500 := time.FixedZone("", -5*3600)
	tests := []struct {
		in     string
		want   time.Time
		prec   Precision
		offset bool
	}{
		{"", time.Time{}, PrecisionNone, false},
		{`""`, time.Time{}, PrecisionNone, false},
		{"2024", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), PrecisionYear, false},
		{"202403", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), PrecisionMonth, false},
		{"20240229", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), PrecisionDay, false},
		{"2024022913", time.Date(2024, 2, 29, 13, 0, 0, 0, time.UTC), PrecisionHour, false},
		{"202402291345", time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC), PrecisionMinute, false},
		{"20240229134559", time.Date(2024, 2, 29, 13, 45, 59, 0, time.UTC), PrecisionSecond, false},
		{"20240229134559.1", time.Date(2024, 2, 29, 13, 45, 59, 100_000_000, time.UTC), PrecisionFraction, false},
		{"20240229134559.1234", time.Date(2024, 2, 29, 13, 45, 59, 123_400_000, time.UTC), PrecisionFraction, false},
		{"20240229134559+0130", time.Date(2024, 2, 29, 13, 45, 59, 0, plus0130), PrecisionSecond, true},
		{"20240229134559.5-0500", time.Date(2024, 2, 29, 13, 45, 59, 500_000_000, minus0500), PrecisionFraction, true},
		{"20240229-0500", time.Date(2024, 2, 29, 0, 0, 0, 0, minus0500), PrecisionDay, true},
		{"198908181126+0215", time.Date(1989, 8, 18, 11, 26, 0, 0, time.FixedZone("", 2*3600+15*60)), PrecisionMinute, true},
	}
	for _, tt := range tests {
		got, err := ParseDTM(tt.in)
		if err != nil {
			t.Errorf("ParseDTM(%q): %v", tt.in, err)
			continue
		}
		if !got.Time.Equal(tt.want) || got.Precision != tt.prec || got.HasOffset != tt.offset {
			t.Errorf("ParseDTM(%q) = %v %v %v, want %v %v %v", tt.in, got.Time, got.Precision, got.HasOffset, tt.want, tt.prec, tt.offset)
		}
		if _, off := got.Time.Zone(); tt.offset {
			if _, wantOff := tt.want.Zone(); off != wantOff {
				t.Errorf("ParseDTM(%q) offset %d, want %d", tt.in, off, wantOff)
			}
		}
	}
	for _, bad := range []string{
		"24", "202", "20240", "2024022", "20241301", "20240230", "20230229", "20240229240000",
		"20240229236000", "20240229235960", "2024-02-29", "20240229T1200", "20240229.5",
		"20240229120000.", "20240229120000.1234567890", "20240229120000+05", "20240229120000+1500",
		"20240229120000+0560", "2024022912000+0000", "abcd", "20240229 ", " 20240229", "2024+0000x",
	} {
		if _, err := ParseDTM(bad); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("ParseDTM(%q) error = %v, want Invalid", bad, err)
		} else if err != nil && containsValue(err.Error(), bad) {
			t.Errorf("ParseDTM(%q) error leaks the value: %v", bad, err)
		}
	}
}

func containsValue(msg, v string) bool {
	return len(v) >= 4 && len(msg) >= len(v) && (func() bool {
		for i := 0; i+len(v) <= len(msg); i++ {
			if msg[i:i+len(v)] == v {
				return true
			}
		}
		return false
	})()
}

func TestParseDTMIn(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skip("no time zone database")
	}
	got, err := ParseDTMIn("20240701120000", london)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 7, 1, 11, 0, 0, 0, time.UTC); !got.Time.Equal(want) {
		t.Errorf("London summer noon = %v, want %v", got.Time.UTC(), want)
	}
	// An explicit offset wins over the location.
	got, _ = ParseDTMIn("20240701120000+0000", london)
	if want := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC); !got.Time.Equal(want) {
		t.Errorf("explicit offset = %v, want %v", got.Time.UTC(), want)
	}
}

func TestDTMDate(t *testing.T) {
	// The date as written, not shifted by the offset.
	d, _ := ParseDTM("19850101000000+0700")
	if want := time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC); !d.Date().Equal(want) {
		t.Errorf("Date = %v, want %v", d.Date(), want)
	}
	y, _ := ParseDTM("1985")
	if !y.Date().IsZero() {
		t.Errorf("a year alone gave date %v", y.Date())
	}
	if !(DTM{}).Date().IsZero() || !(DTM{}).IsZero() {
		t.Error("zero DTM is not zero")
	}
}

func TestFormatDTM(t *testing.T) {
	got := FormatDTM(time.Date(2024, 3, 1, 10, 15, 0, 0, time.FixedZone("", 3600)))
	if got != "20240301101500+0100" {
		t.Errorf("FormatDTM = %q", got)
	}
	d, err := ParseDTM(got)
	if err != nil || !d.Time.Equal(time.Date(2024, 3, 1, 9, 15, 0, 0, time.UTC)) {
		t.Errorf("FormatDTM does not parse back: %v %v", d, err)
	}
}
