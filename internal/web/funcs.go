package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"
)

// funcs are the helpers every page template may use: formatting only,
// never a decision about what to show.
var funcs = template.FuncMap{
	"thousands": Thousands,
	"pct":       func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2 Jan 2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2 Jan 2006 15:04")
	},
	"nhs": NHSNumber,
	"add": func(a, b int) int { return a + b },
}

// Thousands formats n with commas between groups of three digits.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// NHSNumber spaces a ten-digit NHS number 3-3-4, the way people read it.
func NHSNumber(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}
