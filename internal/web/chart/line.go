package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// ZoneKind is the colour of a zone band: green, amber or red, always with a
// text label so the colour is never the only cue.
type ZoneKind int

const (
	Green ZoneKind = iota
	Amber
	Red
)

func (k ZoneKind) fill() string {
	switch k {
	case Amber:
		return zoneAmber
	case Red:
		return zoneRed
	default:
		return zoneGreen
	}
}

// Zone is a shaded horizontal band from From to To, such as a person's
// amber peak flow zone. Either bound may be ±Inf for an open-ended band; it
// is drawn to the edge of the axis.
type Zone struct {
	Label    string
	From, To float64
	Kind     ZoneKind
}

// Threshold is a horizontal reference line, such as a person's best peak
// flow or dry weight.
type Threshold struct {
	Label string
	Value float64
}

// Line is a line chart of one or more series over ordered x positions:
// Dates (drawn to time scale, for observations taken on irregular days) or,
// when Dates is nil, Labels (evenly spaced, for months). NaN values break
// the line. Points are drawn as markers, round for the first series, square
// for the second and so on, and series also differ by dash pattern.
type Line struct {
	ID    string // unique on the page; letters, digits, '-' and '_'
	Title string
	Desc  string // generated from the data when empty

	Dates  []time.Time // in order; each series has one value per date
	Labels []string    // used when Dates is nil
	Series []Series

	Thresholds []Threshold
	Zones      []Zone

	Format     Format
	Unit       string // for the description, e.g. "L/min"
	ValueLabel string // y axis title with units, e.g. "Peak flow (L/min)"
	XLabel     string // x axis title and the table's first heading
}

// HTML returns the chart as a <figure>, or an error when the input cannot be
// drawn honestly.
func (c Line) HTML() (template.HTML, error) {
	hasData, err := c.check()
	if err != nil {
		return "", err
	}
	if !hasData {
		return empty(c.ID, c.Title), nil
	}
	lo, hi := c.extent()
	// Headroom, so a threshold at the highest value is not drawn on the
	// plot's top edge with its label cut off.
	lo, hi = pad(lo, hi)
	const w, h = 640.0, 340.0
	var body strings.Builder
	top := 8.0
	if len(c.Series) > 1 {
		names := seriesNames(c.Series)
		legend(&body, 8, 18, w-8, names, true)
		top += float64(legendRows(8, w-8, names)) * 18
	}
	c.draw(&body, 0, top, w, h, niceScale(lo, hi, 5))
	desc := c.Desc
	if desc == "" {
		desc = c.describe()
	}
	return figure{id: c.ID, title: c.Title, desc: desc, width: w, height: top + h,
		body: body.String(), tables: c.tables(c.Title)}.html(), nil
}

func (c Line) n() int {
	if c.Dates != nil {
		return len(c.Dates)
	}
	return len(c.Labels)
}

func (c Line) check() (bool, error) {
	if err := checkCommon(c.ID, c.Title); err != nil {
		return false, err
	}
	n := c.n()
	for i := 1; i < len(c.Dates); i++ {
		if c.Dates[i].Before(c.Dates[i-1]) {
			return false, fmt.Errorf("chart %s: dates are not in order at position %d", c.ID, i+1)
		}
	}
	has := false
	for i, s := range c.Series {
		if len(s.Values) != n {
			return false, fmt.Errorf("chart %s: series %d has %d values for %d x positions", c.ID, i+1, len(s.Values), n)
		}
		for j, v := range s.Values {
			if err := checkValue(v, true); err != nil {
				return false, fmt.Errorf("chart %s: series %d, position %d: %w", c.ID, i+1, j+1, err)
			}
			if !math.IsNaN(v) {
				has = true
			}
		}
	}
	for i, t := range c.Thresholds {
		if err := checkValue(t.Value, true); err != nil || math.IsNaN(t.Value) {
			return false, fmt.Errorf("chart %s: threshold %d: value %v is not a finite number in range", c.ID, i+1, t.Value)
		}
	}
	for i, z := range c.Zones {
		for _, v := range []float64{z.From, z.To} {
			if math.IsNaN(v) || !math.IsInf(v, 0) && math.Abs(v) > maxValue {
				return false, fmt.Errorf("chart %s: zone %d: bound %v is not a number in range", c.ID, i+1, v)
			}
		}
		if z.From > z.To {
			return false, fmt.Errorf("chart %s: zone %d runs from %v down to %v", c.ID, i+1, z.From, z.To)
		}
	}
	return has, nil
}

