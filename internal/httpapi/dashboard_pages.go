package httpapi

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/record"
	"github.com/wholecare/wholecare/internal/segment"
	"github.com/wholecare/wholecare/internal/web"
	"github.com/wholecare/wholecare/internal/web/chart"
)

// The population dashboard is the aggregate face of the population
// engine: the same counts as GET /api/v1/cohorts/count and
// GET /api/v1/caregaps, drawn as charts with their data tables. Like those
// endpoints it shows no count from 1 to 4 to anyone, so that what is on
// the screen may be printed or passed on; a share computed from a hidden
// count is hidden too.

// dashboardPageRoutes registers the dashboard and case finding.
func (s *Server) dashboardPageRoutes() {
	if s.deps.Population == nil || s.deps.Web == nil {
		return
	}
	s.page("GET /dashboard", permitted, s.handleDashboardPage())
	s.caseFindingPageRoutes()
}

// dashboardMonths is how many whole months the admissions chart covers.
const dashboardMonths = 24

type dashOption struct {
	Value, Label string
	Selected     bool
}

type dashFigure struct {
	Label, Value, Share string
}

type dashboardView struct {
	AsOf       time.Time
	Practices  []dashOption
	PCNs       []dashOption
	Conditions []dashOption
	Indicators []dashOption
	Filtered   string // what the figures are limited to, in words; "" for everyone
	Headline   []dashFigure
	Kaiser     template.HTML
	Segments   template.HTML
	Pyramid    template.HTML
	Prevalence template.HTML
	Gaps       template.HTML
	GapsNote   string
	Admissions template.HTML
	Hidden     bool // some count was 1 to 4 and is not shown
	TookMS     string
}

// dashCount is a count as the dashboard may show it: NaN when it must be
// hidden (1 to 4).
func dashCount(n int, hidden *bool) float64 {
	if _, ok := access.Suppress(int64(n)); !ok {
		*hidden = true
		return math.NaN()
	}
	return float64(n)
}

// dashShare is part/whole as a percentage, hidden (NaN) when either count
// is, and NaN when whole is zero.
func dashShare(part, whole int, hidden *bool) float64 {
	p, w := dashCount(part, hidden), dashCount(whole, hidden)
	if math.IsNaN(p) || math.IsNaN(w) || w == 0 {
		return math.NaN()
	}
	return 100 * p / w
}

func dashText(v float64) string {
	if math.IsNaN(v) {
		return "fewer than 5"
	}
	return web.Thousands(int64(v))
}

func dashPct(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "%"
}

// conceptLabel is a concept's name for people: the code set's name when
// there is one.
func (s *Server) conceptLabel(c codes.Concept) string {
	if s.deps.Codes != nil {
		if in, ok := s.deps.Codes.Info(c); ok && in.Name != "" {
			return in.Name
		}
	}
	return strings.ReplaceAll(string(c), "_", " ")
}

