package httpapi

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/web/chart"
)

// trendGuide is how a measure is judged on a trend chart: the standard
// targets (SPECS: QOF HbA1c ≤58 and BP ≤140/90, NEWS2 SpO2 scale 1, CKD
// eGFR stages), or, for peak flow and weight, the person's own
// thresholds from their plan's condition action plans. Bands with no
// guide are drawn without zones.
type trendGuide struct {
	zones      []chart.Zone
	thresholds []chart.Threshold
}

var inf = math.Inf(1)

var standardGuides = map[codes.Concept]trendGuide{
	"obs.systolic_bp": {zones: []chart.Zone{{Label: "At target", From: math.Inf(-1), To: 140, Kind: chart.Green},
		{Label: "Above target", From: 140, To: 180, Kind: chart.Amber}, {Label: "Severe", From: 180, To: inf, Kind: chart.Red}},
		thresholds: []chart.Threshold{{Label: "Target 140", Value: 140}}},
	"obs.diastolic_bp": {zones: []chart.Zone{{Label: "At target", From: math.Inf(-1), To: 90, Kind: chart.Green},
		{Label: "Above target", From: 90, To: 120, Kind: chart.Amber}, {Label: "Severe", From: 120, To: inf, Kind: chart.Red}},
		thresholds: []chart.Threshold{{Label: "Target 90", Value: 90}}},
	"obs.hba1c": {zones: []chart.Zone{{Label: "At target", From: math.Inf(-1), To: 58, Kind: chart.Green},
		{Label: "Above target", From: 58, To: 75, Kind: chart.Amber}, {Label: "High", From: 75, To: inf, Kind: chart.Red}},
		thresholds: []chart.Threshold{{Label: "Target 58", Value: 58}}},
	"obs.spo2": {zones: []chart.Zone{{Label: "Usual", From: 96, To: inf, Kind: chart.Green},
		{Label: "Low", From: 92, To: 96, Kind: chart.Amber}, {Label: "Very low", From: math.Inf(-1), To: 92, Kind: chart.Red}}},
	"obs.egfr": {zones: []chart.Zone{{Label: "60 or more", From: 60, To: inf, Kind: chart.Green},
		{Label: "30 to 59", From: 30, To: 60, Kind: chart.Amber}, {Label: "Under 30", From: math.Inf(-1), To: 30, Kind: chart.Red}}},
}

// personalGuides are the guides the person's own thresholds give: peak
// flow against their best (80% and 60%, as their asthma or COPD action
// plan says), weight against their dry weight (2 kg over is the heart
// failure plan's warning).
func personalGuides(bestPeakFlow int, dryWeight float64) map[codes.Concept]trendGuide {
	g := map[codes.Concept]trendGuide{}
	if bestPeakFlow > 0 {
		b := float64(bestPeakFlow)
		g["obs.peak_flow"] = trendGuide{
			zones: []chart.Zone{{Label: "Green: 80% of best or more", From: 0.8 * b, To: inf, Kind: chart.Green},
				{Label: "Amber", From: 0.6 * b, To: 0.8 * b, Kind: chart.Amber}, {Label: "Red: under 60% of best", From: math.Inf(-1), To: 0.6 * b, Kind: chart.Red}},
			thresholds: []chart.Threshold{{Label: "My best " + strconv.Itoa(bestPeakFlow), Value: b}}}
	}
	if dryWeight > 0 {
		g["obs.weight"] = trendGuide{
			zones: []chart.Zone{{Label: "Up to 2 kg over dry weight", From: math.Inf(-1), To: dryWeight + 2, Kind: chart.Green},
				{Label: "2 kg or more over dry weight", From: dryWeight + 2, To: inf, Kind: chart.Amber}},
			thresholds: []chart.Threshold{{Label: "Dry weight " + strconv.FormatFloat(dryWeight, 'f', 1, 64), Value: dryWeight}}}
	}
	return g
}

// trendCharts draws each trend as a line chart against its guide. The
// person's own thresholds come from the first open plan's condition
// action plans, read only when the person has a plan.
func (s *Server) trendCharts(ctx context.Context, v *personPageView) {
	if len(v.Trends) == 0 {
		return
	}
	var best int
	var dry float64
	if len(v.Plans) > 0 && s.deps.CarePlans != nil {
		if cur, err := s.deps.CarePlans.Current(ctx, v.Plans[0].ID); err == nil {
			for _, ap := range cur.Plan.ActionPlans {
				best = max(best, ap.Thresholds.BestPeakFlow)
				if ap.Thresholds.DryWeightKg > 0 {
					dry = ap.Thresholds.DryWeightKg
				}
			}
		}
	}
	own := personalGuides(best, dry)
	for i, t := range v.Trends {
		if len(t.Points) < 2 {
			continue // one reading is a value, not a trend: the table shows it
		}
		dates := make([]time.Time, len(t.Points))
		vals := make([]float64, len(t.Points))
		for j, p := range t.Points {
			dates[j], vals[j] = p.At, p.Value
		}
		g, ok := own[t.Concept]
		if !ok {
			g = standardGuides[t.Concept]
		}
		h, err := chart.Line{ID: "trend-" + strconv.Itoa(i), Title: t.Name, Dates: dates,
			Series: []chart.Series{{Name: t.Name, Values: vals}}, Thresholds: g.thresholds, Zones: g.zones,
			Unit: t.Unit, ValueLabel: t.Name + " (" + t.Unit + ")", Format: chart.Decimal}.HTML()
		if err != nil {
			s.deps.Log.Warn("drawing a trend chart", "measure", t.Name, "err", err)
			continue
		}
		v.TrendCharts = append(v.TrendCharts, h)
	}
}
