package population

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/codes"
	"github.com/wholecare/wholecare/internal/registry"
)

// The cohort language, for the API and for people:
//
//	expr    = term { "or" term }
//	term    = factor { "and" factor }
//	factor  = "not" factor | "(" expr ")" | atom
//	atom    = "has" "(" concept ")"
//	        | "alive" | "dead"
//	        | ("age" | "imd" | "kaiser" | "bridges" | "nwl" | "risk") (op int | "in" int ".." int)
//	        | "sex" ("=" | "!=") sex | "sex" "in" "(" sex { "," sex } ")"
//	        | "practice" ("=" | "!=") code | "practice" "in" "(" code { "," code } ")"
//	        | "count" "(" concept "," window ")" op int
//	        | "latest" "(" concept "," window ")" op number
//	        | "none" "(" concept "," ( window | ["since"] date ) ")"
//	op      = "<" | "<=" | "=" | "!=" | ">=" | ">"
//	window  = int unit { int unit }    unit: d, w, m, y    e.g. 12m, 90d, 1y6m
//	date    = YYYY-MM-DD
//
// Keywords and concepts are case-insensitive. A concept is a concept id
// ("obs.hba1c", "enc.emergency_admission") or its name after the prefix
// when that is unambiguous ("hba1c", "emergency_admission", "statin");
// an exact id wins. Example:
//
//	has(copd) and age >= 65 and count(emergency_admission, 12m) >= 2
//	  and not latest(hba1c, 15m) <= 58 and practice in (ZZ0001, ZZ0002)

// MaxCohortText is the longest cohort text Parse accepts.
const MaxCohortText = 4096

// ParseError is a mistake in cohort text. Pos is the 1-based character
// position of the mistake. It unwraps to an apperr.Invalid error with the
// same message.
type ParseError struct {
	Pos int
	Msg string
}

func (e *ParseError) Error() string { return fmt.Sprintf("at %d: %s", e.Pos, e.Msg) }
func (e *ParseError) Unwrap() error { return apperr.E(apperr.Invalid, e.Error()) }

// Parse reads cohort text against the concepts of set.
func Parse(text string, set *codes.Set) (Expr, error) {
	return parse(text, newCatalog(set))
}

// Parse reads cohort text against the engine's concepts.
func (e *Engine) Parse(text string) (Expr, error) { return parse(text, e.cat) }

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tDate
	tWindow
	tLParen
	tRParen
	tComma
	tRange
	tOp
)

type token struct {
	kind tokKind
	pos  int // byte offset
	text string
	op   Op
	win  Window
	num  float64
	date time.Time
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end"
	case tIdent:
		return strconv.Quote(t.text)
	}
	return "“" + t.text + "”"
}

type parser struct {
	src   string
	cat   catalog
	toks  []token
	i     int
	depth int
}

func parse(text string, cat catalog) (Expr, error) {
	p := &parser{src: text, cat: cat}
	if len(text) > MaxCohortText {
		return nil, p.errAt(MaxCohortText, fmt.Sprintf("cohort text longer than %d characters", MaxCohortText))
	}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, p.errAt(0, "empty cohort")
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.err(t, "expected “and”, “or” or the end, found "+t.describe())
	}
	return x, nil
}

func (p *parser) errAt(byteOff int, msg string) error {
	byteOff = min(max(byteOff, 0), len(p.src))
	return &ParseError{Pos: utf8.RuneCountInString(p.src[:byteOff]) + 1, Msg: msg}
}

func (p *parser) err(t token, msg string) error { return p.errAt(t.pos, msg) }

func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '.' || c == '-' }

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			p.toks = append(p.toks, token{kind: tLParen, pos: i, text: "("})
			i++
		case c == ')':
			p.toks = append(p.toks, token{kind: tRParen, pos: i, text: ")"})
			i++
		case c == ',':
			p.toks = append(p.toks, token{kind: tComma, pos: i, text: ","})
			i++
		case c == '.' && i+1 < len(s) && s[i+1] == '.':
			p.toks = append(p.toks, token{kind: tRange, pos: i, text: ".."})
			i += 2
		case c == '<' || c == '>' || c == '=' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			t := token{kind: tOp, pos: i, text: s[i:j]}
			switch t.text {
			case "<":
				t.op = LT
			case "<=":
				t.op = LE
			case "=", "==":
				t.op = EQ
			case "!=":
				t.op = NE
			case ">=":
				t.op = GE
			case ">":
				t.op = GT
			default:
				return p.errAt(i, "unexpected “!” (did you mean “!=” or “not”?)")
			}
			p.toks = append(p.toks, t)
			i = j
		case isDigit(c) || (c == '-' && i+1 < len(s) && isDigit(s[i+1])):
			t, j, err := p.lexNumber(i)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, t)
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) && !(s[j] == '.' && j+1 < len(s) && s[j+1] == '.') {
				j++
			}
			p.toks = append(p.toks, token{kind: tIdent, pos: i, text: s[i:j]})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return p.errAt(i, fmt.Sprintf("unexpected character %q", r))
		}
	}
	p.toks = append(p.toks, token{kind: tEOF, pos: len(s)})
	return nil
}