// handleDashboardPage draws the population dashboard for the whole
// population, a primary care network or a practice.
func (s *Server) handleDashboardPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := access.Allow(r.Context(), access.ReadAggregates); err != nil {
			return err
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		start := time.Now()
		now := s.deps.Now()
		asOf := now.UTC().Truncate(24 * time.Hour)
		q := r.URL.Query()
		v := dashboardView{AsOf: asOf}

		// Practices and networks: the engine's practices, named and grouped
		// through the directory when there is one.
		alive, err := eng.Eval(population.Alive(), now)
		if err != nil {
			return err
		}
		all, err := eng.Breakdown(alive, population.DimPractice, now)
		if err != nil {
			return err
		}
		names, pcnOf, pcnNames := map[string]string{}, map[string]string{}, map[string]string{}
		if s.deps.Directory != nil {
			dir, err := s.deps.Directory.Directory(r.Context())
			if err != nil {
				return err
			}
			for _, o := range dir.Organisations {
				names[o.ID] = o.Name
				if o.Kind == directory.PCN {
					pcnNames[o.ID] = o.Name
				}
			}
			for _, o := range dir.Organisations {
				if o.Kind == directory.GPPractice && o.ParentID != "" {
					pcnOf[o.ID] = o.ParentID
				}
			}
		}
		label := func(code string) string {
			if n := names[code]; n != "" {
				return n + " (" + code + ")"
			}
			return code
		}
		practice, pcn := q.Get("practice"), q.Get("pcn")
		var practices []string // in the engine, alive people registered
		pcnSeen := map[string]bool{}
		for _, g := range all {
			if g.Key == "unknown" {
				continue
			}
			practices = append(practices, g.Key)
			if p := pcnOf[g.Key]; p != "" {
				pcnSeen[p] = true
			}
		}
		slices.Sort(practices)
		if practice != "" && !slices.Contains(practices, practice) {
			practice = ""
		}
		if pcn != "" && !pcnSeen[pcn] {
			pcn = ""
		}
		for _, p := range practices {
			v.Practices = append(v.Practices, dashOption{p, label(p), p == practice})
		}
		for _, p := range slices.Sorted(maps.Keys(pcnSeen)) {
			l := p
			if n := pcnNames[p]; n != "" {
				l = n + " (" + p + ")"
			}
			v.PCNs = append(v.PCNs, dashOption{p, l, p == pcn})
		}
		// The practices in view: one, a network's, or all.
		inView := practices
		base := population.Alive()
		switch {
		case practice != "":
			inView = []string{practice}
			base = population.And(base, population.Practice(practice))
			v.Filtered = label(practice)
		case pcn != "":
			inView = nil
			for _, p := range practices {
				if pcnOf[p] == pcn {
					inView = append(inView, p)
				}
			}
			base = population.And(base, population.Practice(inView...))
			v.Filtered = v.PCNs[slices.IndexFunc(v.PCNs, func(o dashOption) bool { return o.Value == pcn })].Label
		}
		people, err := eng.Eval(base, now)
		if err != nil {
			return err
		}
		prof, err := eng.Profile(people, now)
		if err != nil {
			return err
		}

		// Headline figures.
		hid := &v.Hidden
		headline := func(l string, n int) {
			c := dashCount(n, hid)
			v.Headline = append(v.Headline, dashFigure{l, dashText(c), dashPct(dashShare(n, prof.People, hid))})
		}
		headline("People", prof.People)
		headline("Two or more long-term conditions", prof.MultiLTC)
		for i := len(prof.Kaiser) - 1; i >= 0; i-- {
			headline(dashLevelName(i), prof.Kaiser[i])
		}
		headline("Severe frailty (eFI over 0.36)", prof.Frailty[3])

		// The Kaiser pyramid, level 3 at the top. A hidden count cannot go
		// into the levels triangle, which prints every count: then the
		// levels are drawn as bars, whose table says "No data" for it.
		var anyHidden bool
		for _, n := range prof.Kaiser {
			if _, ok := access.Suppress(int64(n)); !ok {
				anyHidden = true
			}
		}
		if !anyHidden {
			lv := chart.Levels{ID: "kaiser", Title: "People at each level of the Kaiser Permanente pyramid"}
			for i := 3; i >= 0; i-- {
				lv.Levels = append(lv.Levels, chart.Level{Name: dashLevelName(i), Count: prof.Kaiser[i]})
			}
			if v.Kaiser, err = lv.HTML(); err != nil {
				return err
			}
		} else {
			b := chart.Bar{ID: "kaiser", Title: "People at each level of the Kaiser Permanente pyramid", Horizontal: true,
				Unit: "people", ValueLabel: "People", CategoryLabel: "Level", Series: []chart.Series{{Name: "People"}}}
			for i := 3; i >= 0; i-- {
				b.Categories = append(b.Categories, dashLevelName(i))
				b.Series[0].Values = append(b.Series[0].Values, dashCount(prof.Kaiser[i], hid))
			}
			if v.Kaiser, err = b.HTML(); err != nil {
				return err
			}
		}

		// Bridges to Health segments.
		seg := chart.Bar{ID: "segments", Title: "People in each Bridges to Health segment", Horizontal: true,
			Unit: "people", ValueLabel: "People", CategoryLabel: "Segment", Series: []chart.Series{{Name: "People"}}}
		for i, b := range segment.BridgesSegments {
			seg.Categories = append(seg.Categories, capitalFirst(b.String()))
			seg.Series[0].Values = append(seg.Series[0].Values, dashCount(prof.Bridges[i], hid))
		}
		if v.Segments, err = seg.HTML(); err != nil {
			return err
		}

		// Age and sex.
		pyr := chart.Pyramid{ID: "age-sex", Title: "People by age and sex", Unit: "people", ValueLabel: "People",
			Left: chart.Series{Name: "Male"}, Right: chart.Series{Name: "Female"}}
		for i, b := range prof.AgeSex {
			lo := i * population.PyramidBandYears
			band := fmt.Sprintf("%d to %d", lo, lo+population.PyramidBandYears-1)
			if i == len(prof.AgeSex)-1 {
				band = fmt.Sprintf("%d and over", lo)
			}
			pyr.Bands = append(pyr.Bands, band)
			pyr.Left.Values = append(pyr.Left.Values, dashCount(b[1], hid))
			pyr.Right.Values = append(pyr.Right.Values, dashCount(b[0], hid))
		}
		if v.Pyramid, err = pyr.HTML(); err != nil {
			return err
		}

		// Prevalence of one condition by practice.
		listSize := map[string]int{}
		for _, g := range all {
			listSize[g.Key] = g.Count
		}
		var conds []codes.Concept
		for _, c := range segment.LongTermConditions {
			if _, err := eng.Parse("has(" + string(c) + ")"); err == nil {
				conds = append(conds, c)
			}
		}
		cond := codes.Concept(q.Get("condition"))
		if !slices.Contains(conds, cond) && len(conds) > 0 {
			cond = conds[0]
		}
		for _, c := range conds {
			v.Conditions = append(v.Conditions, dashOption{string(c), capitalFirst(s.conceptLabel(c)), c == cond})
		}
		if cond != "" {
			reg, err := eng.Eval(population.And(base, population.Concept(cond)), now)
			if err != nil {
				return err
			}
			byPractice, err := eng.Breakdown(reg, population.DimPractice, now)
			if err != nil {
				return err
			}
			onReg := map[string]int{}
			for _, g := range byPractice {
				onReg[g.Key] = g.Count
			}
			b := chart.Bar{ID: "prevalence", Title: "People with " + s.conceptLabel(cond) + ", per cent of each practice's registered people",
				Horizontal: true, Format: chart.Percent, Unit: "per cent", ValueLabel: "Per cent of registered people", CategoryLabel: "Practice",
				Series: []chart.Series{{Name: "Prevalence"}}}
			for _, p := range inView {
				b.Categories = append(b.Categories, label(p))
				b.Series[0].Values = append(b.Series[0].Values, dashShare(onReg[p], listSize[p], hid))
			}
			if v.Prevalence, err = b.HTML(); err != nil {
				return err
			}
		}

		// Care gaps open by practice, for one indicator.
		if s.deps.CareGaps != nil {
			inds := s.deps.CareGaps.Indicators()
			ind := q.Get("indicator")
			if !slices.ContainsFunc(inds, func(in caregaps.Indicator) bool { return in.ID == ind }) && len(inds) > 0 {
				ind = inds[0].ID
			}
			var chosen caregaps.Indicator
			for _, in := range inds {
				v.Indicators = append(v.Indicators, dashOption{in.ID, in.ID + ": " + in.Title, in.ID == ind})
				if in.ID == ind {
					chosen = in
				}
			}
			if chosen.ID != "" {
				one, err := caregaps.Compile([]caregaps.Indicator{chosen}, eng.Parse, s.deps.Codes)
				if err != nil {
					return err
				}
				reps, err := one.Population(eng, asOf, population.DimPractice)
				if err != nil {
					return err
				}
				byKey := map[string]caregaps.Counts{}
				for _, g := range reps[0].Groups {
					byKey[g.Key] = g.Counts
				}
				b := chart.Bar{ID: "gaps", Title: chosen.ID + ": people eligible with the gap open, per cent, by practice",
					Horizontal: true, Format: chart.Percent, Unit: "per cent", ValueLabel: "Per cent of eligible people with the gap open",
					CategoryLabel: "Practice", Series: []chart.Series{{Name: "Gap open"}}}
				for _, p := range inView {
					b.Categories = append(b.Categories, label(p))
					b.Series[0].Values = append(b.Series[0].Values, dashShare(byKey[p].Gaps, byKey[p].Eligible, hid))
				}
				if v.Gaps, err = b.HTML(); err != nil {
					return err
				}
				v.GapsNote = chosen.Title + ". Closing a gap: " + chosen.Action
			}
		}

		// Emergency admissions per month.
		months, err := eng.MonthlyEvents(population.EncounterConcept(record.EmergencyAdmission), people, now, dashboardMonths)
		if err != nil {
			return err
		}
		adm := chart.Bar{ID: "admissions", Title: "Emergency admissions each month", Unit: "admissions",
			ValueLabel: "Emergency admissions", CategoryLabel: "Month", Series: []chart.Series{{Name: "Emergency admissions"}}}
		for _, m := range months {
			adm.Categories = append(adm.Categories, m.Month.Format("Jan 2006"))
			adm.Series[0].Values = append(adm.Series[0].Values, dashCount(m.Count, hid))
		}
		if v.Admissions, err = adm.HTML(); err != nil {
			return err
		}

		v.TookMS = strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 1, 64)
		p := s.frame(r, "Population", web.SecDashboard)
		p.Data = v
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusOK, "dashboard", p)
		return nil
	}
}

func dashLevelName(i int) string {
	return capitalFirst(segment.Level(i).String())
}

func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
