package risk

import (
	"fmt"
	"math"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Consciousness is the ACVPU level.
type Consciousness string

const (
	Alert        Consciousness = "A"
	NewConfusion Consciousness = "C"
	Voice        Consciousness = "V"
	Pain         Consciousness = "P"
	Unresponsive Consciousness = "U"
)

// Vitals is one set of observations for NEWS2. NEWS2 is for adults (16
// and over) who are not pregnant; the caller decides that it applies.
type Vitals struct {
	RespirationRate int // breaths per minute
	SpO2            int // %
	// SpO2Scale2 scores SpO2 on Scale 2: only for hypercapnic respiratory
	// failure with a prescribed 88–92% target, decided and recorded by a
	// clinician. Scale 1 otherwise.
	SpO2Scale2    bool
	OnOxygen      bool // any supplemental oxygen; false is room air
	SystolicBP    int  // mmHg
	Pulse         int  // beats per minute
	Consciousness Consciousness
	Temperature   float64 // °C
}

// The plausible range of each input. A value outside it cannot be a living
// adult's reading (or is a device or typing error) and is rejected, never
// scored.
const (
	minRespirationRate, maxRespirationRate = 1, 80
	minSpO2, maxSpO2                       = 40, 100
	minSystolicBP, maxSystolicBP           = 40, 300
	minPulse, maxPulse                     = 20, 300
	minTemperature, maxTemperature         = 25.0, 45.0
)

// NEWS2Risk is the clinical risk of a NEWS2 result.
type NEWS2Risk string

const (
	NEWS2Low       NEWS2Risk = "low"        // aggregate 0–4, no single parameter scoring 3
	NEWS2LowMedium NEWS2Risk = "low-medium" // aggregate 0–4 with a single parameter scoring 3
	NEWS2Medium    NEWS2Risk = "medium"     // aggregate 5–6
	NEWS2High      NEWS2Risk = "high"       // aggregate 7 or more
)

// NEWS2Scores are the per-parameter scores.
type NEWS2Scores struct {
	RespirationRate int
	SpO2            int
	AirOrOxygen     int
	SystolicBP      int
	Pulse           int
	Consciousness   int
	Temperature     int
}

// NEWS2 is a scored set of observations with the response chart 4 asks for.
type NEWS2 struct {
	Total               int // 0–20
	Scores              NEWS2Scores
	SpO2Scale           int // 1 or 2
	Risk                NEWS2Risk
	MinimumObservations string // monitoring frequency
	Response            string // clinical response
}

// FieldError is one rejected input.
type FieldError struct {
	Field  string // the Vitals field
	Reason string
}

// FieldErrors is every rejected input of a Vitals; it is the cause of the
// apperr.Invalid error ScoreNEWS2 returns, so callers can point at fields.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Reason
	}
	return strings.Join(parts, "; ")
}

// Validate checks every input against its plausible range.
func (v Vitals) Validate() error {
	var fe FieldErrors
	intRange := func(field string, x, lo, hi int, unit string) {
		if x < lo || x > hi {
			fe = append(fe, FieldError{field, fmt.Sprintf("%d %s is outside %d–%d", x, unit, lo, hi)})
		}
	}
	intRange("RespirationRate", v.RespirationRate, minRespirationRate, maxRespirationRate, "/min")
	intRange("SpO2", v.SpO2, minSpO2, maxSpO2, "%")
	intRange("SystolicBP", v.SystolicBP, minSystolicBP, maxSystolicBP, "mmHg")
	intRange("Pulse", v.Pulse, minPulse, maxPulse, "/min")
	switch v.Consciousness {
	case Alert, NewConfusion, Voice, Pain, Unresponsive:
	default:
		fe = append(fe, FieldError{"Consciousness", fmt.Sprintf("%q is not one of A, C, V, P, U", string(v.Consciousness))})
	}
	if t := v.Temperature; math.IsNaN(t) || t < minTemperature || t > maxTemperature {
		fe = append(fe, FieldError{"Temperature", fmt.Sprintf("%.1f °C is outside %.1f–%.1f", t, minTemperature, maxTemperature)})
	}
	if len(fe) > 0 {
		return apperr.Wrap(apperr.Invalid, fe, "news2: implausible observations")
	}
	return nil
}

