package hl7v2

import (
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Precision is how much of a date/time was sent.
type Precision uint8

// Precisions, coarsest first. PrecisionNone is an absent value.
const (
	PrecisionNone Precision = iota
	PrecisionYear
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
	PrecisionFraction // seconds with a decimal fraction
)

// DTM is an HL7 date/time (data types DTM, DT and the first component of
// TS) with the precision it was sent at.
//
// A value with a +/-ZZZZ offset keeps that offset as its zone. A value
// without one is, by the standard, in the sender's local time, which a
// receiver cannot know: ParseDTM reads it as UTC, and ParseDTMIn reads it
// in a zone the caller knows the sender uses.
type DTM struct {
	Time      time.Time // zero when Precision is PrecisionNone
	Precision Precision
	HasOffset bool // the value carried its own +/-ZZZZ offset
}

// IsZero reports whether no value was sent.
func (d DTM) IsZero() bool { return d.Precision == PrecisionNone }

// Date is the calendar date as written (ignoring any offset), as a UTC
// midnight, the form the registry keeps dates in. It is zero when the value
// is coarser than a day: a birth year alone is not a birth date.
func (d DTM) Date() time.Time {
	if d.Precision < PrecisionDay {
		return time.Time{}
	}
	y, m, dd := d.Time.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

var errDTM = apperr.E(apperr.Invalid, "hl7v2: not an HL7 date/time YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]")

// ParseDTM parses YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ], reading a value
// without an offset as UTC. An empty value, or the explicit null `""`, is
// the zero DTM. The error never contains the value.
func ParseDTM(s string) (DTM, error) { return ParseDTMIn(s, time.UTC) }

// ParseDTMIn is ParseDTM reading a value without an offset in loc.
func ParseDTMIn(s string, loc *time.Location) (DTM, error) {
	if s == "" || s == `""` {
		return DTM{}, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	main, zone := s, ""
	for i := 4; i < len(s); i++ {
		if s[i] == '+' || s[i] == '-' {
			main, zone = s[:i], s[i:]
			break
		}
	}
	digits, frac := main, ""
	for i := 0; i < len(main); i++ {
		if main[i] == '.' {
			digits, frac = main[:i], main[i+1:]
			break
		}
	}
	if !allDigits(digits) || len(digits) < 4 || len(digits) > 14 || len(digits)%2 != 0 {
		return DTM{}, errDTM
	}
	if main != digits && (len(digits) != 14 || frac == "" || len(frac) > 9 || !allDigits(frac)) {
		return DTM{}, errDTM
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range digits[i : i+n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	p := Precision(len(digits)/2 - 1)
	year, month, day, hour, minute, sec, nsec := num(0, 4), 1, 1, 0, 0, 0, 0
	if p >= PrecisionMonth {
		month = num(4, 2)
	}
	if p >= PrecisionDay {
		day = num(6, 2)
	}
	if p >= PrecisionHour {
		hour = num(8, 2)
	}
	if p >= PrecisionMinute {
		minute = num(10, 2)
	}
	if p >= PrecisionSecond {
		sec = num(12, 2)
	}
	if frac != "" {
		p = PrecisionFraction
		for i := 0; i < 9; i++ {
			nsec *= 10
			if i < len(frac) {
				nsec += int(frac[i] - '0')
			}
		}
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return DTM{}, errDTM
	}
	z := loc
	if zone != "" {
		if len(zone) != 5 || !allDigits(zone[1:]) {
			return DTM{}, errDTM
		}
		hh, mm := int(zone[1]-'0')*10+int(zone[2]-'0'), int(zone[3]-'0')*10+int(zone[4]-'0')
		if hh > 14 || mm > 59 {
			return DTM{}, errDTM
		}
		off := (hh*60 + mm) * 60
		if zone[0] == '-' {
			off = -off
		}
		z = time.FixedZone("", off)
	}
	return DTM{
		Time:      time.Date(year, time.Month(month), day, hour, minute, sec, nsec, z),
		Precision: p,
		HasOffset: zone != "",
	}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// FormatDTM writes t to the second with its offset, as Wholecare writes
// times in the messages it sends (MSH-7 of an ACK).
func FormatDTM(t time.Time) string { return t.Format("20060102150405-0700") }
