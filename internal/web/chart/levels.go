package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Level is one step of a Levels chart.
type Level struct {
	Name  string // e.g. "Level 3: case management"
	Count int
}

// Levels is a stepped triangle, such as the Kaiser Permanente pyramid: the
// levels are listed top to bottom and each is a centred bar whose width
// comes from its position, not its count, so the shape is always a pyramid.
// The numbers are in each level's label and in the data table.
type Levels struct {
	ID    string // unique on the page; letters, digits, '-' and '_'
	Title string
	Desc  string // generated from the data when empty

	Levels []Level // top to bottom
	Unit   string  // "people" when empty
}

// HTML returns the chart as a <figure>, or an error for negative counts.
func (c Levels) HTML() (template.HTML, error) {
	if err := checkCommon(c.ID, c.Title); err != nil {
		return "", err
	}
	if len(c.Levels) == 0 {
		return empty(c.ID, c.Title), nil
	}
	unit := c.Unit
	if unit == "" {
		unit = "people"
	}
	total := 0.0
	for i, l := range c.Levels {
		if l.Count < 0 {
			return "", fmt.Errorf("chart %s: level %d has a negative count %d", c.ID, i+1, l.Count)
		}
		total += float64(l.Count)
	}
	n := len(c.Levels)
	const w, maxW, cx, labelX = 640.0, 340.0, 186.0, 372.0
	rowH := math.Max(math.Min(60, 480/float64(n)), 1)
	top := 8.0
	h := top + rowH*float64(n) + 8

	var b strings.Builder
	fmt.Fprintf(&b, `<g fill="%s">`+"\n", textColour)
	two := rowH >= 34 // room for the name and the numbers on two lines
	for i, l := range c.Levels {
		bw := maxW * float64(i+1) / float64(n)
		y := top + float64(i)*rowH
		col := colour(i)
		fmt.Fprintf(&b, `<rect class="level" x="%s" y="%s" width="%s" height="%s" fill="%s"%s><title>%s</title></rect>`+"\n",
			num(cx-bw/2), num(y+1), num(bw), num(rowH-2), col.fill, outline(col), esc(c.line(l, total, unit)))
		if rowH < 13 && i%int(math.Ceil(13/rowH)) != 0 {
			continue
		}
		if two {
			label(&b, labelX, y+rowH/2-3, "", `font-weight="bold"`, l.Name, 40)
			label(&b, labelX, y+rowH/2+13, "", `fill="`+secondaryColour+`"`, c.numbers(l, total, unit), 40)
		} else {
			label(&b, labelX, y+rowH/2+4, "", "", c.line(l, total, unit), 40)
		}
	}
	b.WriteString("</g>\n")

	desc := c.Desc
	if desc == "" {
		desc = c.describe(total, unit)
	}
	rows := make([][]string, n)
	for i, l := range c.Levels {
		rows[i] = []string{l.Name, Count.format(float64(l.Count)), share(float64(l.Count), total)}
	}
	rows = append(rows, []string{"Total", Count.format(total), share(total, total)})
	tbl := table(c.Title, []string{"Level", capitalise(unit), "Share"}, rows)
	return figure{id: c.ID, title: c.Title, desc: desc, width: w, height: h, body: b.String(), tables: tbl}.html(), nil
}

// share is v as a percentage of total; "No data" when the total is zero.
func share(v, total float64) string {
	if total == 0 {
		return "No data"
	}
	return Percent.format(v / total * 100)
}

func (c Levels) numbers(l Level, total float64, unit string) string {
	return Count.format(float64(l.Count)) + " " + unit + " (" + share(float64(l.Count), total) + ")"
}

func (c Levels) line(l Level, total float64, unit string) string {
	return l.Name + ", " + c.numbers(l, total, unit)
}

func (c Levels) describe(total float64, unit string) string {
	big, small := 0, 0
	for i, l := range c.Levels {
		if l.Count > c.Levels[big].Count {
			big = i
		}
		if l.Count < c.Levels[small].Count {
			small = i
		}
	}
	say := func(l Level) string {
		return fmt.Sprintf("%s, %s (%s %s)", clean(l.Name), share(float64(l.Count), total), Count.format(float64(l.Count)), unit)
	}
	if len(c.Levels) == 1 {
		return "Only level: " + say(c.Levels[0]) + "."
	}
	return "Largest: " + say(c.Levels[big]) + ". Smallest: " + say(c.Levels[small]) + "."
}

func capitalise(s string) string {
	rs := []rune(clean(s))
	if len(rs) == 0 {
		return s
	}
	return strings.ToUpper(string(rs[:1])) + string(rs[1:])
}
