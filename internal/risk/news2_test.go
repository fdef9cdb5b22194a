package risk

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wholecare/wholecare/internal/apperr"
)

// normal scores 0 on every parameter.
var normal = Vitals{RespirationRate: 16, SpO2: 97, SystolicBP: 120, Pulse: 70, Consciousness: Alert, Temperature: 37.0}

func with(f func(v *Vitals)) Vitals {
	v := normal
	f(&v)
	return v
}

// TestNEWS2Parameters walks every band edge of chart 1, one parameter at a
// time with the others normal, so the total is that parameter's score.
func TestNEWS2Parameters(t *testing.T) {
	type edge struct {
		name  string
		v     Vitals
		score func(NEWS2Scores) int
		want  int
	}
	rr := func(s NEWS2Scores) int { return s.RespirationRate }
	sp := func(s NEWS2Scores) int { return s.SpO2 }
	ao := func(s NEWS2Scores) int { return s.AirOrOxygen }
	bp := func(s NEWS2Scores) int { return s.SystolicBP }
	hr := func(s NEWS2Scores) int { return s.Pulse }
	cn := func(s NEWS2Scores) int { return s.Consciousness }
	tp := func(s NEWS2Scores) int { return s.Temperature }
	var edges []edge
	for _, e := range []struct{ x, want int }{{1, 3}, {8, 3}, {9, 1}, {11, 1}, {12, 0}, {20, 0}, {21, 2}, {24, 2}, {25, 3}, {80, 3}} {
		edges = append(edges, edge{"respiration rate", with(func(v *Vitals) { v.RespirationRate = e.x }), rr, e.want})
	}
	for _, e := range []struct{ x, want int }{{40, 3}, {91, 3}, {92, 2}, {93, 2}, {94, 1}, {95, 1}, {96, 0}, {100, 0}} {
		edges = append(edges, edge{"SpO2 scale 1", with(func(v *Vitals) { v.SpO2 = e.x }), sp, e.want})
	}
	// Scale 2 on air: 88–92 and ≥ 93 on air both score 0.
	for _, e := range []struct{ x, want int }{{83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1}, {88, 0}, {92, 0}, {93, 0}, {97, 0}, {100, 0}} {
		edges = append(edges, edge{"SpO2 scale 2 on air", with(func(v *Vitals) { v.SpO2, v.SpO2Scale2 = e.x, true }), sp, e.want})
	}
	for _, e := range []struct{ x, want int }{{83, 3}, {87, 1}, {88, 0}, {92, 0}, {93, 1}, {94, 1}, {95, 2}, {96, 2}, {97, 3}, {100, 3}} {
		edges = append(edges, edge{"SpO2 scale 2 on oxygen", with(func(v *Vitals) { v.SpO2, v.SpO2Scale2, v.OnOxygen = e.x, true, true }), sp, e.want})
	}
	edges = append(edges,
		edge{"air", normal, ao, 0},
		edge{"oxygen", with(func(v *Vitals) { v.OnOxygen = true }), ao, 2},
	)
	for _, e := range []struct{ x, want int }{{40, 3}, {90, 3}, {91, 2}, {100, 2}, {101, 1}, {110, 1}, {111, 0}, {219, 0}, {220, 3}, {300, 3}} {
		edges = append(edges, edge{"systolic BP", with(func(v *Vitals) { v.SystolicBP = e.x }), bp, e.want})
	}
	for _, e := range []struct{ x, want int }{{20, 3}, {40, 3}, {41, 1}, {50, 1}, {51, 0}, {90, 0}, {91, 1}, {110, 1}, {111, 2}, {130, 2}, {131, 3}, {300, 3}} {
		edges = append(edges, edge{"pulse", with(func(v *Vitals) { v.Pulse = e.x }), hr, e.want})
	}
	for _, e := range []struct {
		c    Consciousness
		want int
	}{{Alert, 0}, {NewConfusion, 3}, {Voice, 3}, {Pain, 3}, {Unresponsive, 3}} {
		edges = append(edges, edge{"consciousness " + string(e.c), with(func(v *Vitals) { v.Consciousness = e.c }), cn, e.want})
	}
	for _, e := range []struct {
		x    float64
		want int
	}{{25.0, 3}, {35.0, 3}, {35.1, 1}, {36.0, 1}, {36.1, 0}, {38.0, 0}, {38.1, 1}, {39.0, 1}, {39.1, 2}, {45.0, 2}} {
		edges = append(edges, edge{"temperature", with(func(v *Vitals) { v.Temperature = e.x }), tp, e.want})
	}
	for _, e := range edges {
		got, err := ScoreNEWS2(e.v)
		if err != nil {
			t.Errorf("%s %+v: %v", e.name, e.v, err)
			continue
		}
		s := e.score(got.Scores)
		// Oxygen adds its own 2 points to the total on scale 2 on oxygen.
		wantTotal := e.want
		if e.v.OnOxygen && e.name != "oxygen" {
			wantTotal += 2
		}
		if s != e.want || got.Total != wantTotal {
			t.Errorf("%s %+v: parameter %d total %d, want %d %d", e.name, e.v, s, got.Total, e.want, wantTotal)
		}
	}
}

