package linkage

import (
	"cmp"
	"hash/maphash"
	"math"
	"slices"
	"sync"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Index holds a registry's people prepared for matching one incoming
// record at a time: every blocking rule's keys as posting lists, so that a
// match costs the few hundred candidates that share a key with the
// record, not the registry. It is kept current with Add and Remove and is
// safe for concurrent use: matches run beside each other and wait only
// for a change in progress.
//
// The weights come from a fitted Model (DefaultModel, or one a batch run
// fitted). An Index does not fit its own: m, what a true duplicate's
// fields look like, cannot be learnt from a registry that linkage keeps
// free of duplicates. What does depend on the registry is adjusted to it:
// how common each name and postcode is (term frequencies, kept current),
// the weight of each address word, and the prior, which Calibrate scales
// to how many candidates a record meets here compared with the model's
// training.
type Index struct {
	mu    sync.RWMutex
	cfg   Config
	model *Model
	rules []blockingRule
	sc    scorer
	seed  maphash.Seed
	b     *corpusBuilder // b.c.recs is indexed by slot
	ids   []int64        // person id of each slot; 0 for a free slot
	slots map[int64]int32
	free  []int32
	posts []postings // one per rule
	tf    [numFields]termFreq
	// weighedAt is the number of records with an address when the
	// address words were last weighed.
	weighedAt int
	// priorBits is the log2 prior odds of a match among a record's
	// candidates here (see Calibrate).
	priorBits float64
	// CandidatesPerRecord measured by the last Calibrate.
	candidatesPerRecord float64
}

// Candidate is one person of the registry an incoming record may be.
type Candidate struct {
	PersonID    int64
	Weight      float64 // total match weight in bits
	Probability float64 // posterior probability that they are one person
	Outcome     Outcome
	Caution     string // why a probable link was put up for review instead
	Evidence    []FieldEvidence
}

// NewIndex makes an empty index scoring with model; cfg gives the
// thresholds, blocking rules and block size limit as for a batch run.
func NewIndex(model *Model, cfg Config) (*Index, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if model == nil {
		return nil, apperr.E(apperr.Invalid, "linkage: an index needs a model")
	}
	p, err := model.params()
	if err != nil {
		return nil, err
	}
	rules, err := resolveRules(cfg.Blocking)
	if err != nil {
		return nil, err
	}
	ix := &Index{cfg: cfg, model: model, rules: rules, seed: maphash.MakeSeed(), b: newCorpusBuilder(),
		slots: map[int64]int32{}, posts: make([]postings, len(rules))}
	for r := range ix.posts {
		ix.posts[r] = postings{head: map[uint64]int32{}}
	}
	for f := range numFields {
		ix.tf[f] = termFreq{count: map[string]int32{}}
	}
	ix.sc = newScorer(p, cfg.LinkProbability, cfg.ReviewProbability)
	ix.sc.linkTwins = cfg.LinkTwins
	if !cfg.NoTermFrequency {
		for f := range numFields {
			if tfField(field(f)) && p.used[f] {
				ix.sc.tf[f] = &ix.tf[f]
			}
		}
	}
	ix.priorBits = ix.sc.priorBits
	return ix, nil
}

// Model is the model the index scores with.
func (ix *Index) Model() *Model { return ix.model }

// Len is the number of people in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.slots)
}