// lexNumber reads a number, a date (YYYY-MM-DD) or a window (12m, 1y6m).
func (p *parser) lexNumber(i int) (token, int, error) {
	s := p.src
	j := i
	if s[j] == '-' {
		j++
	}
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	digits := j - i
	// a date
	if s[i] != '-' && digits == 4 && j < len(s) && s[j] == '-' {
		k := j
		for k < len(s) && (isDigit(s[k]) || s[k] == '-') {
			k++
		}
		d, err := time.Parse(time.DateOnly, s[i:k])
		if err != nil {
			return token{}, 0, p.errAt(i, fmt.Sprintf("bad date %q (want YYYY-MM-DD)", s[i:k]))
		}
		return token{kind: tDate, pos: i, text: s[i:k], date: d}, k, nil
	}
	// a window
	if s[i] != '-' && j < len(s) && isIdentStart(s[j]) {
		k := i
		var w Window
		for k < len(s) && isDigit(s[k]) {
			m := k
			for m < len(s) && isDigit(s[m]) {
				m++
			}
			n, err := strconv.Atoi(s[k:m])
			if err != nil || n > 100000 || m == len(s) {
				return token{}, 0, p.errAt(i, fmt.Sprintf("bad window %q (want a number and d, w, m or y, e.g. 12m)", identEnd(s, i)))
			}
			switch s[m] | 0x20 {
			case 'd':
				w.Days += n
			case 'w':
				w.Days += 7 * n
			case 'm':
				w.Months += n
			case 'y':
				w.Years += n
			default:
				return token{}, 0, p.errAt(m, fmt.Sprintf("bad window %q (want a number and d, w, m or y, e.g. 12m)", identEnd(s, i)))
			}
			k = m + 1
		}
		if k < len(s) && isIdentChar(s[k]) {
			return token{}, 0, p.errAt(k, fmt.Sprintf("bad window %q (want a number and d, w, m or y, e.g. 12m)", identEnd(s, i)))
		}
		if !w.valid() {
			return token{}, 0, p.errAt(i, fmt.Sprintf("window %q is too long", s[i:k]))
		}
		return token{kind: tWindow, pos: i, text: s[i:k], win: w}, k, nil
	}
	if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	f, err := strconv.ParseFloat(s[i:j], 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, 0, p.errAt(i, fmt.Sprintf("bad number %q", s[i:j]))
	}
	return token{kind: tNumber, pos: i, text: s[i:j], num: f}, j, nil
}

func identEnd(s string, i int) string {
	j := i
	for j < len(s) && isIdentChar(s[j]) {
		j++
	}
	return s[i:j]
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) keyword(t token, kw string) bool {
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, p.err(t, "expected "+what+", found "+t.describe())
	}
	return t, nil
}

func (p *parser) expr() (Expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return nil, p.err(p.peek(), fmt.Sprintf("cohort nested more than %d deep", MaxDepth))
	}
	x, err := p.term()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for p.keyword(p.peek(), "or") {
		p.next()
		y, err := p.term()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return Or(xs...), nil
}

func (p *parser) term() (Expr, error) {
	x, err := p.factor()
	if err != nil {
		return nil, err
	}
	xs := []Expr{x}
	for p.keyword(p.peek(), "and") {
		p.next()
		y, err := p.factor()
		if err != nil {
			return nil, err
		}
		xs = append(xs, y)
	}
	if len(xs) == 1 {
		return x, nil
	}
	return And(xs...), nil
}

func (p *parser) factor() (Expr, error) {
	t := p.peek()
	switch {
	case p.keyword(t, "not"):
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > MaxDepth {
			return nil, p.err(t, fmt.Sprintf("cohort nested more than %d deep", MaxDepth))
		}
		x, err := p.factor()
		if err != nil {
			return nil, err
		}
		return Not(x), nil
	case t.kind == tLParen:
		p.next()
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "“)”"); err != nil {
			return nil, err
		}
		return x, nil
	case t.kind == tIdent:
		return p.atom()
	}
	return nil, p.err(t, "expected a condition such as has(copd), age >= 65 or count(emergency_admission, 12m) >= 2, found "+t.describe())
}