func TestNEWS2(t *testing.T) {
	tests := []struct {
		name      string
		v         Vitals
		wantTotal int
		wantRisk  NEWS2Risk
		wantObs   string
	}{
		{"all normal: 0 low, routine 12-hourly", normal, 0, NEWS2Low, "12-hourly"},
		{"RR 21 (2) = 2 low, RN assesses 4–6-hourly", with(func(v *Vitals) { v.RespirationRate = 21 }), 2, NEWS2Low, "4–6-hourly"},
		{"RR 21 (2) + oxygen (2) = 4 low (upper edge)", with(func(v *Vitals) { v.RespirationRate, v.OnOxygen = 21, true }), 4, NEWS2Low, "4–6-hourly"},
		{"new confusion alone (3) = 3 low-medium: a single 3", with(func(v *Vitals) { v.Consciousness = NewConfusion }), 3, NEWS2LowMedium, "1-hourly"},
		{"SBP 90 (3) + pulse 95 (1) = 4 low-medium", with(func(v *Vitals) { v.SystolicBP, v.Pulse = 90, 95 }), 4, NEWS2LowMedium, "1-hourly"},
		{"RR 21 (2) + oxygen (2) + temp 38.5 (1) = 5 medium (lower edge)", with(func(v *Vitals) { v.RespirationRate, v.OnOxygen, v.Temperature = 21, true, 38.5 }), 5, NEWS2Medium, "1-hourly"},
		{"RR 25 (3) + SpO2 95 (1) + pulse 95 (1) = 5 medium, not low-medium: the aggregate decides", with(func(v *Vitals) { v.RespirationRate, v.SpO2, v.Pulse = 25, 95, 95 }), 5, NEWS2Medium, "1-hourly"},
		{"RR 22 (2) + SpO2 94 (1) + SBP 105 (1) + pulse 115 (2) = 6 medium (upper edge)", with(func(v *Vitals) { v.RespirationRate, v.SpO2, v.SystolicBP, v.Pulse = 22, 94, 105, 115 }), 6, NEWS2Medium, "1-hourly"},
		{"RR 22 (2) + SpO2 93 (2) + SBP 105 (1) + pulse 115 (2) = 7 high (lower edge)", with(func(v *Vitals) { v.RespirationRate, v.SpO2, v.SystolicBP, v.Pulse = 22, 93, 105, 115 }), 7, NEWS2High, "continuous"},
		{
			"scale 2 COPD on oxygen at 90% (0) + oxygen (2) + RR 22 (2) = 4 low; the same 90% on scale 1 would add 3",
			Vitals{RespirationRate: 22, SpO2: 90, SpO2Scale2: true, OnOxygen: true, SystolicBP: 130, Pulse: 80, Consciousness: Alert, Temperature: 36.8},
			4, NEWS2Low, "4–6-hourly",
		},
		{
			"maximum: RR 25 (3) + SpO2 85 scale 1 (3) + oxygen (2) + SBP 85 (3) + pulse 135 (3) + unresponsive (3) + temp 34.0 (3) = 20 high",
			Vitals{RespirationRate: 25, SpO2: 85, OnOxygen: true, SystolicBP: 85, Pulse: 135, Consciousness: Unresponsive, Temperature: 34.0},
			20, NEWS2High, "continuous",
		},
	}
	golden := map[string]NEWS2{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScoreNEWS2(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != tt.wantTotal || got.Risk != tt.wantRisk || got.MinimumObservations != tt.wantObs {
				t.Errorf("got %d %s %q, want %d %s %q", got.Total, got.Risk, got.MinimumObservations, tt.wantTotal, tt.wantRisk, tt.wantObs)
			}
			golden[tt.name] = got
		})
	}
	checkGolden(t, "news2", golden)
}

func TestNEWS2Invalid(t *testing.T) {
	tests := []struct {
		name   string
		v      Vitals
		fields []string
	}{
		{"respiration rate 0", with(func(v *Vitals) { v.RespirationRate = 0 }), []string{"RespirationRate"}},
		{"respiration rate 81", with(func(v *Vitals) { v.RespirationRate = 81 }), []string{"RespirationRate"}},
		{"SpO2 101", with(func(v *Vitals) { v.SpO2 = 101 }), []string{"SpO2"}},
		{"SpO2 39", with(func(v *Vitals) { v.SpO2 = 39 }), []string{"SpO2"}},
		{"systolic 39", with(func(v *Vitals) { v.SystolicBP = 39 }), []string{"SystolicBP"}},
		{"systolic 301", with(func(v *Vitals) { v.SystolicBP = 301 }), []string{"SystolicBP"}},
		{"pulse 19", with(func(v *Vitals) { v.Pulse = 19 }), []string{"Pulse"}},
		{"pulse 301", with(func(v *Vitals) { v.Pulse = 301 }), []string{"Pulse"}},
		{"temperature 24.9", with(func(v *Vitals) { v.Temperature = 24.9 }), []string{"Temperature"}},
		{"temperature 45.1", with(func(v *Vitals) { v.Temperature = 45.1 }), []string{"Temperature"}},
		{"temperature NaN", with(func(v *Vitals) { v.Temperature = math.NaN() }), []string{"Temperature"}},
		{"consciousness missing", with(func(v *Vitals) { v.Consciousness = "" }), []string{"Consciousness"}},
		{"consciousness lower case", with(func(v *Vitals) { v.Consciousness = "a" }), []string{"Consciousness"}},
		{"the zero Vitals: every field", Vitals{}, []string{"RespirationRate", "SpO2", "SystolicBP", "Pulse", "Consciousness", "Temperature"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScoreNEWS2(tt.v)
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err %v does not carry FieldErrors", err)
			}
			var fields []string
			for _, f := range fe {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNEWS2ErrorMessageNamesTheInput(t *testing.T) {
	_, err := ScoreNEWS2(with(func(v *Vitals) { v.SpO2 = 120 }))
	want := "news2: implausible observations: SpO2: 120 % is outside 40–100"
	if err == nil || apperr.Message(err) != want {
		t.Errorf("message %q, want %q", apperr.Message(err), want)
	}
}