// extent covers the data, the thresholds and the finite zone bounds, so a
// person's values are always seen against their own limits.
func (c Line) extent() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	add := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, s := range c.Series {
		for _, v := range s.Values {
			add(v)
		}
	}
	for _, t := range c.Thresholds {
		add(t.Value)
	}
	for _, z := range c.Zones {
		add(z.From)
		add(z.To)
	}
	return lo, hi
}

// xs places the x positions across [left, right].
func (c Line) xs(left, right float64) []float64 {
	n := c.n()
	out := make([]float64, n)
	mid := (left + right) / 2
	if c.Dates != nil {
		span := c.Dates[n-1].Sub(c.Dates[0]).Seconds()
		for i, d := range c.Dates {
			if span <= 0 {
				out[i] = mid
			} else {
				out[i] = left + d.Sub(c.Dates[0]).Seconds()/span*(right-left)
			}
		}
		return out
	}
	for i := range out {
		if n == 1 {
			out[i] = mid
		} else {
			out[i] = left + float64(i)/float64(n-1)*(right-left)
		}
	}
	return out
}

const dateLayout = "2 Jan 2006"

func (c Line) xText(i int) string {
	if c.Dates != nil {
		return c.Dates[i].Format(dateLayout)
	}
	return c.Labels[i]
}

func (c Line) draw(b *strings.Builder, x, y, w, h float64, sc scale) {
	tickW := 0.0
	for _, t := range sc.ticks {
		tickW = math.Max(tickW, float64(len(c.Format.tick(t, sc.step)))*charWidth)
	}
	left := x + tickW + 12
	if c.ValueLabel != "" {
		left += 18
	}
	bottom := y + h - 22
	if c.XLabel != "" {
		bottom -= 18
	}
	right, top := x+w-16, y+8
	sc.from, sc.to = bottom, top
	fmt.Fprintf(b, `<g fill="%s">`+"\n", textColour)
	defer b.WriteString("</g>\n")

	// Zones first, so gridlines and lines sit on top of them.
	for _, z := range c.Zones {
		from, to := math.Max(z.From, sc.lo), math.Min(z.To, sc.hi)
		if from >= to {
			continue
		}
		y0, y1 := sc.at(to), sc.at(from)
		fmt.Fprintf(b, `<rect class="zone" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n",
			num(left), num(y0), num(right-left), num(y1-y0), z.Kind.fill())
		if y1-y0 >= 14 {
			label(b, left+6, y0+12, "", `font-size="11" fill="`+secondaryColour+`"`, z.Label, 30)
		}
	}
	gridLines(b, sc, left, right, true, c.Format)
	fmt.Fprintf(b, `<path d="M%s %sH%s" stroke="%s"/>`+"\n", num(left), num(bottom), num(right), axisColour)

	for _, t := range c.Thresholds {
		ty := sc.at(t.Value)
		fmt.Fprintf(b, `<path class="threshold" d="M%s %sH%s" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`+"\n",
			num(left), num(ty), num(right), textColour)
		label(b, right-4, ty-4, "end", `font-size="11"`, t.Label+" "+c.Format.format(t.Value), 36)
	}

	xs := c.xs(left, right)
	for si, s := range c.Series {
		col := colour(si)
		var line, dots strings.Builder
		pen := false
		for i, v := range s.Values {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			px, py := num(xs[i]), num(sc.at(v))
			if pen {
				fmt.Fprintf(&line, "L%s %s", px, py)
			} else {
				fmt.Fprintf(&line, "M%s %s", px, py)
				pen = true
			}
			fmt.Fprintf(&dots, "M%s %sh0", px, py)
		}
		fmt.Fprintf(b, `<path class="line" d="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n",
			line.String(), col.fill, dashAttr(si))
		// A zero-length segment with a round or square cap is a marker in
		// a dozen bytes, which keeps a year of daily readings small.
		cap := "round"
		if si%2 == 1 {
			cap = "square"
		}
		fmt.Fprintf(b, `<path class="points" d="%s" stroke="%s" stroke-width="6" stroke-linecap="%s"/>`+"\n",
			dots.String(), col.fill, cap)
	}

	// x labels
	n := c.n()
	if c.Dates != nil {
		t0, t1 := c.Dates[0], c.Dates[n-1]
		layout := dateLayout
		if t1.Sub(t0) > 365*24*time.Hour {
			layout = "Jan 2006"
		}
		ticks := 5
		if !t1.After(t0) {
			ticks = 0
		}
		for k := 0; k <= ticks; k++ {
			var at time.Time
			px := (left + right) / 2
			if ticks == 0 {
				at = t0
			} else {
				at = t0.Add(time.Duration(float64(t1.Sub(t0)) * float64(k) / float64(ticks)))
				px = left + float64(k)/float64(ticks)*(right-left)
			}
			anchor := "middle"
			if ticks > 0 && k == 0 {
				anchor = "start"
			} else if ticks > 0 && k == ticks {
				anchor = "end"
			}
			fmt.Fprintf(b, `<path d="M%s %sv4" stroke="%s"/>`+"\n", num(px), num(bottom), axisColour)
			label(b, px, bottom+16, anchor, `font-size="11" fill="`+secondaryColour+`"`, at.Format(layout), 12)
		}
	} else {
		longest := 0
		for _, l := range c.Labels {
			longest = max(longest, len([]rune(clean(l))))
		}
		band := (right - left) / float64(max(n-1, 1))
		k := every(band, float64(min(longest, 10))*charWidth+8)
		for i := 0; i < n; i += k {
			label(b, xs[i], bottom+16, "middle", `font-size="11" fill="`+secondaryColour+`"`, c.Labels[i], 12)
		}
	}
	if c.ValueLabel != "" {
		mid := (top + bottom) / 2
		label(b, x+12, mid, "middle", fmt.Sprintf(`transform="rotate(-90 %s %s)"`, num(x+12), num(mid)), c.ValueLabel, 40)
	}
	if c.XLabel != "" {
		label(b, (left+right)/2, y+h-6, "middle", "", c.XLabel, 60)
	}
}