// ScoreNEWS2 scores one set of observations (RCP NEWS2 chart 1) and gives
// the risk and response (chart 4).
func ScoreNEWS2(v Vitals) (NEWS2, error) {
	if err := v.Validate(); err != nil {
		return NEWS2{}, err
	}
	out := NEWS2{SpO2Scale: 1}
	sc := &out.Scores
	sc.RespirationRate = news2RespirationRate(v.RespirationRate)
	if v.SpO2Scale2 {
		out.SpO2Scale = 2
		sc.SpO2 = news2SpO2Scale2(v.SpO2, v.OnOxygen)
	} else {
		sc.SpO2 = news2SpO2Scale1(v.SpO2)
	}
	if v.OnOxygen {
		sc.AirOrOxygen = 2
	}
	sc.SystolicBP = news2SystolicBP(v.SystolicBP)
	sc.Pulse = news2Pulse(v.Pulse)
	if v.Consciousness != Alert {
		sc.Consciousness = 3
	}
	sc.Temperature = news2Temperature(v.Temperature)

	parts := [...]int{sc.RespirationRate, sc.SpO2, sc.AirOrOxygen, sc.SystolicBP, sc.Pulse, sc.Consciousness, sc.Temperature}
	anyThree := false
	for _, p := range parts {
		out.Total += p
		anyThree = anyThree || p == 3
	}
	switch {
	case out.Total >= 7:
		out.Risk, out.MinimumObservations = NEWS2High, "continuous"
		out.Response = "Emergency response: critical-care team (airway skills); consider level 2/3 care"
	case out.Total >= 5:
		out.Risk, out.MinimumObservations = NEWS2Medium, "1-hourly"
		out.Response = "Urgent response: clinician competent in acute illness; monitored bed"
	case anyThree:
		out.Risk, out.MinimumObservations = NEWS2LowMedium, "1-hourly"
		out.Response = "Registered nurse informs the medical team"
	case out.Total >= 1:
		out.Risk, out.MinimumObservations = NEWS2Low, "4–6-hourly"
		out.Response = "Registered nurse assesses and decides on escalation"
	default:
		out.Risk, out.MinimumObservations = NEWS2Low, "12-hourly"
		out.Response = "Routine monitoring"
	}
	return out, nil
}

// Chart 1, row by row. Integers are the chart's own bands; temperature is
// compared as recorded against the upper edge of each one-decimal band
// (35.1–36.0 is above 35.0 up to and including 36.0).

func news2RespirationRate(x int) int {
	switch {
	case x <= 8:
		return 3
	case x <= 11:
		return 1
	case x <= 20:
		return 0
	case x <= 24:
		return 2
	default:
		return 3
	}
}

func news2SpO2Scale1(x int) int {
	switch {
	case x <= 91:
		return 3
	case x <= 93:
		return 2
	case x <= 95:
		return 1
	default:
		return 0
	}
}

// news2SpO2Scale2: 88–92% scores 0, and so does 93% or more on air; on
// oxygen, values above the target score 1–3.
func news2SpO2Scale2(x int, oxygen bool) int {
	switch {
	case x <= 83:
		return 3
	case x <= 85:
		return 2
	case x <= 87:
		return 1
	case x <= 92 || !oxygen:
		return 0
	case x <= 94:
		return 1
	case x <= 96:
		return 2
	default:
		return 3
	}
}

func news2SystolicBP(x int) int {
	switch {
	case x <= 90:
		return 3
	case x <= 100:
		return 2
	case x <= 110:
		return 1
	case x <= 219:
		return 0
	default:
		return 3
	}
}

func news2Pulse(x int) int {
	switch {
	case x <= 40:
		return 3
	case x <= 50:
		return 1
	case x <= 90:
		return 0
	case x <= 110:
		return 1
	case x <= 130:
		return 2
	default:
		return 3
	}
}

func news2Temperature(t float64) int {
	switch {
	case t <= 35.0:
		return 3
	case t <= 36.0:
		return 1
	case t <= 38.0:
		return 0
	case t <= 39.0:
		return 1
	default:
		return 2
	}
}
