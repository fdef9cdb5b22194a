package httpapi

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/codes"
)

func trendOf(c codes.Concept, name, unit string, vals ...float64) TrendView {
	t := TrendView{Concept: c, Name: name, Unit: unit}
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i, v := range vals {
		t.Points = append(t.Points, struct {
			At    time.Time
			Value float64
		}{at.AddDate(0, i, 0), v})
	}
	return t
}

func TestTrendChartsUseTargetsAndOwnThresholds(t *testing.T) {
	s := &Server{deps: Deps{Log: slog.New(slog.DiscardHandler)}}
	v := &personPageView{Trends: []TrendView{
		trendOf("obs.hba1c", "HbA1c", "mmol/mol", 61, 57, 66),
		trendOf("obs.weight", "Body weight", "kg", 80), // one reading: no chart
		trendOf("obs.peak_flow", "Peak expiratory flow rate", "L/min", 380, 300, 410),
	}}
	s.trendCharts(t.Context(), v)
	if len(v.TrendCharts) != 2 {
		t.Fatalf("%d charts, want 2 (a single reading is not a trend)", len(v.TrendCharts))
	}
	hba1c, peak := string(v.TrendCharts[0]), string(v.TrendCharts[1])
	for _, want := range []string{`role="img"`, "Target 58", "<table", "At target"} {
		if !strings.Contains(hba1c, want) {
			t.Errorf("HbA1c chart lacks %q", want)
		}
	}
	// Without a plan there is no best peak flow: no personal zones.
	if strings.Contains(peak, "My best") {
		t.Error("peak flow chart shows a personal best the person has not got")
	}
	g := personalGuides(450, 72.5)
	if pf := g["obs.peak_flow"]; len(pf.zones) != 3 || pf.zones[0].From != 360 || pf.zones[1].From != 270 || pf.thresholds[0].Value != 450 {
		t.Errorf("peak flow guide for best 450: %+v", pf)
	}
	if w := g["obs.weight"]; len(w.zones) != 2 || w.zones[1].From != 74.5 {
		t.Errorf("weight guide for dry weight 72.5: %+v", w)
	}
}
