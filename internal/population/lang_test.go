package population

import (
	"errors"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
)

func TestParse(t *testing.T) {
	set := mustSet(t)
	tests := []struct{ in, want string }{
		{"has(COPD)", "has(copd)"},
		{"has(copd) and age >= 65", "has(copd) and age >= 65"},
		{"count(emergency_admission, 12m) >= 2", "count(enc.emergency_admission, 12m) >= 2"},
		{"count(ae, 1y6m) > 1", "count(enc.ae, 1y6m) >= 2"},
		{"count(ae, 2w) < 3", "not count(enc.ae, 14d) >= 3"},
		{"count(ae, 90d) = 1", "count(enc.ae, 90d) >= 1 and not count(enc.ae, 90d) >= 2"},
		{"not latest(hba1c, 15m) <= 58", "not latest(obs.hba1c, 15m) <= 58"},
		{"latest(obs.egfr, 12m) < 44.5", "latest(obs.egfr, 12m) < 44.5"},
		{"latest(bmi, 2y) >= -1", "latest(obs.bmi, 2y) >= -1"},
		{"none(flu, since 2024-09-01)", "none(vacc.flu, since 2024-09-01)"},
		{"none(flu, 2024-09-01)", "none(vacc.flu, since 2024-09-01)"},
		{"none(copd_review, 12m)", "not count(proc.copd_review, 12m) >= 1"},
		{"practice in (zz0001, ZZ0002)", "practice in (ZZ0001, ZZ0002)"},
		{"practice != ZZ0001", "not practice in (ZZ0001)"},
		{"sex = Female", "sex in (female)"},
		{"sex in (male, other)", "sex in (male, other)"},
		{"age in 40..74", "age in 40..74"},
		{"age != 40", "age in 0..39 or age >= 41"},
		{"imd <= 3 and risk = 5 and kaiser > 2 and nwl = 14", "imd in 0..3 and risk = 5 and kaiser >= 3 and nwl = 14"},
		{"(has(copd) or has(asthma)) and alive", "(has(copd) or has(asthma)) and alive"},
		{"not not dead", "not not not alive"},
		{"has(copd) and age >= 65 and count(emergency_admission, 12m) >= 2 and not latest(hba1c, 15m) <= 58 and practice in (ZZ0001, ZZ0002)",
			"has(copd) and age >= 65 and count(enc.emergency_admission, 12m) >= 2 and not latest(obs.hba1c, 15m) <= 58 and practice in (ZZ0001, ZZ0002)"},
	}
	for _, tc := range tests {
		if tc.want == "" {
			continue
		}
		x, err := Parse(tc.in, set)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := x.String(); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
		// The text form reads back to the same expression.
		y, err := Parse(x.String(), set)
		if err != nil || y.String() != x.String() {
			t.Errorf("Parse(%q) = %v, %v; want it to read back", x.String(), y, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	set := mustSet(t)
	tests := []struct {
		in   string
		pos  int
		want string
	}{
		{"", 1, "empty cohort"},
		{"has(copd) and age >= 65 and has(COPDD)", 33, `unknown concept "COPDD" (did you mean "copd"?)`},
		{"has(hba1cc)", 5, `(did you mean "hba1c"?)`},
		{"has(zzzzzzzz)", 5, `unknown concept "zzzzzzzz"`},
		{"hass(copd)", 1, `unknown condition "hass" (did you mean "has"?)`},
		{"has(copd) andd age > 3", 11, "expected “and”, “or” or the end"},
		{"has(copd", 9, "expected “)”, found the end"},
		{"age >= 65.5", 8, "expected a whole number from 0 to 150"},
		{"age >= 200", 8, "whole number from 0 to 150"},
		{"age in 70..60", 12, "range 70..60 is empty"},
		{"age < 0", 5, "matches nobody"},
		{"age", 4, "expected a comparison or “in” after age"},
		{"count(ae, 12) >= 2", 11, "expected a window such as 12m"},
		{"count(ae, 12q) >= 2", 13, `bad window "12q"`},
		{"count(ae, 12m) >= -1", 19, "whole number from 0"},
		{"count(ae, 12m) 2", 16, "expected a comparison"},
		{"latest(hba1c, 3000m) > 1", 15, "too long"},
		{"none(flu, since 2024-13-01)", 17, `bad date "2024-13-01"`},
		{"none(flu, yesterday)", 11, "expected a window such as 12m or a date"},
		{"sex = dog", 7, `unknown sex "dog"`},
		{"practice in (ZZ1 ZZ2)", 18, "expected “,” or “)”"},
		{"has(copd) & alive", 11, `unexpected character '&'`},
		{"! alive", 1, "did you mean “!=” or “not”?"},
		{"alive and", 10, "expected a condition"},
		{"(alive", 7, "expected “)”"},
		{"has(copd) and café", 18, `unexpected character 'é'`},
		{strings.Repeat("(", 100) + "alive" + strings.Repeat(")", 100), 65, "nested more than 64 deep"},
		{strings.Repeat("x", MaxCohortText+1), MaxCohortText + 1, "longer than"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.in, set)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): err = %v, want a ParseError", tc.in, err)
			continue
		}
		if pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.want) {
			t.Errorf("Parse(%q): %v, want at %d: …%s…", tc.in, err, tc.pos, tc.want)
		}
		if !apperr.Is(err, apperr.Invalid) || apperr.Message(err) != err.Error() {
			t.Errorf("Parse(%q): kind %v, message %q; want Invalid with the same message", tc.in, apperr.KindOf(err), apperr.Message(err))
		}
	}
}

func FuzzParse(f *testing.F) {
	set := mustSet(f)
	for _, s := range []string{
		"has(copd) and age >= 65 and count(emergency_admission, 12m) >= 2 and not latest(hba1c, 15m) <= 58 and practice in (ZZ0001, ZZ0002)",
		"none(flu, since 2024-09-01) or (sex = female and imd in 1..3)", "latest(bmi, 1y6m) > -2.5", "age != 0", "count(ae, 2w) = 0",
	} {
		f.Add(s)
	}
	cat := newCatalog(set)
	f.Fuzz(func(t *testing.T, s string) {
		x, err := parse(s, cat)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Pos < 1 || pe.Pos > len([]rune(s))+1 {
				t.Fatalf("Parse(%q): bad error %v", s, err)
			}
			return
		}
		y, err := parse(x.String(), cat)
		if err != nil || y.String() != x.String() {
			t.Fatalf("Parse(%q) = %s, which reads back as %v, %v", s, x, y, err)
		}
	})
}
