package chart

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format says how values are written in labels, descriptions and tables.
type Format int

const (
	// Count writes whole numbers with thousands separators: 12,345.
	Count Format = iota
	// Decimal writes one decimal place with thousands separators: 1,234.5.
	Decimal
	// Percent reads values as percentages (0–100) and writes one decimal
	// place: 5.1%.
	Percent
)

// maxValue bounds the values a chart accepts, so that scales, sums and
// tick steps stay finite.
const maxValue = 1e15

// Colours. The fills are from the NHS palette; each except warmYellow has at
// least 3:1 contrast against white, and warmYellow is only drawn with a dark
// outline. The order keeps hues that colour-blind readers confuse (green and
// orange-brown, blue and purple) apart.
const (
	textColour      = "#0b0c0c"
	secondaryColour = "#4c6272"
	gridColour      = "#d8dde0"
	axisColour      = "#425563"
	zoneGreen       = "#e6f3ea"
	zoneAmber       = "#fff6e0"
	zoneRed         = "#fbe9e7"
)

type swatch struct{ fill, outline string }

var palette = [...]swatch{
	{"#005eb8", ""},        // NHS blue
	{"#b15e00", ""},        // orange-brown
	{"#330072", ""},        // purple
	{"#007f3b", ""},        // green
	{"#7c2855", ""},        // dark pink
	{"#425563", ""},        // dark grey
	{"#ffb81c", "#0b0c0c"}, // warm yellow: too light on white without an outline
}

func colour(i int) swatch { return palette[i%len(palette)] }

// dashes tell line series apart without relying on colour.
var dashes = [...]string{"", "6 3", "2 3", "8 3 2 3"}

// charWidth is a rough advance width of a 12px sans-serif character, used to
// decide how many characters of a label fit.
const charWidth = 6.5

// checkID accepts ids that are safe in HTML and CSS selectors, since the
// sub-ids of the title and description are derived from them.
func checkID(id string) error {
	if id == "" {
		return errors.New("chart: ID is required (it keeps the title and description ids unique on the page)")
	}
	if len(id) > 64 {
		return fmt.Errorf("chart: ID %.20q… is longer than 64 characters", id)
	}
	for i, r := range id {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		ok := letter || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_')
		if !ok {
			return fmt.Errorf("chart: ID %q must start with a letter and hold only letters, digits, '-' and '_'", id)
		}
	}
	return nil
}

func checkCommon(id, title string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if strings.TrimSpace(title) == "" {
		return fmt.Errorf("chart %s: Title is required (it is the chart's accessible name)", id)
	}
	return nil
}

// checkValue rejects infinities and values too large to scale; NaN means
// "no value" and is accepted.
func checkValue(v float64, negativeOK bool) error {
	switch {
	case math.IsNaN(v):
		return nil
	case math.IsInf(v, 0) || math.Abs(v) > maxValue:
		return fmt.Errorf("value %v is out of range (±%g)", v, maxValue)
	case v < 0 && !negativeOK:
		return fmt.Errorf("value %v is negative", v)
	}
	return nil
}

