package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Series is one named set of values, one per category or x position. NaN
// means "no value": nothing is drawn and the table says "No data".
type Series struct {
	Name   string
	Values []float64
}

// Bar is a bar chart of one or more series over categories: grouped side by
// side, or stacked when Stacked is set. Horizontal bars suit many or long
// category names (practices); vertical bars suit months.
//
// Negative values are drawn below (or left of) a zero baseline in grouped
// charts; stacked charts reject them with an error, since a stack of mixed
// signs has no honest total. Infinite values and values beyond ±1e15 are
// errors.
type Bar struct {
	ID    string // unique on the page; letters, digits, '-' and '_'
	Title string
	Desc  string // summary for screen readers; generated from the data when empty

	Categories []string
	Series     []Series // each with one value per category
	Horizontal bool
	Stacked    bool

	Format        Format
	Unit          string // for the description, e.g. "people"
	ValueLabel    string // value axis title with units, e.g. "Emergency admissions"
	CategoryLabel string // category axis title and the table's first heading
}

// HTML returns the chart as a <figure>, or an error when the input cannot be
// drawn honestly.
func (c Bar) HTML() (template.HTML, error) {
	hasData, err := c.check()
	if err != nil {
		return "", err
	}
	if !hasData {
		return empty(c.ID, c.Title), nil
	}
	lo, hi := c.extent()
	const w = 640.0
	var body strings.Builder
	top := 8.0
	names := seriesNames(c.Series)
	if len(c.Series) > 1 {
		rows := legendRows(8, w-8, names)
		legend(&body, 8, 18, w-8, names, false)
		top += float64(rows) * 18
	}
	h := 360.0
	if c.Horizontal {
		n := float64(len(c.Categories))
		per := 28.0
		if !c.Stacked && len(c.Series) > 1 {
			per = 12*float64(len(c.Series)) + 10
		}
		h = math.Min(n*per, 1120) + 40
		if c.ValueLabel != "" {
			h += 18
		}
		h = math.Max(h, 110)
	}
	c.draw(&body, 0, top, w, h, niceScale(lo, hi, 5))
	desc := c.Desc
	if desc == "" {
		desc = c.describe()
	}
	return figure{id: c.ID, title: c.Title, desc: desc, width: w, height: top + h,
		body: body.String(), tables: c.table(c.Title)}.html(), nil
}

// check validates the chart and reports whether there is anything to draw.
func (c Bar) check() (bool, error) {
	if err := checkCommon(c.ID, c.Title); err != nil {
		return false, err
	}
	has := false
	for i, s := range c.Series {
		if len(s.Values) != len(c.Categories) {
			return false, fmt.Errorf("chart %s: series %d has %d values for %d categories", c.ID, i+1, len(s.Values), len(c.Categories))
		}
		for j, v := range s.Values {
			if err := checkValue(v, !c.Stacked); err != nil {
				return false, fmt.Errorf("chart %s: series %d, category %d: %w (stacked bars take no negative values)", c.ID, i+1, j+1, err)
			}
			if !math.IsNaN(v) {
				has = true
			}
		}
	}
	return has, nil
}

