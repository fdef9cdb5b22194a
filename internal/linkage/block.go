package linkage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
)

// blockingRule puts records that share a key in one block; the union of
// the blocks of all rules gives the candidate pairs. A record with an
// empty key is in no block of that rule.
type blockingRule struct {
	name string
	key  func(c *corpus, p *prepared) string
	// fields are the comparisons whose agreement the key forces, more or
	// less: among the rule's pairs they say nothing about a match, so
	// training on those pairs leaves them out.
	fields []field
	// trains is set for rules keyed on who a person is (names, date of
	// birth, an identifier): EM learns m from their pairs. A rule keyed
	// on where people live pairs households (the same surname, address
	// and postcode, a different given name and date of birth), which EM
	// would take for the matches; it gives candidates, not m.
	trains bool
}

// blockingRules are the rules a Config may name. Each is chosen so that a
// block stays small in a population of millions (a full postcode is a few
// households; a phonetic surname with a year of birth, a few dozen people)
// while the union still catches a duplicate with errors in several fields.
func blockingRules() []blockingRule {
	birth := func(p *prepared) string {
		if !p.hasBirth() {
			return ""
		}
		return string(p.birth[:])
	}
	year := func(p *prepared) string {
		if !p.hasBirth() {
			return ""
		}
		return string(p.birth[:4])
	}
	join := func(parts ...string) string {
		for _, s := range parts {
			if s == "" {
				return ""
			}
		}
		return strings.Join(parts, "|")
	}
	initial := func(c *corpus, id int32) string {
		if id == 0 {
			return ""
		}
		return string(c.name(id).runes[0])
	}
	prefix := func(rs []rune, n int) string {
		if len(rs) < n {
			return string(rs)
		}
		return string(rs[:n])
	}
	// area is a UK postcode's district (LS6), or the first two characters
	// of any other: a few thousand households, not a city.
	area := func(p *prepared) string {
		if p.district > 0 {
			return p.postcode[:p.district]
		}
		return prefixString(p.postcode, 2)
	}
	return []blockingRule{
		{"nhs-number", func(c *corpus, p *prepared) string { return p.nhs }, []field{fNHS}, true},
		{"local-id", func(c *corpus, p *prepared) string { return p.localID }, []field{fLocalID}, true},
		{"postcode", func(c *corpus, p *prepared) string { return p.postcode }, []field{fPostcode}, false},
		{"family-phonetic+birth-year", func(c *corpus, p *prepared) string {
			return join(c.name(p.family).code, year(p))
		}, []field{fFamily, fBirth}, true},
		{"given-phonetic+birth-date", func(c *corpus, p *prepared) string {
			return join(c.name(p.given).code, birth(p))
		}, []field{fGiven, fBirth}, true},
		{"birth-date+family-initial", func(c *corpus, p *prepared) string {
			return join(birth(p), initial(c, p.family))
		}, []field{fBirth, fFamily}, true},
		{"birth-date+given-initial", func(c *corpus, p *prepared) string {
			return join(birth(p), initial(c, p.given))
		}, []field{fBirth, fGiven}, true},
		{"names-phonetic", func(c *corpus, p *prepared) string {
			// Either order: a record with given and family names swapped
			// shares this key with the right way round. It is also the
			// one identity rule that leaves the date of birth free, so
			// where EM learns how often a match's dates disagree.
			g, f := c.name(p.given).sound, c.name(p.family).sound
			if g > f {
				g, f = f, g
			}
			return join(g, f)
		}, []field{fGiven, fFamily}, true},
		{"given-initial+family-prefix+postcode-district", func(c *corpus, p *prepared) string {
			return join(initial(c, p.given), prefix(c.name(p.family).runes, 3), area(p))
		}, []field{fGiven, fFamily, fPostcode}, false},
		{"house-number+street+postcode-start", func(c *corpus, p *prepared) string {
			// The first number of the address, the first four letters of
			// the word after it and the postcode's first character:
			// "12 tullaroop street", 4011 → 12|tull|4. Every town has a
			// 12 High Street.
			for k, id := range p.addr {
				if w := c.word(id); w.numeric && k+1 < len(p.addr) && !c.word(p.addr[k+1]).numeric {
					return join(w.text, prefix(c.word(p.addr[k+1]).runes, 4), prefixString(p.postcode, 1))
				}
			}
			return ""
		}, []field{fAddress}, false},
	}
}

func prefixString(s string, n int) string {
	if len(s) < n {
		return ""
	}
	return s[:n]
}

// DefaultBlocking names the blocking rules used when a Config names none.
func DefaultBlocking() []string {
	var names []string
	for _, r := range blockingRules() {
		names = append(names, r.name)
	}
	return names
}

// blockIndex is one rule's blocks over all records, in compressed form:
// the members of block k are members[start[k]:start[k+1]], in index order.
type blockIndex struct {
	rule    blockingRule
	key     []int32 // block of each record, -1 for none
	start   []int32
	members []int32
	skipped []bool // blocks over the size limit, not paired
}

// BlockingStats says what blocking produced.
type BlockingStats struct {
	Rules []RuleStats
	// Candidates is the number of distinct candidate pairs, counted by the
	// last full pass over them (0 before one).
	Candidates int64
}