func (c Line) describe() string {
	var parts []string
	names := seriesNames(c.Series)
	for si, s := range c.Series {
		if si == 3 {
			parts = append(parts, fmt.Sprintf("And %d more series.", len(c.Series)-3))
			break
		}
		last, lo, hi := -1, math.Inf(1), math.Inf(-1)
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			last = i
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if last < 0 {
			continue
		}
		v := s.Values[last]
		p := fmt.Sprintf("%s: latest %s (%s), lowest %s, highest %s.", names[si],
			c.Format.withUnit(v, c.Unit), clean(c.xText(last)), c.Format.format(lo), c.Format.format(hi))
		if si == 0 {
			for _, z := range c.Zones {
				if v >= z.From && v <= z.To {
					p += fmt.Sprintf(" The latest value is in the zone %s.", clean(z.Label))
					break
				}
			}
		}
		parts = append(parts, p)
	}
	for i, t := range c.Thresholds {
		if i == 2 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %s.", clean(t.Label), c.Format.withUnit(t.Value, c.Unit)))
	}
	return strings.Join(parts, " ")
}

func (c Line) tables(caption string) string {
	head := []string{c.XLabel}
	if head[0] == "" {
		head[0] = "Date"
		if c.Dates == nil {
			head[0] = "Label"
		}
	}
	head = append(head, seriesNames(c.Series)...)
	rows := make([][]string, c.n())
	for i := range rows {
		row := []string{c.xText(i)}
		for _, s := range c.Series {
			row = append(row, c.Format.format(s.Values[i]))
		}
		rows[i] = row
	}
	out := table(caption, head, rows)
	if len(c.Thresholds)+len(c.Zones) == 0 {
		return out
	}
	var ref [][]string
	for _, t := range c.Thresholds {
		ref = append(ref, []string{t.Label, "Line", c.Format.format(t.Value)})
	}
	for _, z := range c.Zones {
		ref = append(ref, []string{z.Label, "Zone", c.bound(z.From) + " to " + c.bound(z.To)})
	}
	return out + table(caption+": reference lines and zones", []string{"Name", "Kind", "Value"}, ref)
}

func (c Line) bound(v float64) string {
	switch {
	case math.IsInf(v, -1):
		return "any lower value"
	case math.IsInf(v, 1):
		return "any higher value"
	}
	return c.Format.format(v)
}

// pad widens a line chart's range by a twentieth at the top and, unless the
// range starts at zero, at the bottom.
func pad(lo, hi float64) (float64, float64) {
	d := (hi - lo) / 20
	if lo != 0 {
		lo -= d
	}
	return lo, hi + d
}
