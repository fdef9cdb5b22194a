package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// SmallMultiples is a grid of small bar or line charts on one shared value
// scale, so panels can be compared by eye: one per practice or condition.
// Set Bars or Lines, not both; each panel's Title heads its panel and its
// table, and its ID and Desc are not used. The legend is taken from the
// first panel, so panels should share their series names.
type SmallMultiples struct {
	ID    string // unique on the page; letters, digits, '-' and '_'
	Title string
	Desc  string // generated from the data when empty

	Bars    []Bar
	Lines   []Line
	Columns int // panels per row; 2 when zero
}

// HTML returns the grid as one <figure>, or an error if any panel is
// invalid.
func (c SmallMultiples) HTML() (template.HTML, error) {
	if err := checkCommon(c.ID, c.Title); err != nil {
		return "", err
	}
	if len(c.Bars) > 0 && len(c.Lines) > 0 {
		return "", fmt.Errorf("chart %s: set Bars or Lines, not both", c.ID)
	}
	cols := c.Columns
	if cols <= 0 {
		cols = 2
	}
	if cols > 6 {
		return "", fmt.Errorf("chart %s: %d columns is too many to read (at most 6)", c.ID, cols)
	}
	n := len(c.Bars) + len(c.Lines)
	has := make([]bool, n)
	lo, hi := math.Inf(1), math.Inf(-1)
	any := false
	var names []string
	for i := 0; i < n; i++ {
		var ok bool
		var err error
		var l, h float64
		sub := c.ID + "-p" + strconv.Itoa(i+1)
		if len(c.Bars) > 0 {
			p := c.Bars[i]
			p.ID = sub
			ok, err = p.check()
			if ok {
				l, h = p.extent()
			}
			if i == 0 {
				names = seriesNames(p.Series)
			}
		} else {
			p := c.Lines[i]
			p.ID = sub
			ok, err = p.check()
			if ok {
				l, h = p.extent()
			}
			if i == 0 {
				names = seriesNames(p.Series)
			}
		}
		if err != nil {
			return "", fmt.Errorf("chart %s, panel %d: %w", c.ID, i+1, err)
		}
		if ok {
			has[i], any = true, true
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
	}
	if !any {
		return empty(c.ID, c.Title), nil
	}
	if len(c.Lines) > 0 {
		lo, hi = pad(lo, hi)
	}
	sc := niceScale(lo, hi, 4)

	const panelW = 320.0
	panelH := 220.0
	for _, p := range c.Bars {
		if p.Horizontal {
			panelH = math.Max(panelH, math.Min(float64(len(p.Categories))*16, 480)+70)
		}
	}
	w := panelW * float64(cols)
	var b strings.Builder
	top := 0.0
	if len(names) > 1 {
		legend(&b, 8, 18, w-8, names, len(c.Lines) > 0)
		top = float64(legendRows(8, w-8, names))*18 + 4
	}
	var tables strings.Builder
	for i := 0; i < n; i++ {
		px := float64(i%cols) * panelW
		py := top + float64(i/cols)*panelH
		title := ""
		if len(c.Bars) > 0 {
			title = c.Bars[i].Title
		} else {
			title = c.Lines[i].Title
		}
		fmt.Fprintf(&b, `<g class="panel">`+"\n")
		label(&b, px+8, py+16, "", `font-weight="bold" fill="`+textColour+`"`, title, 40)
		switch {
		case !has[i]:
			label(&b, px+panelW/2, py+panelH/2, "middle", `fill="`+secondaryColour+`"`, "No data to show", 20)
		case len(c.Bars) > 0:
			c.Bars[i].draw(&b, px, py+22, panelW, panelH-26, sc)
		default:
			c.Lines[i].draw(&b, px, py+22, panelW, panelH-26, sc)
		}
		b.WriteString("</g>\n")
		if len(c.Bars) > 0 {
			tables.WriteString(c.Bars[i].table(title))
		} else {
			tables.WriteString(c.Lines[i].tables(title))
		}
	}
	rows := (n + cols - 1) / cols
	desc := c.Desc
	if desc == "" {
		desc = c.describe()
	}
	return figure{id: c.ID, title: c.Title, desc: desc, width: w, height: top + float64(rows)*panelH,
		body: b.String(), tables: tables.String()}.html(), nil
}

// describe names the panel holding the highest single value (or stacked
// total).
func (c SmallMultiples) describe() string {
	n := len(c.Bars) + len(c.Lines)
	best, bestV := -1, math.Inf(-1)
	var f Format
	unit := ""
	for i := 0; i < n; i++ {
		var h float64
		if len(c.Bars) > 0 {
			_, h = c.Bars[i].extent()
			f, unit = c.Bars[i].Format, c.Bars[i].Unit
		} else {
			h = math.Inf(-1)
			for _, s := range c.Lines[i].Series {
				for _, v := range s.Values {
					if !math.IsNaN(v) {
						h = math.Max(h, v)
					}
				}
			}
			f, unit = c.Lines[i].Format, c.Lines[i].Unit
		}
		if h > bestV {
			best, bestV = i, h
		}
	}
	out := fmt.Sprintf("%d charts on one shared scale.", n)
	if best >= 0 {
		title := ""
		if len(c.Bars) > 0 {
			title = c.Bars[best].Title
		} else {
			title = c.Lines[best].Title
		}
		out += fmt.Sprintf(" Highest value: %s, %s.", clean(title), f.withUnit(bestV, unit))
	}
	return out
}
