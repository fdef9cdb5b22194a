package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Pyramid is a population pyramid: one row per age band, Left and Right
// (say male and female) drawn back to back on one shared scale. Bands are
// listed youngest first and drawn from the bottom up, as population
// pyramids are. Values are counts or, with Format Percent, percentages;
// negative values are errors.
type Pyramid struct {
	ID    string // unique on the page; letters, digits, '-' and '_'
	Title string
	Desc  string // generated from the data when empty

	Bands       []string
	Left, Right Series // each with one value per band

	Format     Format
	Unit       string // for the description, e.g. "people"
	ValueLabel string // axis title with units, e.g. "People"
	BandLabel  string // the table's first heading; "Age band" when empty
}

// HTML returns the chart as a <figure>, or an error when the input cannot be
// drawn honestly.
func (c Pyramid) HTML() (template.HTML, error) {
	if err := checkCommon(c.ID, c.Title); err != nil {
		return "", err
	}
	n := len(c.Bands)
	has := false
	hi := 0.0
	for side, s := range []Series{c.Left, c.Right} {
		if len(s.Values) != n {
			return "", fmt.Errorf("chart %s: side %d has %d values for %d bands", c.ID, side+1, len(s.Values), n)
		}
		for i, v := range s.Values {
			if err := checkValue(v, false); err != nil {
				return "", fmt.Errorf("chart %s: side %d, band %d: %w", c.ID, side+1, i+1, err)
			}
			if !math.IsNaN(v) {
				has = true
				hi = math.Max(hi, v)
			}
		}
	}
	if !has {
		return empty(c.ID, c.Title), nil
	}
	names := seriesNames([]Series{c.Left, c.Right})
	const w, cx, gap = 640.0, 320.0, 34.0
	rowH := math.Max(math.Min(22, 600/float64(n)), 0.5)
	top := 30.0
	plotH := rowH * float64(n)
	bottom := top + plotH
	h := bottom + 24
	if c.ValueLabel != "" {
		h += 18
	}
	sc := niceScale(0, hi, 4)
	left, right := sc, sc
	left.from, left.to = cx-gap, 28
	right.from, right.to = cx+gap, w-28

	var b strings.Builder
	fmt.Fprintf(&b, `<g fill="%s">`+"\n", textColour)
	label(&b, cx-gap, 16, "end", `font-weight="bold"`, names[0], 30)
	label(&b, cx+gap, 16, "start", `font-weight="bold"`, names[1], 30)
	gridLines(&b, left, top, bottom, false, c.Format)
	gridLines(&b, right, top, bottom, false, c.Format)
	fmt.Fprintf(&b, `<path d="M%s %sV%sM%s %sV%s" stroke="%s"/>`+"\n",
		num(cx-gap), num(top), num(bottom), num(cx+gap), num(top), num(bottom), axisColour)
	bar := rowH * 0.8
	for side, s := range []Series{c.Left, c.Right} {
		col := colour(side * 4) // blue and dark pink
		class, sc := "left", left
		if side == 1 {
			class, sc = "right", right
		}
		fmt.Fprintf(&b, `<g fill="%s">`+"\n", col.fill)
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			y := top + float64(n-1-i)*rowH + (rowH-bar)/2
			x0, x1 := sc.at(0), sc.at(v)
			fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`+"\n",
				class, num(math.Min(x0, x1)), num(y), num(math.Abs(x1-x0)), num(bar),
				esc(clean(c.Bands[i])+", "+names[side]+": "+c.Format.withUnit(v, c.Unit)))
		}
		b.WriteString("</g>\n")
	}
	k := every(rowH, 13)
	for i := 0; i < n; i += k {
		label(&b, cx, top+(float64(n-1-i)+0.5)*rowH+4, "middle", `font-size="11"`, c.Bands[i], 9)
	}
	if c.ValueLabel != "" {
		label(&b, cx, h-6, "middle", "", c.ValueLabel, 60)
	}
	b.WriteString("</g>\n")

	desc := c.Desc
	if desc == "" {
		desc = c.describe(names)
	}
	return figure{id: c.ID, title: c.Title, desc: desc, width: w, height: h,
		body: b.String(), tables: c.table(names)}.html(), nil
}

func sum(vs []float64) float64 {
	t := 0.0
	for _, v := range vs {
		if !math.IsNaN(v) {
			t += v
		}
	}
	return t
}

func (c Pyramid) describe(names []string) string {
	big := -1
	bigV := 0.0
	for i := range c.Bands {
		v := 0.0
		for _, s := range []Series{c.Left, c.Right} {
			if !math.IsNaN(s.Values[i]) {
				v += s.Values[i]
			}
		}
		if big < 0 || v > bigV {
			big, bigV = i, v
		}
	}
	out := ""
	if c.Format != Percent {
		out = fmt.Sprintf("%s %s, %s %s. ", names[0], c.Format.withUnit(sum(c.Left.Values), c.Unit),
			names[1], c.Format.withUnit(sum(c.Right.Values), c.Unit))
	}
	return out + fmt.Sprintf("Largest band: %s (%s %s, %s %s).", clean(c.Bands[big]),
		names[0], c.Format.withUnit(c.Left.Values[big], c.Unit), names[1], c.Format.withUnit(c.Right.Values[big], c.Unit))
}

func (c Pyramid) table(names []string) string {
	first := c.BandLabel
	if first == "" {
		first = "Age band"
	}
	shares := c.Format != Percent
	total := sum(c.Left.Values) + sum(c.Right.Values)
	share := func(v float64) string {
		if total == 0 || math.IsNaN(v) {
			return "No data"
		}
		return Percent.format(v / total * 100)
	}
	head := []string{first, names[0], names[1]}
	if shares {
		head = []string{first, names[0], names[0] + " (% of all)", names[1], names[1] + " (% of all)"}
	}
	rows := make([][]string, len(c.Bands))
	for i, band := range c.Bands {
		l, r := c.Left.Values[i], c.Right.Values[i]
		if shares {
			rows[i] = []string{band, c.Format.format(l), share(l), c.Format.format(r), share(r)}
		} else {
			rows[i] = []string{band, c.Format.format(l), c.Format.format(r)}
		}
	}
	return table(c.Title, head, rows)
}