// RuleStats is one blocking rule's share of the work.
type RuleStats struct {
	Name          string
	Blocks        int   // blocks with at least one pair
	Largest       int   // records in the largest block
	SkippedBlocks int   // blocks over the size limit, not paired by this rule
	Pairs         int64 // pairs this rule's blocks hold, before removing those an earlier rule found
	NewPairs      int64 // pairs no earlier rule found (counted by the last pass)
}

func buildBlocks(c *corpus, rule blockingRule, nA int, dedupe bool, maxBlock int) (*blockIndex, RuleStats) {
	b := &blockIndex{rule: rule, key: make([]int32, len(c.recs))}
	ids := map[string]int32{}
	var count []int32
	for i := range c.recs {
		k := rule.key(c, &c.recs[i])
		if k == "" {
			b.key[i] = -1
			continue
		}
		id, ok := ids[k]
		if !ok {
			id = int32(len(count))
			ids[k] = id
			count = append(count, 0)
		}
		b.key[i] = id
		count[id]++
	}
	b.start = make([]int32, len(count)+1)
	for k, c := range count {
		b.start[k+1] = b.start[k] + c
	}
	b.members = make([]int32, b.start[len(count)])
	fill := slices.Clone(b.start[:len(count)])
	for i, k := range b.key {
		if k >= 0 {
			b.members[fill[k]] = int32(i)
			fill[k]++
		}
	}
	st := RuleStats{Name: rule.name}
	b.skipped = make([]bool, len(count))
	for k := range count {
		m := b.members[b.start[k]:b.start[k+1]]
		var pairs int64
		if dedupe {
			pairs = int64(len(m)) * int64(len(m)-1) / 2
		} else {
			na := int64(countBelow(m, int32(nA)))
			pairs = na * (int64(len(m)) - na)
		}
		if pairs == 0 {
			continue
		}
		if len(m) > maxBlock {
			b.skipped[k] = true
			st.SkippedBlocks++
			continue
		}
		st.Blocks++
		st.Pairs += pairs
		st.Largest = max(st.Largest, len(m))
	}
	return b, st
}

// countBelow counts the members (sorted) that are below n.
func countBelow(m []int32, n int32) int {
	i, _ := slices.BinarySearch(m, n)
	return i
}

// pairsInBlock reports whether rule r's blocks pair i and j.
func (b *blockIndex) pairs(i, j int32) bool {
	k := b.key[i]
	return k >= 0 && k == b.key[j] && !b.skipped[k]
}

// walk streams the pairs of every rule's blocks. A pair that an earlier
// rule also paired is passed only when all is set, with fresh false; so
// without all, every candidate pair is seen exactly once. Memory stays at
// the block indexes: no set of pairs is kept. In a link, i is in the first
// list and j in the second.
func (l *Linker) walk(ctx context.Context, stage string, all bool, fn func(rule int, i, j int32, fresh bool) error) error {
	var done, total int64
	for _, st := range l.stats.Rules {
		total += st.Pairs
	}
	progress := func() {
		if l.cfg.Progress != nil {
			l.cfg.Progress(stage, done, total)
		}
	}
	progress()
	for r, b := range l.blocks {
		var newPairs int64
		earlier := l.blocks[:r]
		visit := func(i, j int32) error {
			fresh := true
			for _, e := range earlier {
				if e.pairs(i, j) {
					fresh = false
					break
				}
			}
			if fresh {
				newPairs++
			}
			if fresh || all {
				return fn(r, i, j, fresh)
			}
			return nil
		}
		for k := range b.skipped {
			if b.skipped[k] {
				continue
			}
			m := b.members[b.start[k]:b.start[k+1]]
			if l.dedupe {
				for x := 0; x < len(m); x++ {
					for _, j := range m[x+1:] {
						if err := visit(m[x], j); err != nil {
							return err
						}
					}
				}
				done += int64(len(m)) * int64(len(m)-1) / 2
			} else {
				na := countBelow(m, int32(l.nA))
				for _, i := range m[:na] {
					for _, j := range m[na:] {
						if err := visit(i, j); err != nil {
							return err
						}
					}
				}
				done += int64(na) * int64(len(m)-na)
			}
			if k%256 == 0 {
				if err := ctx.Err(); err != nil {
					return apperr.Wrap(apperr.Unavailable, err, "linkage: interrupted")
				}
				progress()
			}
		}
		l.stats.Rules[r].NewPairs = newPairs
	}
	l.stats.Candidates = 0
	for _, st := range l.stats.Rules {
		l.stats.Candidates += st.NewPairs
	}
	progress()
	return nil
}

// resolveRules finds the named rules.
func resolveRules(names []string) ([]blockingRule, error) {
	all := blockingRules()
	var out []blockingRule
	for _, n := range names {
		i := slices.IndexFunc(all, func(r blockingRule) bool { return r.name == n })
		if i < 0 {
			return nil, apperr.Ef(apperr.Invalid, "linkage: unknown blocking rule %s (known: %s)", strconv.Quote(n), fmt.Sprint(DefaultBlocking()))
		}
		out = append(out, all[i])
	}
	if len(out) == 0 {
		return nil, apperr.E(apperr.Invalid, "linkage: no blocking rules")
	}
	return out, nil
}