// Add puts a person in the index, or replaces what it held for them.
func (ix *Index) Add(id int64, r Record) error {
	if id == 0 {
		return apperr.E(apperr.Invalid, "linkage: person id 0")
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	slot, ok := ix.slots[id]
	if ok {
		ix.unpost(slot)
	} else if n := len(ix.free); n > 0 {
		slot, ix.free = ix.free[n-1], ix.free[:n-1]
	} else {
		if len(ix.ids) >= maxRecords {
			return apperr.E(apperr.Unavailable, "linkage: index full")
		}
		slot = int32(len(ix.ids))
		ix.ids = append(ix.ids, 0)
		ix.b.c.recs = append(ix.b.c.recs, prepared{})
	}
	ix.ids[slot] = id
	ix.slots[id] = slot
	p := &ix.b.c.recs[slot]
	*p = prepared{}
	ix.b.prepare(&r, p)
	ix.post(slot)
	if ix.b.withAddress >= 2*ix.weighedAt+16 {
		// Weighing every word is linear in the vocabulary; doing it when
		// the addressed records have doubled keeps it constant per Add.
		ix.b.weighWords()
		ix.weighedAt = ix.b.withAddress
	} else {
		for _, w := range p.addr {
			ix.b.c.words[w].weight = ix.b.wordWeight(ix.b.df[w])
		}
	}
	return nil
}

// Remove takes a person out of the index; an unknown id is ignored.
func (ix *Index) Remove(id int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	slot, ok := ix.slots[id]
	if !ok {
		return
	}
	ix.unpost(slot)
	delete(ix.slots, id)
	ix.ids[slot] = 0
	ix.b.c.recs[slot] = prepared{}
	ix.free = append(ix.free, slot)
}

// post adds slot's keys and values (prepare has counted its address
// words); unpost takes all of them away again.
func (ix *Index) post(slot int32) { ix.account(slot, 1) }

func (ix *Index) unpost(slot int32) {
	ix.account(slot, -1)
	p := &ix.b.c.recs[slot]
	if len(p.addr) > 0 {
		ix.b.withAddress--
		for k, w := range p.addr {
			if !slices.Contains(p.addr[:k], w) {
				ix.b.df[w]--
			}
		}
	}
}

func (ix *Index) account(slot int32, delta int32) {
	c := ix.b.c
	p := &c.recs[slot]
	for r, rule := range ix.rules {
		if k := rule.key(c, p); k != "" {
			h := maphash.String(ix.seed, k)
			if delta > 0 {
				ix.posts[r].add(h, slot)
			} else {
				ix.posts[r].remove(h, slot)
			}
		}
	}
	for f := range numFields {
		if tfField(field(f)) {
			ix.tf[f].add(c.tfValueOf(field(f), p), delta)
		}
	}
}

// Calibrate re-weighs the address words and measures how many candidates
// a record meets in this registry, from a sample of up to 1,000 of its
// people. The model's prior is the share of matches among the candidates
// of its training data; a record here has as many duplicates but, in a
// larger registry, more candidates that are not, so the prior odds are
// divided by the ratio. A smaller registry never raises them: linking is
// never made easier than the model was fitted for. Call it after loading
// the registry; it takes a fraction of a second.
func (ix *Index) Calibrate() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.b.weighWords()
	ix.weighedAt = ix.b.withAddress
	n := len(ix.slots)
	if n < 2 {
		return
	}
	step := max(1, len(ix.ids)/1000)
	var sampled, total int
	var buf []int32
	for s := 0; s < len(ix.ids); s += step {
		if ix.ids[s] == 0 {
			continue
		}
		buf = ix.candidates(ix.b.c, &ix.b.c.recs[s], buf[:0])
		sampled++
		total += len(buf)
		if _, self := slices.BinarySearch(buf, int32(s)); self {
			total--
		}
	}
	ix.candidatesPerRecord = float64(total) / float64(sampled)
	ix.priorBits = ix.sc.priorBits
	if m := ix.model.CandidatesPerRecord; m > 0 && ix.candidatesPerRecord > m {
		ix.priorBits += math.Log2(m / ix.candidatesPerRecord)
	}
}

// CandidatesPerRecord is what the last Calibrate measured.
func (ix *Index) CandidatesPerRecord() float64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.candidatesPerRecord
}