var atomWords = []string{"has", "alive", "dead", "age", "imd", "kaiser", "bridges", "nwl", "risk", "sex", "practice", "count", "latest", "none", "not"}

func (p *parser) atom() (Expr, error) {
	t := p.next()
	switch strings.ToLower(t.text) {
	case "has":
		c, err := p.conceptArg()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "“)”"); err != nil {
			return nil, err
		}
		return Concept(c), nil
	case "alive":
		return Alive(), nil
	case "dead":
		return Not(Alive()), nil
	case "age":
		return p.rangeTail(DimAgeBand, 150)
	case "imd":
		return p.rangeTail(DimIMD, 10)
	case "kaiser":
		return p.rangeTail(DimKaiser, 3)
	case "bridges":
		return p.rangeTail(DimBridges, 8)
	case "nwl":
		return p.rangeTail(DimNWL, 15)
	case "risk":
		return p.rangeTail(DimRiskBand, 255)
	case "sex":
		return p.sexTail()
	case "practice":
		return p.practiceTail()
	case "count":
		c, w, err := p.conceptWindow()
		if err != nil {
			return nil, err
		}
		op, err := p.op()
		if err != nil {
			return nil, err
		}
		n, err := p.int(0, 1_000_000)
		if err != nil {
			return nil, err
		}
		return countExpr(c, w, op, n), nil
	case "latest":
		c, w, err := p.conceptWindow()
		if err != nil {
			return nil, err
		}
		op, err := p.op()
		if err != nil {
			return nil, err
		}
		t, err := p.expect(tNumber, "a number")
		if err != nil {
			return nil, err
		}
		return LatestValue(c, w, op, t.num), nil
	case "none":
		c, err := p.conceptArg()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tComma, "“,”"); err != nil {
			return nil, err
		}
		t := p.next()
		if p.keyword(t, "since") {
			t = p.next()
			if t.kind != tDate {
				return nil, p.err(t, "expected a date (YYYY-MM-DD), found "+t.describe())
			}
		}
		var x Expr
		switch t.kind {
		case tDate:
			x = NoEventSince(c, t.date)
		case tWindow:
			x = Not(AtLeast(1, c, t.win))
		default:
			return nil, p.err(t, "expected a window such as 12m or a date (YYYY-MM-DD), found "+t.describe())
		}
		if _, err := p.expect(tRParen, "“)”"); err != nil {
			return nil, err
		}
		return x, nil
	}
	msg := fmt.Sprintf("unknown condition %q", t.text)
	if s := suggest(strings.ToLower(t.text), atomWords); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return nil, p.err(t, msg)
}

func countExpr(c codes.Concept, w Window, op Op, n int) Expr {
	ge := func(n int) Expr { return AtLeast(n, c, w) }
	switch op {
	case GE:
		return ge(n)
	case GT:
		return ge(n + 1)
	case LT:
		return Not(ge(n))
	case LE:
		return Not(ge(n + 1))
	case EQ:
		return And(ge(n), Not(ge(n+1)))
	}
	return Or(Not(ge(n)), ge(n+1))
}

func (p *parser) op() (Op, error) {
	t, err := p.expect(tOp, "a comparison (<, <=, =, !=, >=, >)")
	return t.op, err
}

func (p *parser) int(lo, hi int) (int, error) {
	t := p.next()
	if t.kind != tNumber || t.num != math.Trunc(t.num) || t.num < float64(lo) || t.num > float64(hi) {
		return 0, p.err(t, fmt.Sprintf("expected a whole number from %d to %d, found %s", lo, hi, t.describe()))
	}
	return int(t.num), nil
}

func (p *parser) rangeTail(d Dimension, hi int) (Expr, error) {
	t := p.next()
	if p.keyword(t, "in") {
		a, err := p.int(0, hi)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRange, "“..”"); err != nil {
			return nil, err
		}
		bt := p.peek()
		b, err := p.int(0, hi)
		if err != nil {
			return nil, err
		}
		if b < a {
			return nil, p.err(bt, fmt.Sprintf("range %d..%d is empty", a, b))
		}
		return rangeExpr{d, a, b}, nil
	}
	if t.kind != tOp {
		return nil, p.err(t, fmt.Sprintf("expected a comparison or “in” after %s, found %s", d.keyword(), t.describe()))
	}
	n, err := p.int(0, hi)
	if err != nil {
		return nil, err
	}
	switch t.op {
	case GE:
		return rangeExpr{d, n, maxRange}, nil
	case GT:
		return rangeExpr{d, n + 1, maxRange}, nil
	case LE:
		return rangeExpr{d, 0, n}, nil
	case LT:
		if n == 0 {
			return nil, p.err(t, d.keyword()+" < 0 matches nobody")
		}
		return rangeExpr{d, 0, n - 1}, nil
	case EQ:
		return rangeExpr{d, n, n}, nil
	}
	if n == 0 {
		return rangeExpr{d, 1, maxRange}, nil
	}
	return Or(rangeExpr{d, 0, n - 1}, rangeExpr{d, n + 1, maxRange}), nil
}