// clean makes s safe as XML character data: invalid UTF-8 and characters XML
// forbids become U+FFFD or are dropped.
func clean(s string) string {
	ok := utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if !xmlChar(r) {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s { // ranging yields U+FFFD for invalid bytes
		if xmlChar(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// esc escapes text for both HTML and XML, in content and in attributes.
func esc(s string) string { return escaper.Replace(clean(s)) }

// truncate shortens s to at most n characters, ending with an ellipsis, and
// reports whether it did.
func truncate(s string, n int) (string, bool) {
	s = clean(s)
	if n < 2 {
		n = 2
	}
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	rs := []rune(s)
	return strings.TrimSpace(string(rs[:n-1])) + "…", true
}

// num writes an SVG coordinate to one decimal place, which is finer than a
// pixel and keeps pages small.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	r := math.Round(v*10) / 10
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// format writes v for people to read; NaN is "No data".
func (f Format) format(v float64) string {
	if math.IsNaN(v) {
		return "No data"
	}
	switch f {
	case Percent:
		return thousands(strconv.FormatFloat(v, 'f', 1, 64)) + "%"
	case Decimal:
		return thousands(strconv.FormatFloat(v, 'f', 1, 64))
	default:
		return thousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
}

// withUnit adds a unit for descriptions, "12,345 people"; percentages carry
// their own.
func (f Format) withUnit(v float64, unit string) string {
	s := f.format(v)
	if unit == "" || math.IsNaN(v) || f == Percent {
		return s
	}
	return s + " " + unit
}

// tick writes an axis tick value with as many decimals as the step needs.
func (f Format) tick(v, step float64) string {
	d := 0
	if step > 0 && step < 1 {
		d = int(math.Ceil(-math.Log10(step) - 1e-9))
		if d > 10 {
			d = 10
		}
	}
	if math.Abs(v) < step/2 {
		v = 0
	}
	s := thousands(strconv.FormatFloat(v, 'f', d, 64))
	if f == Percent {
		s += "%"
	}
	return s
}

// thousands puts commas between groups of three digits of the integer part.
func thousands(s string) string {
	if s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[3:], "0") == "" {
		s = s[1:]
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	first := len(intPart) % 3
	if first > 0 {
		b.WriteString(intPart[:first])
	}
	for i := first; i < len(intPart); i += 3 {
		if b.Len() > len(sign) {
			b.WriteByte(',')
		}
		b.WriteString(intPart[i : i+3])
	}
	b.WriteString(frac)
	return b.String()
}

// scale is a linear map from values to one SVG coordinate.
type scale struct {
	lo, hi   float64 // domain, lo < hi
	from, to float64 // range
	ticks    []float64
	step     float64
}

func (s scale) at(v float64) float64 {
	return s.from + (v-s.lo)/(s.hi-s.lo)*(s.to-s.from)*1
}

// niceScale widens [lo, hi] to tick steps of 1, 2 or 5 × 10^n, about target
// ticks; an empty or zero-width range becomes a unit one, so nothing divides
// by zero.
func niceScale(lo, hi float64, target int) scale {
	if math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
		lo, hi = 0, 1
	}
	if lo == hi {
		if lo == 0 {
			hi = 1
		} else {
			d := math.Abs(lo) / 10
			lo, hi = lo-d, hi+d
		}
	}
	step := niceStep((hi - lo) / float64(target))
	tlo := math.Floor(lo/step+1e-9) * step
	thi := math.Ceil(hi/step-1e-9) * step
	n := int(math.Round((thi - tlo) / step))
	if n < 1 {
		n, thi = 1, tlo+step
	}
	if n > 50 { // cannot happen with finite input; guards the loop
		n = 50
	}
	ticks := make([]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		ticks = append(ticks, tlo+float64(i)*step)
	}
	return scale{lo: tlo, hi: thi, ticks: ticks, step: step}
}

func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	if mag == 0 { // subnormal ranges
		return raw
	}
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	default:
		return 10 * mag
	}
}

// figure is what every chart puts around its drawing.
type figure struct {
	id, title, desc string
	width, height   float64
	body            string // SVG content, already escaped
	tables          string // HTML tables, already escaped
}

func (f figure) html() template.HTML {
	var b strings.Builder
	id := f.id
	fmt.Fprintf(&b, `<figure class="chart" id="%s">`+"\n", id)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %s %s" width="100%%" preserveAspectRatio="xMidYMid meet" font-family="Arial, sans-serif" font-size="12">`+"\n",
		id, id, num(f.width), num(f.height))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`+"\n", id, esc(f.title))
	fmt.Fprintf(&b, `<desc id="%s-desc">%s</desc>`+"\n", id, esc(f.desc))
	b.WriteString(f.body)
	b.WriteString("</svg>\n")
	fmt.Fprintf(&b, "<figcaption>%s</figcaption>\n", esc(f.title))
	if f.tables != "" {
		b.WriteString("<details><summary>Show the data as a table</summary>\n")
		b.WriteString(f.tables)
		b.WriteString("</details>\n")
	}
	b.WriteString("</figure>\n")
	return template.HTML(b.String()) // every piece above was escaped as it was written
}

// empty is the figure for a chart with nothing to draw.
func empty(id, title string) template.HTML {
	const w, h = 640, 120
	body := fmt.Sprintf(`<rect x="0.5" y="0.5" width="639" height="119" fill="#ffffff" stroke="%s"/>`+"\n"+
		`<text x="320" y="64" text-anchor="middle" font-size="16" fill="%s">No data to show</text>`+"\n", gridColour, secondaryColour)
	return figure{id: id, title: title, desc: "No data to show.", width: w, height: h, body: body}.html()
}

// table writes an HTML data table; head is the column headings and each row
// starts with its row heading.
func table(caption string, head []string, rows [][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<table><caption>%s</caption>\n<thead><tr>", esc(caption))
	for _, h := range head {
		fmt.Fprintf(&b, `<th scope="col">%s</th>`, esc(h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&b, `<th scope="row">%s</th>`, esc(c))
			} else {
				fmt.Fprintf(&b, "<td>%s</td>", esc(c))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>\n")
	return b.String()
}

// label writes a text element, truncated to max characters with the full
// text in a <title> child when it had to be shortened.
func label(b *strings.Builder, x, y float64, anchor, attrs, text string, max int) {
	short, cut := truncate(text, max)
	fmt.Fprintf(b, `<text x="%s" y="%s"`, num(x), num(y))
	if anchor != "" && anchor != "start" {
		fmt.Fprintf(b, ` text-anchor="%s"`, anchor)
	}
	if attrs != "" {
		b.WriteString(" " + attrs)
	}
	b.WriteString(">")
	if cut {
		fmt.Fprintf(b, "<title>%s</title>", esc(text))
	}
	b.WriteString(esc(short))
	b.WriteString("</text>\n")
}

// legend writes swatches and names left to right, in series order (which is
// also the stacking order, bottom or left first).
func legend(b *strings.Builder, x, y, maxX float64, names []string, line bool) {
	for i, n := range names {
		short, _ := truncate(n, 24)
		w := 22 + float64(len([]rune(short)))*charWidth + 14
		if x+w > maxX && i > 0 {
			x = 8
			y += 18
		}
		c := colour(i)
		if line {
			fmt.Fprintf(b, `<path d="M%s %sh16" stroke="%s" stroke-width="2"%s/>`+"\n", num(x), num(y-4), c.fill, dashAttr(i))
		} else {
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="12" height="12" fill="%s"%s/>`+"\n", num(x), num(y-10), c.fill, outline(c))
		}
		lx := x + 16
		if line {
			lx = x + 20
		}
		label(b, lx, y, "", "", n, 24)
		x += w
	}
}

// legendRows says how many rows legend will use, so charts can make room.
func legendRows(x, maxX float64, names []string) int {
	rows := 1
	for i, n := range names {
		short, _ := truncate(n, 24)
		w := 22 + float64(len([]rune(short)))*charWidth + 14
		if x+w > maxX && i > 0 {
			x = 8
			rows++
		}
		x += w
	}
	return rows
}

func outline(c swatch) string {
	if c.outline == "" {
		return ""
	}
	return fmt.Sprintf(` stroke="%s" stroke-width="1"`, c.outline)
}

func dashAttr(i int) string {
	if d := dashes[i%len(dashes)]; d != "" {
		return ` stroke-dasharray="` + d + `"`
	}
	return ""
}

// every returns the label step k so that labels k bands apart have at least
// need pixels each.
func every(band, need float64) int {
	if band <= 0 {
		return 1
	}
	k := int(math.Ceil(need/band - 1e-9))
	if k < 1 {
		k = 1
	}
	return k
}

func seriesNames(ss []Series) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
		if strings.TrimSpace(s.Name) == "" {
			out[i] = "Series " + strconv.Itoa(i+1)
		}
	}
	return out
}
