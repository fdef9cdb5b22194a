package chart

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// element is one parsed start tag with its attributes and direct text.
type element struct {
	name  string
	attr  map[string]string
	text  string
	depth int
}

// parse checks that out is well-formed XML and returns its elements in
// document order.
func parse(t testing.TB, out template.HTML) []element {
	t.Helper()
	els, err := parseErr(string(out))
	if err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, out)
	}
	return els
}

func parseErr(s string) ([]element, error) {
	d := xml.NewDecoder(strings.NewReader("<root>" + s + "</root>"))
	d.Strict = true
	var els []element
	var stack []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return els, nil
		}
		if err != nil {
			return nil, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := element{name: tk.Name.Local, attr: map[string]string{}, depth: len(stack)}
			for _, a := range tk.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			els = append(els, e)
			stack = append(stack, len(els)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				els[stack[len(stack)-1]].text += string(tk)
			}
		}
	}
}

// checkMarkup is what every chart's output must satisfy.
func checkMarkup(t testing.TB, out template.HTML) []element {
	t.Helper()
	if err := markupErr(string(out)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return parse(t, out)
}

func markupErr(s string) error {
	els, err := parseErr(s)
	if err != nil {
		return fmt.Errorf("not well-formed: %w", err)
	}
	low := strings.ToLower(s)
	for _, bad := range []string{"style=", "<style", "<script", " on"} {
		if bad == " on" {
			for _, e := range els {
				for k := range e.attr {
					if strings.HasPrefix(strings.ToLower(k), "on") {
						return fmt.Errorf("event handler attribute %s", k)
					}
				}
			}
			continue
		}
		if strings.Contains(low, bad) {
			return fmt.Errorf("output contains %q", bad)
		}
	}
	ids := map[string]bool{}
	for _, e := range els {
		if id, ok := e.attr["id"]; ok {
			if ids[id] {
				return fmt.Errorf("duplicate id %q", id)
			}
			ids[id] = true
		}
	}
	svgs := 0
	for _, e := range els {
		if e.name != "svg" {
			continue
		}
		svgs++
		if e.attr["role"] != "img" {
			return errors.New(`svg without role="img"`)
		}
		if e.attr["viewBox"] == "" || e.attr["width"] != "100%" {
			return errors.New("svg without viewBox or width 100%")
		}
		refs := strings.Fields(e.attr["aria-labelledby"])
		if len(refs) != 2 {
			return fmt.Errorf("aria-labelledby %q should name the title and desc", e.attr["aria-labelledby"])
		}
		for i, want := range []string{"title", "desc"} {
			found := false
			for _, f := range els {
				if f.name == want && f.attr["id"] == refs[i] {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("aria-labelledby names %q but no <%s> has that id", refs[i], want)
			}
		}
	}
	if svgs != 1 {
		return fmt.Errorf("%d svg elements, want 1", svgs)
	}
	if !strings.Contains(s, "<figcaption>") {
		return errors.New("no figcaption")
	}
	return nil
}

func byClass(els []element, class string) []element {
	var out []element
	for _, e := range els {
		if e.attr["class"] == class {
			out = append(out, e)
		}
	}
	return out
}

func f(e element, name string) float64 {
	v, err := strconv.ParseFloat(e.attr[name], 64)
	if err != nil {
		panic(fmt.Sprintf("attribute %s=%q: %v", name, e.attr[name], err))
	}
	return v
}

func textOf(els []element, name string) string {
	for _, e := range els {
		if e.name == name {
			return e.text
		}
	}
	return ""
}

// The sample charts are also the golden files' input.

func sampleBar() Bar {
	return Bar{
		ID: "admissions", Title: "Emergency admissions per month",
		Categories: []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		Series:     []Series{{Name: "Admissions", Values: []float64{1210, 1180, 1302, 1120, 1090, 980, 1010, 995, 1105, 1230, 1385, 12345}}},
		Unit:       "admissions", ValueLabel: "Admissions", CategoryLabel: "Month",
	}
}

func sampleStacked() Bar {
	return Bar{
		ID: "gaps", Title: "Care gaps by practice", Horizontal: true, Stacked: true,
		Categories: []string{"Riverside Medical Centre & Branch Surgery", "Hill View", "<Old> Mill \"Lane\""},
		Series: []Series{
			{Name: "Open", Values: []float64{120, 80, 45}},
			{Name: "Closed", Values: []float64{300, 150, 90}},
			{Name: "Excepted", Values: []float64{20, 5, 12}},
		},
		Unit: "gaps", ValueLabel: "Care gaps", CategoryLabel: "Practice",
	}
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func sampleLine() Line {
	return Line{
		ID: "peak-flow", Title: "Peak flow",
		Dates:      []time.Time{day("2026-01-05"), day("2026-01-12"), day("2026-01-19"), day("2026-02-02"), day("2026-02-09"), day("2026-02-23")},
		Series:     []Series{{Name: "Peak flow", Values: []float64{410, 380, math.NaN(), 250, 300, 390}}},
		Thresholds: []Threshold{{Label: "Best peak flow", Value: 450}},
		Zones: []Zone{
			{Label: "Green: 80% of best or more", From: 360, To: math.Inf(1), Kind: Green},
			{Label: "Amber: 50–80% of best", From: 225, To: 360, Kind: Amber},
			{Label: "Red: below 50% of best", From: math.Inf(-1), To: 225, Kind: Red},
		},
		Unit: "L/min", ValueLabel: "Peak flow (L/min)",
	}
}

func samplePyramid() Pyramid {
	return Pyramid{
		ID: "pop", Title: "Registered population by age and sex",
		Bands: []string{"0–19", "20–39", "40–59", "60–79", "80+"},
		Left:  Series{Name: "Male", Values: []float64{2100, 2500, 2300, 1500, 400}},
		Right: Series{Name: "Female", Values: []float64{2000, 2600, 2400, 1700, 700}},
		Unit:  "people", ValueLabel: "People",
	}
}

func sampleLevels() Levels {
	return Levels{
		ID: "kaiser", Title: "Kaiser Permanente pyramid",
		Levels: []Level{
			{Name: "Level 3: case management", Count: 1020},
			{Name: "Level 2: disease management", Count: 5540},
			{Name: "Level 1: supported self care", Count: 13440},
		},
	}
}

func sampleMultiples() SmallMultiples {
	a, b := sampleBar(), sampleBar()
	a.Title, b.Title = "Riverside", "Hill View"
	b.Series = []Series{{Name: "Admissions", Values: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}}}
	return SmallMultiples{ID: "by-practice", Title: "Admissions by practice", Bars: []Bar{a, b}}
}

type renderer interface{ HTML() (template.HTML, error) }

func samples() map[string]renderer {
	return map[string]renderer{
		"bar": sampleBar(), "stacked": sampleStacked(), "line": sampleLine(),
		"pyramid": samplePyramid(), "levels": sampleLevels(), "multiples": sampleMultiples(),
	}
}

func render(t testing.TB, r renderer) (template.HTML, []element) {
	t.Helper()
	out, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return out, checkMarkup(t, out)
}

func TestEveryKindIsValidMarkup(t *testing.T) {
	for name, r := range samples() {
		t.Run(name, func(t *testing.T) {
			out, els := render(t, r)
			if !strings.Contains(string(out), "<summary>Show the data as a table</summary>") {
				t.Error("no data table disclosure")
			}
			for _, tag := range []string{"table", "caption", "th", "desc"} {
				if textOf(els, tag) == "" && tag != "table" {
					t.Errorf("no <%s> text", tag)
				}
			}
			rowHeads, colHeads := 0, 0
			for _, e := range els {
				if e.name == "th" && e.attr["scope"] == "row" {
					rowHeads++
				}
				if e.name == "th" && e.attr["scope"] == "col" {
					colHeads++
				}
			}
			if rowHeads == 0 || colHeads == 0 {
				t.Errorf("table has %d row and %d column headings", rowHeads, colHeads)
			}
		})
	}
}

func TestBadIDAndTitle(t *testing.T) {
	for _, id := range []string{"", "1abc", "a b", `a"b`, "a<b", strings.Repeat("a", 65)} {
		b := sampleBar()
		b.ID = id
		if _, err := b.HTML(); err == nil {
			t.Errorf("ID %q accepted", id)
		}
	}
	b := sampleBar()
	b.Title = " "
	if _, err := b.HTML(); err == nil {
		t.Error("blank title accepted")
	}
}

func TestTallestBarIsHighest(t *testing.T) {
	for _, horizontal := range []bool{false, true} {
		b := sampleBar()
		b.Horizontal = horizontal
		_, els := render(t, b)
		bars := byClass(els, "bar")
		if len(bars) != 12 {
			t.Fatalf("%d bars, want 12", len(bars))
		}
		size := "height"
		if horizontal {
			size = "width"
		}
		for i, e := range bars[:11] {
			if f(e, size) >= f(bars[11], size) {
				t.Errorf("horizontal=%v: bar %d (%v) not smaller than the largest (%v)", horizontal, i, f(e, size), f(bars[11], size))
			}
		}
		// proportional from a zero baseline
		ratio := f(bars[0], size) / f(bars[11], size)
		if math.Abs(ratio-1210.0/12345) > 0.01 {
			t.Errorf("horizontal=%v: ratio %v, want %v", horizontal, ratio, 1210.0/12345)
		}
	}
}

func TestStackedSegmentsSumToTotal(t *testing.T) {
	for _, horizontal := range []bool{false, true} {
		c := sampleStacked()
		c.Horizontal = horizontal
		_, els := render(t, c)
		bars := byClass(els, "bar")
		if len(bars) != 9 {
			t.Fatalf("%d segments, want 9", len(bars))
		}
		size, pos := "width", "x"
		if !horizontal {
			size, pos = "height", "y"
		}
		// series-major order: segment s of category i is bars[s*3+i]
		perUnit := f(bars[3], size) / 300
		for i := 0; i < 3; i++ {
			total := 0.0
			want := 0.0
			for s := 0; s < 3; s++ {
				total += f(bars[s*3+i], size)
				want += c.Series[s].Values[i]
			}
			if math.Abs(total-want*perUnit) > 0.3 {
				t.Errorf("horizontal=%v category %d: segments sum to %v, want %v", horizontal, i, total, want*perUnit)
			}
			// each segment starts where the one below ends
			for s := 1; s < 3; s++ {
				prev, cur := bars[(s-1)*3+i], bars[s*3+i]
				var gap float64
				if horizontal {
					gap = f(cur, pos) - (f(prev, pos) + f(prev, size))
				} else {
					gap = f(prev, pos) - (f(cur, pos) + f(cur, size))
				}
				if math.Abs(gap) > 0.15 {
					t.Errorf("horizontal=%v category %d segment %d: gap %v", horizontal, i, s, gap)
				}
			}
		}
	}
}

func TestNegativeBars(t *testing.T) {
	b := Bar{ID: "net", Title: "Net change", Categories: []string{"A", "B"}, Series: []Series{{Values: []float64{-50, 100}}}}
	_, els := render(t, b)
	bars := byClass(els, "bar")
	// the negative bar starts at the baseline, where the positive one ends
	if got, want := f(bars[0], "y"), f(bars[1], "y")+f(bars[1], "height"); math.Abs(got-want) > 0.15 {
		t.Errorf("negative bar starts at %v, baseline at %v", got, want)
	}
	if r := f(bars[0], "height") / f(bars[1], "height"); math.Abs(r-0.5) > 0.01 {
		t.Errorf("negative bar ratio %v, want 0.5", r)
	}
	b.Stacked = true
	if _, err := b.HTML(); err == nil {
		t.Error("negative value in a stacked chart accepted")
	}
}

func TestPyramidSharedScale(t *testing.T) {
	p := samplePyramid()
	_, els := render(t, p)
	left, right := byClass(els, "left"), byClass(els, "right")
	if len(left) != 5 || len(right) != 5 {
		t.Fatalf("%d left and %d right bars", len(left), len(right))
	}
	perUnit := f(right[1], "width") / 2600 // largest value overall
	for i := range left {
		for _, c := range []struct {
			e element
			v float64
		}{{left[i], p.Left.Values[i]}, {right[i], p.Right.Values[i]}} {
			if math.Abs(f(c.e, "width")-c.v*perUnit) > 0.15 {
				t.Errorf("band %d: width %v, want %v", i, f(c.e, "width"), c.v*perUnit)
			}
		}
		// same row, left ends where the centre gap begins
		if f(left[i], "y") != f(right[i], "y") {
			t.Errorf("band %d: left and right rows differ", i)
		}
		// youngest at the bottom
		if i > 0 && f(left[i], "y") >= f(left[i-1], "y") {
			t.Errorf("band %d is not above band %d", i, i-1)
		}
	}
	if f(left[0], "x")+f(left[0], "width") >= f(right[0], "x") {
		t.Error("left bars overlap the right")
	}
}

func TestLevelsTopToBottom(t *testing.T) {
	out, els := render(t, sampleLevels())
	lv := byClass(els, "level")
	if len(lv) != 3 {
		t.Fatalf("%d levels", len(lv))
	}
	for i := 1; i < 3; i++ {
		if f(lv[i], "y") <= f(lv[i-1], "y") {
			t.Errorf("level %d is not below level %d", i, i-1)
		}
		if f(lv[i], "width") <= f(lv[i-1], "width") {
			t.Errorf("level %d is not wider than level %d", i, i-1)
		}
		// centred
		c0, c1 := f(lv[i], "x")+f(lv[i], "width")/2, f(lv[i-1], "x")+f(lv[i-1], "width")/2
		if math.Abs(c0-c1) > 0.15 {
			t.Errorf("levels %d and %d not centred: %v, %v", i-1, i, c0, c1)
		}
	}
	want := "Largest: Level 1: supported self care, 67.2% (13,440 people). Smallest: Level 3: case management, 5.1% (1,020 people)."
	if got := textOf(els, "desc"); got != want {
		t.Errorf("desc\n got %q\nwant %q", got, want)
	}
	for _, s := range []string{"<td>13,440</td>", "<td>67.2%</td>", "<td>5.1%</td>", "<td>20,000</td>"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("table lacks %s", s)
		}
	}
}

// points reads the markers path "Mx yh0Mx yh0…".
func points(t *testing.T, d string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, p := range strings.Split(d, "M")[1:] {
		var x, y float64
		if _, err := fmt.Sscanf(strings.TrimSuffix(p, "h0"), "%g %g", &x, &y); err != nil {
			t.Fatalf("point %q: %v", p, err)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

func TestLineGeometry(t *testing.T) {
	c := sampleLine()
	_, els := render(t, c)
	pts := points(t, byClass(els, "points")[0].attr["d"])
	var vals []float64
	for _, v := range c.Series[0].Values {
		if !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if len(pts) != len(vals) {
		t.Fatalf("%d points for %d values", len(pts), len(vals))
	}
	for i := range pts {
		for j := range pts {
			if vals[i] > vals[j] && pts[i][1] >= pts[j][1] {
				t.Errorf("value %v at y %v is not above value %v at y %v", vals[i], pts[i][1], vals[j], pts[j][1])
			}
		}
		if i > 0 && pts[i][0] <= pts[i-1][0] {
			t.Errorf("x not increasing at %d", i)
		}
	}
	// y is linear in value: the threshold sits where the line through two points puts 450
	y := func(v float64) float64 {
		return pts[0][1] + (v-vals[0])*(pts[2][1]-pts[0][1])/(vals[2]-vals[0])
	}
	th := byClass(els, "threshold")
	if len(th) != 1 {
		t.Fatalf("%d thresholds", len(th))
	}
	var x0, ty, x1 float64
	if _, err := fmt.Sscanf(th[0].attr["d"], "M%g %gH%g", &x0, &ty, &x1); err != nil {
		t.Fatal(err)
	}
	if math.Abs(ty-y(450)) > 0.3 {
		t.Errorf("threshold at y %v, want %v", ty, y(450))
	}
	// the NaN breaks the line into two runs
	if d := byClass(els, "line")[0].attr["d"]; strings.Count(d, "M") != 2 {
		t.Errorf("line %q should have two runs", d)
	}
	zones := byClass(els, "zone")
	if len(zones) != 3 {
		t.Fatalf("%d zones", len(zones))
	}
	amber := zones[1]
	if top, bottom := f(amber, "y"), f(amber, "y")+f(amber, "height"); math.Abs(top-y(360)) > 0.3 || math.Abs(bottom-y(225)) > 0.3 {
		t.Errorf("amber zone %v–%v, want %v–%v", top, bottom, y(360), y(225))
	}
	if d := textOf(els, "desc"); !strings.Contains(d, "latest 390 L/min (23 Feb 2026)") || !strings.Contains(d, "Green") {
		t.Errorf("desc %q", d)
	}
}

func TestEscaping(t *testing.T) {
	nasty := `<script>&"'`
	b := Bar{ID: "esc", Title: nasty, Desc: nasty, Categories: []string{nasty}, Series: []Series{{Name: nasty, Values: []float64{1}}}, ValueLabel: nasty, CategoryLabel: nasty}
	out, els := render(t, b)
	if strings.Contains(string(out), nasty) || strings.Contains(strings.ToLower(string(out)), "<script") {
		t.Fatal("raw label in output")
	}
	if !strings.Contains(string(out), "&lt;script&gt;&amp;&#34;&#39;") {
		t.Error("escaped label not found")
	}
	if textOf(els, "figcaption") != nasty {
		t.Errorf("figcaption %q", textOf(els, "figcaption"))
	}
	for _, r := range []renderer{
		Line{ID: "e", Title: nasty, Labels: []string{nasty}, Series: []Series{{Name: nasty, Values: []float64{1}}}, Thresholds: []Threshold{{Label: nasty, Value: 1}}, Zones: []Zone{{Label: nasty, From: 0, To: 2}}},
		Pyramid{ID: "e", Title: nasty, Bands: []string{nasty}, Left: Series{Name: nasty, Values: []float64{1}}, Right: Series{Name: nasty, Values: []float64{2}}},
		Levels{ID: "e", Title: nasty, Levels: []Level{{Name: nasty, Count: 1}}, Unit: nasty},
	} {
		out, _ := render(t, r)
		if strings.Contains(string(out), nasty) {
			t.Errorf("%T: raw label in output", r)
		}
	}
}

func TestLongLabelsTruncated(t *testing.T) {
	long := "The Very Long Name Medical Practice and Health Centre"
	b := Bar{ID: "long", Title: "Long", Horizontal: true, Categories: []string{long}, Series: []Series{{Values: []float64{3}}}}
	out, els := render(t, b)
	found := false
	for i, e := range els {
		if e.name == "text" && strings.HasSuffix(e.text, "…") {
			found = true
			if els[i+1].name != "title" || els[i+1].text != long {
				t.Errorf("truncated label without full title: %+v", els[i+1])
			}
		}
	}
	if !found {
		t.Error("no truncated label")
	}
	if !strings.Contains(string(out), `<th scope="row">`+long+"</th>") {
		t.Error("full label missing from the table")
	}
}

func TestEdgeCases(t *testing.T) {
	nan := math.NaN()
	many := make([]string, 500)
	vals := make([]float64, 500)
	for i := range many {
		many[i] = "Practice " + strconv.Itoa(i)
		vals[i] = float64(i * 7 % 113)
	}
	cases := []struct {
		name      string
		r         renderer
		wantEmpty bool
		wantErr   bool
	}{
		{"bar empty", Bar{ID: "a", Title: "T"}, true, false},
		{"bar no series", Bar{ID: "a", Title: "T", Categories: []string{"x"}}, true, false},
		{"bar all NaN", Bar{ID: "a", Title: "T", Categories: []string{"x"}, Series: []Series{{Values: []float64{nan}}}}, true, false},
		{"bar one", Bar{ID: "a", Title: "T", Categories: []string{"x"}, Series: []Series{{Values: []float64{5}}}}, false, false},
		{"bar zeros", Bar{ID: "a", Title: "T", Categories: []string{"x", "y"}, Series: []Series{{Values: []float64{0, 0}}}}, false, false},
		{"bar some NaN", Bar{ID: "a", Title: "T", Categories: []string{"x", "y"}, Series: []Series{{Values: []float64{nan, 3}}}}, false, false},
		{"bar inf", Bar{ID: "a", Title: "T", Categories: []string{"x"}, Series: []Series{{Values: []float64{math.Inf(1)}}}}, false, true},
		{"bar huge", Bar{ID: "a", Title: "T", Categories: []string{"x"}, Series: []Series{{Values: []float64{1e300}}}}, false, true},
		{"bar tiny", Bar{ID: "a", Title: "T", Categories: []string{"x"}, Series: []Series{{Values: []float64{1e-300}}}}, false, false},
		{"bar mismatched", Bar{ID: "a", Title: "T", Categories: []string{"x"}, Series: []Series{{Values: []float64{1, 2}}}}, false, true},
		{"bar 500", Bar{ID: "a", Title: "T", Categories: many, Series: []Series{{Values: vals}}}, false, false},
		{"bar 500 horizontal", Bar{ID: "a", Title: "T", Horizontal: true, Categories: many, Series: []Series{{Values: vals}, {Values: vals}}}, false, false},
		{"line empty", Line{ID: "a", Title: "T"}, true, false},
		{"line one", Line{ID: "a", Title: "T", Labels: []string{"x"}, Series: []Series{{Values: []float64{5}}}}, false, false},
		{"line one date", Line{ID: "a", Title: "T", Dates: []time.Time{day("2026-01-01")}, Series: []Series{{Values: []float64{5}}}}, false, false},
		{"line zeros", Line{ID: "a", Title: "T", Labels: []string{"x", "y"}, Series: []Series{{Values: []float64{0, 0}}}}, false, false},
		{"line dates out of order", Line{ID: "a", Title: "T", Dates: []time.Time{day("2026-01-02"), day("2026-01-01")}, Series: []Series{{Values: []float64{1, 2}}}}, false, true},
		{"line NaN threshold", Line{ID: "a", Title: "T", Labels: []string{"x"}, Series: []Series{{Values: []float64{1}}}, Thresholds: []Threshold{{Value: nan}}}, false, true},
		{"line 500", Line{ID: "a", Title: "T", Labels: many, Series: []Series{{Values: vals}}}, false, false},
		{"pyramid empty", Pyramid{ID: "a", Title: "T"}, true, false},
		{"pyramid zeros", Pyramid{ID: "a", Title: "T", Bands: []string{"0–4"}, Left: Series{Values: []float64{0}}, Right: Series{Values: []float64{0}}}, false, false},
		{"pyramid negative", Pyramid{ID: "a", Title: "T", Bands: []string{"0–4"}, Left: Series{Values: []float64{-1}}, Right: Series{Values: []float64{0}}}, false, true},
		{"pyramid 500", Pyramid{ID: "a", Title: "T", Bands: many, Left: Series{Values: vals}, Right: Series{Values: vals}}, false, false},
		{"levels empty", Levels{ID: "a", Title: "T"}, true, false},
		{"levels zeros", Levels{ID: "a", Title: "T", Levels: []Level{{Name: "1"}, {Name: "2"}}}, false, false},
		{"levels negative", Levels{ID: "a", Title: "T", Levels: []Level{{Name: "1", Count: -1}}}, false, true},
		{"levels 500", Levels{ID: "a", Title: "T", Levels: func() []Level {
			l := make([]Level, 500)
			for i := range l {
				l[i] = Level{Name: many[i], Count: i}
			}
			return l
		}()}, false, false},
		{"multiples empty", SmallMultiples{ID: "a", Title: "T"}, true, false},
		{"multiples one empty panel", SmallMultiples{ID: "a", Title: "T", Bars: []Bar{{Title: "P"}, sampleBar()}}, false, false},
		{"multiples lines", SmallMultiples{ID: "a", Title: "T", Columns: 3, Lines: []Line{sampleLine(), sampleLine(), sampleLine(), {Title: "None"}}}, false, false},
		{"multiples both", SmallMultiples{ID: "a", Title: "T", Bars: []Bar{sampleBar()}, Lines: []Line{sampleLine()}}, false, true},
		{"multiples bad panel", SmallMultiples{ID: "a", Title: "T", Bars: []Bar{{Title: "P", Categories: []string{"x"}}, {Title: ""}}}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := c.r.HTML()
			if c.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkMarkup(t, out)
			if got := strings.Contains(string(out), "No data to show") && !strings.Contains(string(out), "<table>"); got != c.wantEmpty {
				t.Errorf("empty figure = %v, want %v", got, c.wantEmpty)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		f    Format
		v    float64
		want string
	}{
		{Count, 12345, "12,345"}, {Count, 1234567.4, "1,234,567"}, {Count, 999, "999"}, {Count, 0, "0"},
		{Count, -12345, "-12,345"}, {Count, -0.2, "0"}, {Decimal, 72.45, "72.5"}, {Decimal, 1234.5, "1,234.5"},
		{Percent, 5.06, "5.1%"}, {Percent, 67.2, "67.2%"}, {Percent, -0.01, "0.0%"}, {Count, math.NaN(), "No data"},
	}
	for _, c := range cases {
		if got := c.f.format(c.v); got != c.want {
			t.Errorf("%d.format(%v) = %q, want %q", c.f, c.v, got, c.want)
		}
	}
	out, _ := render(t, sampleBar())
	if !strings.Contains(string(out), "<td>12,345</td>") {
		t.Error("table lacks 12,345")
	}
	p := samplePyramid()
	out, _ = render(t, p)
	// 2,100 of 18,200 people is 11.5%
	if !strings.Contains(string(out), "<td>2,100</td><td>11.5%</td>") {
		t.Error("pyramid table lacks counts and shares")
	}
}

func TestNiceScale(t *testing.T) {
	cases := []struct {
		lo, hi   float64
		step     float64
		first, l float64
	}{
		{0, 12345, 5000, 0, 15000}, {0, 1, 0.2, 0, 1}, {0, 0, 0.2, 0, 1}, {-50, 100, 50, -50, 100},
		{250, 450, 50, 250, 450}, {5, 5, 0.2, 4.4, 5.6}, {0, 7, 2, 0, 8},
	}
	for _, c := range cases {
		s := niceScale(c.lo, c.hi, 5)
		if math.Abs(s.step-c.step) > 1e-9 || math.Abs(s.ticks[0]-c.first) > 1e-9 || math.Abs(s.ticks[len(s.ticks)-1]-c.l) > 1e-9 {
			t.Errorf("niceScale(%v, %v) = step %v ticks %v", c.lo, c.hi, s.step, s.ticks)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for name, r := range samples() {
		a, _ := r.HTML()
		b, _ := r.HTML()
		if a != b {
			t.Errorf("%s: output differs between runs", name)
		}
	}
}

func TestGolden(t *testing.T) {
	for name, r := range samples() {
		t.Run(name, func(t *testing.T) {
			out, _ := render(t, r)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != string(out) {
				t.Errorf("output differs from %s (run with -update if the change is intended)", path)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	out, _ := render(t, sampleBar())
	if len(out) > 6000 {
		t.Errorf("12-category bar chart is %d bytes, want a few KB", len(out))
	}
	t.Logf("12-category bar chart: %d bytes", len(out))
	for name, r := range samples() {
		out, _ := r.HTML()
		t.Logf("%s: %d bytes", name, len(out))
	}
	out, _ = line365().HTML()
	t.Logf("365-point line: %d bytes", len(out))
}

func FuzzBar(f *testing.F) {
	f.Add("Jan", "Feb", "Series", 1.0, 2.0, false, false)
	f.Add("<script>&\"", "", "", math.NaN(), -3.0, true, true)
	f.Add("\xff\x00", "a\u2028", "x", 0.0, 0.0, true, false)
	f.Fuzz(func(t *testing.T, a, b, name string, x, y float64, horizontal, stacked bool) {
		for _, bar := range []Bar{
			{ID: "fz", Title: a + "t", Categories: []string{a, b}, Series: []Series{{Name: name, Values: []float64{x, y}}}, Horizontal: horizontal, Stacked: stacked, ValueLabel: name, CategoryLabel: b},
			{ID: "fz", Title: "t", Categories: []string{b}, Series: []Series{{Name: a, Values: []float64{x}}, {Name: b, Values: []float64{y}}}, Horizontal: horizontal, Stacked: stacked},
		} {
			out, err := bar.HTML()
			if err != nil {
				continue
			}
			if err := markupErr(string(out)); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		}
		l := Line{ID: "fz", Title: "t", Labels: []string{a, b}, Series: []Series{{Name: name, Values: []float64{x, y}}}, Thresholds: []Threshold{{Label: a, Value: y}}}
		if out, err := l.HTML(); err == nil {
			if err := markupErr(string(out)); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		}
	})
}

func line365() Line {
	dates := make([]time.Time, 365)
	vals := make([]float64, 365)
	for i := range dates {
		dates[i] = day("2025-01-01").AddDate(0, 0, i)
		vals[i] = 380 + 40*math.Sin(float64(i)/20)
		if i%50 == 49 {
			vals[i] = math.NaN()
		}
	}
	c := sampleLine()
	c.Dates, c.Series = dates, []Series{{Name: "Peak flow", Values: vals}}
	return c
}

func BenchmarkBar12(b *testing.B) {
	c := sampleBar()
	var out template.HTML
	for b.Loop() {
		out, _ = c.HTML()
	}
	b.ReportMetric(float64(len(out)), "bytes/chart")
}

func BenchmarkLine365(b *testing.B) {
	c := line365()
	var out template.HTML
	for b.Loop() {
		out, _ = c.HTML()
	}
	b.ReportMetric(float64(len(out)), "bytes/chart")
}