// list reads "= x", "!= x" or "in (x, y)", returning the items, whether
// the list is negated, and each item's token.
func (p *parser) list(what string) ([]token, bool, error) {
	t := p.next()
	switch {
	case t.kind == tOp && (t.op == EQ || t.op == NE):
		v := p.next()
		if v.kind != tIdent && v.kind != tNumber {
			return nil, false, p.err(v, "expected "+what+", found "+v.describe())
		}
		return []token{v}, t.op == NE, nil
	case p.keyword(t, "in"):
		if _, err := p.expect(tLParen, "“(”"); err != nil {
			return nil, false, err
		}
		var out []token
		for {
			v := p.next()
			if v.kind != tIdent && v.kind != tNumber {
				return nil, false, p.err(v, "expected "+what+", found "+v.describe())
			}
			out = append(out, v)
			s := p.next()
			if s.kind == tRParen {
				return out, false, nil
			}
			if s.kind != tComma {
				return nil, false, p.err(s, "expected “,” or “)”, found "+s.describe())
			}
		}
	}
	return nil, false, p.err(t, "expected “=”, “!=” or “in”, found "+t.describe())
}

func (p *parser) sexTail() (Expr, error) {
	toks, neg, err := p.list("a sex (female, male, other, unknown)")
	if err != nil {
		return nil, err
	}
	var sexes []registry.Sex
	for _, t := range toks {
		s := registry.Sex(strings.ToLower(t.text))
		if !s.Valid() {
			return nil, p.err(t, fmt.Sprintf("unknown sex %q (want female, male, other or unknown)", t.text))
		}
		sexes = append(sexes, s)
	}
	if neg {
		return Not(Sex(sexes...)), nil
	}
	return Sex(sexes...), nil
}

func (p *parser) practiceTail() (Expr, error) {
	toks, neg, err := p.list("a practice code")
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(toks))
	for i, t := range toks {
		ids[i] = strings.ToUpper(t.text)
	}
	if neg {
		return Not(Practice(ids...)), nil
	}
	return Practice(ids...), nil
}

func (p *parser) conceptWindow() (codes.Concept, Window, error) {
	c, err := p.conceptArg()
	if err != nil {
		return "", Window{}, err
	}
	if _, err := p.expect(tComma, "“,”"); err != nil {
		return "", Window{}, err
	}
	t, err := p.expect(tWindow, "a window such as 12m, 90d or 2y")
	if err != nil {
		return "", Window{}, err
	}
	if _, err := p.expect(tRParen, "“)”"); err != nil {
		return "", Window{}, err
	}
	return c, t.win, nil
}

// conceptArg reads "(" concept.
func (p *parser) conceptArg() (codes.Concept, error) {
	if _, err := p.expect(tLParen, "“(”"); err != nil {
		return "", err
	}
	t, err := p.expect(tIdent, "a concept")
	if err != nil {
		return "", err
	}
	c, ok := p.cat.resolve(t.text)
	if !ok {
		msg := fmt.Sprintf("unknown concept %q", t.text)
		if s := p.cat.suggest(t.text); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return "", p.err(t, msg)
	}
	return c, nil
}

// conceptPrefixes are tried, in order, before a name without a prefix.
var conceptPrefixes = []string{"", "obs.", "enc.", "med.", "vacc.", "proc.", "value.", "efi.", "cci.", "pca."}

func (c catalog) resolve(name string) (codes.Concept, bool) {
	name = strings.ToLower(name)
	for _, pre := range conceptPrefixes {
		if _, ok := c.index[codes.Concept(pre+name)]; ok {
			return codes.Concept(pre + name), true
		}
	}
	return "", false
}

func (c catalog) suggest(name string) string {
	name = strings.ToLower(name)
	var all []string
	for _, n := range c.names {
		all = append(all, string(n))
		if i := strings.IndexByte(string(n), '.'); i >= 0 {
			short := string(n[i+1:])
			if full, ok := c.resolve(short); ok && full == n {
				all = append(all, short)
			}
		}
	}
	return suggest(name, all)
}

// suggest returns the closest of words to s when it is close enough to be
// a likely typing mistake, else "".
func suggest(s string, words []string) string {
	best, bestD := "", math.MaxInt
	for _, w := range words {
		if d := editDistance(s, w); d < bestD {
			best, bestD = w, d
		}
	}
	if bestD <= max(1, min(3, len(s)/3)) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