// extent is the value range to draw, always including zero.
func (c Bar) extent() (lo, hi float64) {
	for j := range c.Categories {
		sum := 0.0
		for _, s := range c.Series {
			v := s.Values[j]
			if math.IsNaN(v) {
				continue
			}
			if c.Stacked {
				sum += v
				v = sum
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// draw draws axes and bars in the box at (x, y) of size w×h, using the
// value scale sc (its range is set here).
func (c Bar) draw(b *strings.Builder, x, y, w, h float64, sc scale) {
	n := len(c.Categories)
	tickW := 0.0
	for _, t := range sc.ticks {
		tickW = math.Max(tickW, float64(len(c.Format.tick(t, sc.step)))*charWidth)
	}
	longest := 0
	for _, cat := range c.Categories {
		longest = max(longest, len([]rune(clean(cat))))
	}
	fmt.Fprintf(b, `<g fill="%s">`+"\n", textColour)
	defer b.WriteString("</g>\n")
	if !c.Horizontal {
		left := x + tickW + 12
		if c.ValueLabel != "" {
			left += 18
		}
		bottom := y + h - 22
		if c.CategoryLabel != "" {
			bottom -= 18
		}
		right, top := x+w-12, y+8
		sc.from, sc.to = bottom, top
		c.grid(b, sc, left, right, true)
		band := (right - left) / float64(n)
		k := every(band, float64(min(longest, 6))*charWidth+6)
		maxChars := int((band*float64(k) - 6) / charWidth)
		c.bars(b, sc, band, func(i int) float64 { return left + float64(i)*band })
		for i := 0; i < n; i += k {
			label(b, left+(float64(i)+0.5)*band, bottom+16, "middle", "", c.Categories[i], min(maxChars, 16))
		}
		zero := sc.at(0)
		fmt.Fprintf(b, `<path d="M%s %sH%s" stroke="%s"/>`+"\n", num(left), num(zero), num(right), axisColour)
		if c.ValueLabel != "" {
			mid := (top + bottom) / 2
			label(b, x+12, mid, "middle", fmt.Sprintf(`transform="rotate(-90 %s %s)"`, num(x+12), num(mid)), c.ValueLabel, 40)
		}
		if c.CategoryLabel != "" {
			label(b, (left+right)/2, y+h-6, "middle", "", c.CategoryLabel, 60)
		}
		return
	}
	labelW := float64(min(longest, 24))*charWidth + 10
	left := x + labelW
	if c.CategoryLabel != "" {
		left += 18
	}
	right, top := x+w-16, y+4
	bottom := y + h - 22
	if c.ValueLabel != "" {
		bottom -= 18
	}
	sc.from, sc.to = left, right
	c.grid(b, sc, top, bottom, false)
	band := (bottom - top) / float64(n)
	k := every(band, 13)
	c.bars(b, sc, band, func(i int) float64 { return top + float64(i)*band })
	for i := 0; i < n; i += k {
		label(b, left-6, top+(float64(i)+0.5)*band+4, "end", "", c.Categories[i], 24)
	}
	zero := sc.at(0)
	fmt.Fprintf(b, `<path d="M%s %sV%s" stroke="%s"/>`+"\n", num(zero), num(top), num(bottom), axisColour)
	if c.ValueLabel != "" {
		label(b, (left+right)/2, y+h-6, "middle", "", c.ValueLabel, 60)
	}
	if c.CategoryLabel != "" {
		mid := (top + bottom) / 2
		label(b, x+12, mid, "middle", fmt.Sprintf(`transform="rotate(-90 %s %s)"`, num(x+12), num(mid)), c.CategoryLabel, 40)
	}
}

// grid draws gridlines and tick labels across the plot; a and z are the
// plot's extent across the value axis.
func (c Bar) grid(b *strings.Builder, sc scale, a, z float64, vertical bool) {
	gridLines(b, sc, a, z, vertical, c.Format)
}

func gridLines(b *strings.Builder, sc scale, a, z float64, vertical bool, f Format) {
	var d strings.Builder
	for _, t := range sc.ticks {
		p := sc.at(t)
		if vertical {
			fmt.Fprintf(&d, "M%s %sH%s", num(a), num(p), num(z))
		} else {
			fmt.Fprintf(&d, "M%s %sV%s", num(p), num(a), num(z))
		}
	}
	fmt.Fprintf(b, `<path d="%s" stroke="%s" stroke-width="1"/>`+"\n", d.String(), gridColour)
	fmt.Fprintf(b, `<g font-size="11" fill="%s">`+"\n", secondaryColour)
	for _, t := range sc.ticks {
		p := sc.at(t)
		if vertical {
			label(b, a-6, p+4, "end", "", f.tick(t, sc.step), 20)
		} else {
			label(b, p, z+15, "middle", "", f.tick(t, sc.step), 20)
		}
	}
	b.WriteString("</g>\n")
}

// bars draws every bar; start gives the leading edge of category i's band.
// Each bar is a rect with class "bar" and a tooltip title.
func (c Bar) bars(b *strings.Builder, sc scale, band float64, start func(int) float64) {
	m := len(c.Series)
	group := band * 0.8
	if band < 4 {
		group = band * 0.9
	}
	thick := group
	if !c.Stacked {
		thick = group / float64(m)
	}
	names := seriesNames(c.Series)
	for si, s := range c.Series {
		col := colour(si)
		fmt.Fprintf(b, `<g fill="%s"%s>`+"\n", col.fill, outline(col))
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			base := 0.0
			if c.Stacked {
				for _, below := range c.Series[:si] {
					if bv := below.Values[i]; !math.IsNaN(bv) {
						base += bv
					}
				}
			}
			p0, p1 := sc.at(base), sc.at(base+v)
			lo, hi := math.Min(p0, p1), math.Max(p0, p1)
			across := start(i) + (band-group)/2
			if !c.Stacked {
				across += float64(si) * thick
			}
			tip := clean(c.Categories[i]) + ": " + c.Format.withUnit(v, c.Unit)
			if m > 1 {
				tip = clean(c.Categories[i]) + ", " + names[si] + ": " + c.Format.withUnit(v, c.Unit)
			}
			if c.Horizontal {
				fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`+"\n",
					num(lo), num(across), num(hi-lo), num(thick), esc(tip))
			} else {
				fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`+"\n",
					num(across), num(lo), num(thick), num(hi-lo), esc(tip))
			}
		}
		b.WriteString("</g>\n")
	}
}

// describe summarises the largest and smallest category (by total when
// stacked or when there are several series).
func (c Bar) describe() string {
	totals := make([]float64, len(c.Categories))
	seen := make([]bool, len(c.Categories))
	for _, s := range c.Series {
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				totals[i] += v
				seen[i] = true
			}
		}
	}
	big, small := -1, -1
	for i := range totals {
		if !seen[i] {
			continue
		}
		if big < 0 || totals[i] > totals[big] {
			big = i
		}
		if small < 0 || totals[i] < totals[small] {
			small = i
		}
	}
	what := "Largest"
	if len(c.Series) > 1 {
		what = "Largest total"
	}
	first := fmt.Sprintf("%s: %s, %s.", what, clean(c.Categories[big]), c.Format.withUnit(totals[big], c.Unit))
	if len(c.Categories) == 1 {
		return first
	}
	what = strings.Replace(what, "Largest", "Smallest", 1)
	return fmt.Sprintf("%d categories. %s %s: %s, %s.", len(c.Categories), first, what, clean(c.Categories[small]), c.Format.withUnit(totals[small], c.Unit))
}

func (c Bar) table(caption string) string {
	head := []string{c.CategoryLabel}
	if head[0] == "" {
		head[0] = "Category"
	}
	head = append(head, seriesNames(c.Series)...)
	total := c.Stacked && len(c.Series) > 1
	if total {
		head = append(head, "Total")
	}
	rows := make([][]string, len(c.Categories))
	for i, cat := range c.Categories {
		row := []string{cat}
		sum, any := 0.0, false
		for _, s := range c.Series {
			row = append(row, c.Format.format(s.Values[i]))
			if !math.IsNaN(s.Values[i]) {
				sum, any = sum+s.Values[i], true
			}
		}
		if total {
			if !any {
				sum = math.NaN()
			}
			row = append(row, c.Format.format(sum))
		}
		rows[i] = row
	}
	return table(caption, head, rows)
}