// candidates appends to buf, once each, the slots that share a key with
// q, leaving out keys held by more than MaxBlockSize people: a
// placeholder date of birth is no evidence of who someone is, only of
// work.
func (ix *Index) candidates(c *corpus, q *prepared, buf []int32) []int32 {
	var one [1]int32
	for r, rule := range ix.rules {
		k := rule.key(c, q)
		if k == "" {
			continue
		}
		list := ix.posts[r].get(maphash.String(ix.seed, k), one[:])
		if len(list) > ix.cfg.MaxBlockSize {
			continue
		}
		buf = append(buf, list...)
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// Match scores an incoming record against every person who shares a
// blocking key with it and returns the best max of them (all when max is
// 0 or less), most likely first, each with its evidence.
func (ix *Index) Match(r Record, max int) []Candidate {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c := ix.b.c
	// A view of the corpus in which the record's unknown names and words
	// are numbered after the vocabulary: nothing shared is written.
	view := &corpus{recs: c.recs, names: c.names, words: c.words}
	q := ix.prepareQuery(view, &r)
	seen := ix.candidates(view, &q, nil)
	type scored struct {
		slot int32
		lv   levels
		w    float64
	}
	all := make([]scored, 0, len(seen))
	for _, s := range seen {
		lv := view.compareRecs(&q, &c.recs[s])
		w := 0.0
		for f, l := range lv {
			if l != null {
				w += ix.sc.fieldWeightOf(view, field(f), l, &q)
			}
		}
		all = append(all, scored{s, lv, w})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(b.w, a.w); c != 0 {
			return c
		}
		return cmp.Compare(ix.ids[a.slot], ix.ids[b.slot])
	})
	if max > 0 && len(all) > max {
		all = all[:max]
	}
	out := make([]Candidate, len(all))
	for i, s := range all {
		cand := Candidate{PersonID: ix.ids[s.slot], Weight: s.w}
		cand.Probability = 1 / (1 + math.Exp2(-(s.w + ix.priorBits)))
		p := &c.recs[s.slot]
		switch {
		case s.lv[fNHS] == nhsSame && q.nhsVerified && p.nhsVerified:
			// Two verified NHS numbers agreeing are the person, whatever
			// the names say (they may have changed).
			cand.Outcome = Link
		case cand.Probability >= ix.sc.linkP:
			cand.Outcome = Link
		case cand.Probability >= ix.sc.reviewP:
			cand.Outcome = Review
		}
		if cand.Outcome == Link {
			if cand.Caution = caution(s.lv, ix.sc.linkTwins); cand.Caution != "" {
				cand.Outcome = Review
			}
		}
		for f, lev := range s.lv {
			if !ix.sc.used[f] {
				continue
			}
			e := FieldEvidence{Field: fieldNames[f], Level: levelNames[f][lev]}
			if lev != null {
				e.Weight = ix.sc.fieldWeightOf(view, field(f), lev, &q)
			}
			cand.Evidence = append(cand.Evidence, e)
		}
		out[i] = cand
	}
	return out
}

// prepareQuery normalises an incoming record against the vocabulary
// without changing it: a name or word it lacks goes to view's extras.
func (ix *Index) prepareQuery(view *corpus, r *Record) prepared {
	var q prepared
	name := func(raw string) int32 {
		k := normaliseName(raw)
		if k == "" {
			return 0
		}
		if id, ok := ix.b.nameIDs[k]; ok {
			return id
		}
		for i := range view.extraNames {
			if view.extraNames[i].key == k {
				return int32(len(view.names) + i)
			}
		}
		view.extraNames = append(view.extraNames, ix.b.newName(k))
		return int32(len(view.names) + len(view.extraNames) - 1)
	}
	q.given, q.family = name(r.GivenName), name(r.FamilyName)
	prepareValues(r, &q)
	for _, t := range addressTokens(r.Address) {
		id, ok := ix.b.wordIDs[t]
		if !ok {
			id = int32(len(view.words) + len(view.extraWords))
			view.extraWords = append(view.extraWords, newToken(t, ix.b.wordWeight(1)))
		}
		q.addr = append(q.addr, id)
	}
	return q
}

// postings is one blocking rule's posting lists. Most keys (an NHS
// number, a name with a date of birth) belong to one person, so a key
// maps to that person's slot directly, and only a shared key to a list:
// -(list+1). At three million people this halves the index.
type postings struct {
	head      map[uint64]int32
	lists     [][]int32
	freeLists []int32
}

func (p *postings) add(h uint64, slot int32) {
	v, ok := p.head[h]
	switch {
	case !ok:
		p.head[h] = slot
	case v >= 0:
		var li int32
		if n := len(p.freeLists); n > 0 {
			li, p.freeLists = p.freeLists[n-1], p.freeLists[:n-1]
			p.lists[li] = append(p.lists[li][:0], v, slot)
		} else {
			li = int32(len(p.lists))
			p.lists = append(p.lists, []int32{v, slot})
		}
		p.head[h] = -(li + 1)
	default:
		li := -v - 1
		p.lists[li] = append(p.lists[li], slot)
	}
}

func (p *postings) remove(h uint64, slot int32) {
	v, ok := p.head[h]
	switch {
	case !ok:
	case v >= 0:
		if v == slot {
			delete(p.head, h)
		}
	default:
		li := -v - 1
		l := p.lists[li]
		if i := slices.Index(l, slot); i >= 0 {
			l[i] = l[len(l)-1]
			l = l[:len(l)-1]
		}
		if len(l) == 1 {
			p.head[h] = l[0]
			p.lists[li] = nil
			p.freeLists = append(p.freeLists, li)
			return
		}
		p.lists[li] = l
	}
}

// get returns the slots under h; one is room for a single slot.
func (p *postings) get(h uint64, one []int32) []int32 {
	v, ok := p.head[h]
	switch {
	case !ok:
		return nil
	case v >= 0:
		one[0] = v
		return one[:1]
	}
	return p.lists[-v-1]
}
