package riskmodel

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/wholecare/wholecare/internal/apperr"
)

// GBTSpec is how a gradient-boosted tree classifier is trained. The
// defaults follow scikit-learn's HistGradientBoostingClassifier where it
// has one, so that the comparison is like for like.
type GBTSpec struct {
	LearningRate float64 `json:"learning_rate"`
	MaxIter      int     `json:"max_iter"`   // trees at most
	MaxLeaves    int     `json:"max_leaves"` // leaves per tree
	MaxDepth     int     `json:"max_depth"`  // 0: no limit beyond MaxLeaves
	MinLeaf      int     `json:"min_leaf"`   // rows per leaf at least
	L2           float64 `json:"l2"`         // penalty on leaf values
	MaxBins      int     `json:"max_bins"`   // at most 255, so a bin fits a byte
	// ValidFraction of the training rows is held out to stop early: when
	// the held-out log-loss has not improved for Patience trees, training
	// stops and keeps the best number of trees.
	ValidFraction float64 `json:"valid_fraction"`
	Patience      int     `json:"patience"`
	Seed          uint64  `json:"seed"` // for the held-out rows and the binning sample
}

// DefaultGBTSpec is what `wholecare risk train` uses.
var DefaultGBTSpec = GBTSpec{
	LearningRate: 0.1, MaxIter: 500, MaxLeaves: 31, MaxDepth: 8, MinLeaf: 20, L2: 1,
	MaxBins: 255, ValidFraction: 0.1, Patience: 20, Seed: 1,
}

func (s GBTSpec) valid() error {
	switch {
	case !(s.LearningRate > 0 && s.LearningRate <= 1):
		return apperr.Ef(apperr.Invalid, "riskmodel: learning rate %g: want more than 0, at most 1", s.LearningRate)
	case s.MaxIter < 1:
		return apperr.Ef(apperr.Invalid, "riskmodel: %d trees at most: want at least one", s.MaxIter)
	case s.MaxLeaves < 2:
		return apperr.Ef(apperr.Invalid, "riskmodel: %d leaves per tree: want at least two", s.MaxLeaves)
	case s.MaxDepth < 0:
		return apperr.Ef(apperr.Invalid, "riskmodel: depth limit %d: want 0 (none) or more", s.MaxDepth)
	case s.MinLeaf < 1:
		return apperr.Ef(apperr.Invalid, "riskmodel: %d rows per leaf: want at least one", s.MinLeaf)
	case !(s.L2 >= 0):
		return apperr.Ef(apperr.Invalid, "riskmodel: L2 penalty %g: want zero or more", s.L2)
	case s.MaxBins < 2 || s.MaxBins > 255:
		return apperr.Ef(apperr.Invalid, "riskmodel: %d bins: want 2 to 255", s.MaxBins)
	case !(s.ValidFraction >= 0 && s.ValidFraction < 0.5):
		return apperr.Ef(apperr.Invalid, "riskmodel: held-out fraction %g: want 0 to 0.5", s.ValidFraction)
	case s.ValidFraction > 0 && s.Patience < 1:
		return apperr.Ef(apperr.Invalid, "riskmodel: patience %d: want at least one tree", s.Patience)
	}
	return nil
}

// GBT is a trained tree ensemble: logit p = Base + Σ trees.
type GBT struct {
	Base  float64 `json:"base"`
	Trees []Tree  `json:"trees"`
}

// Tree is one regression tree on the log-odds scale; node 0 is the root.
type Tree struct {
	Nodes []Node `json:"nodes"`
}

// Node is a split (Feature ≥ 0: x[Feature] ≤ Threshold goes Left) or a
// leaf (Feature −1). Value is the node's own output, learning rate
// included: a leaf's is what the tree adds; an inner node's is what it
// would add had it not been split, which the Saabas attribution needs.
type Node struct {
	Feature   int     `json:"f"`
	Threshold float64 `json:"t,omitempty"`
	Left      int32   `json:"l,omitempty"`
	Right     int32   `json:"r,omitempty"`
	Value     float64 `json:"v"`
	bin       uint8   // the threshold as a bin, while training
}

// Logit is the model's log-odds for row x.
func (m *GBT) Logit(x []float32) float64 {
	s := m.Base
	for t := range m.Trees {
		nodes := m.Trees[t].Nodes
		n := &nodes[0]
		for n.Feature >= 0 {
			if float64(x[n.Feature]) <= n.Threshold {
				n = &nodes[n.Left]
			} else {
				n = &nodes[n.Right]
			}
		}
		s += n.Value
	}
	return s
}

// contributions writes the Saabas attribution of each feature into out and
// returns the bias (Base plus every root's value): their sum is Logit(x).
func (m *GBT) contributions(x []float32, out []float64) float64 {
	clear(out)
	bias := m.Base
	for t := range m.Trees {
		nodes := m.Trees[t].Nodes
		n := &nodes[0]
		bias += n.Value
		for n.Feature >= 0 {
			c := &nodes[n.Right]
			if float64(x[n.Feature]) <= n.Threshold {
				c = &nodes[n.Left]
			}
			out[n.Feature] += c.Value - n.Value
			n = c
		}
	}
	return bias
}

func (m *GBT) valid(p int) error {
	if math.IsNaN(m.Base) || len(m.Trees) == 0 {
		return apperr.E(apperr.Invalid, "riskmodel: tree model has no trees")
	}
	for t, tr := range m.Trees {
		if len(tr.Nodes) == 0 {
			return apperr.Ef(apperr.Invalid, "riskmodel: tree %d is empty", t)
		}
		for i, n := range tr.Nodes {
			if n.Feature >= p || math.IsNaN(n.Value) ||
				(n.Feature >= 0 && (int(n.Left) <= i || int(n.Right) <= i || int(n.Left) >= len(tr.Nodes) || int(n.Right) >= len(tr.Nodes))) {
				// Children after parents also rules out cycles.
				return apperr.Ef(apperr.Invalid, "riskmodel: tree %d node %d is malformed", t, i)
			}
		}
	}
	return nil
}

// binner maps each feature's values to at most MaxBins bins: bin b holds
// values in (edges[b−1], edges[b]], the last edge being +Inf.
type binner struct {
	edges [][]float64
}

// newBinner puts the edges at the midpoints between distinct values when a
// feature has few of them, and at quantiles of a sample otherwise.
func newBinner(d *Dataset, rows []int, maxBins int, r *rand.Rand) *binner {
	const sampleSize = 200_000
	sample := rows
	if len(rows) > sampleSize {
		sample = make([]int, sampleSize)
		for i := range sample {
			sample[i] = rows[r.IntN(len(rows))]
		}
	}
	b := &binner{edges: make([][]float64, d.P)}
	vals := make([]float64, len(sample))
	for j := range d.P {
		for k, i := range sample {
			vals[k] = float64(d.X[i*d.P+j])
		}
		slices.Sort(vals)
		distinct := slices.Compact(slices.Clone(vals))
		var edges []float64
		if len(distinct) <= maxBins {
			for k := 0; k+1 < len(distinct); k++ {
				edges = append(edges, (distinct[k]+distinct[k+1])/2)
			}
		} else {
			for q := 1; q < maxBins; q++ {
				v := vals[q*len(vals)/maxBins]
				if len(edges) == 0 || v > edges[len(edges)-1] {
					edges = append(edges, v)
				}
			}
		}
		b.edges[j] = append(edges, math.Inf(1))
	}
	return b
}

func (b *binner) bin(j int, v float32) uint8 {
	return uint8(sort.SearchFloat64s(b.edges[j], float64(v)))
}

// columns bins rows of d into one byte column per feature.
func (b *binner) columns(d *Dataset, rows []int) [][]uint8 {
	cols := make([][]uint8, d.P)
	for j := range cols {
		cols[j] = make([]uint8, len(rows))
	}
	parallelFor(d.P, func(j int) {
		col := cols[j]
		for k, i := range rows {
			col[k] = b.bin(j, d.X[i*d.P+j])
		}
	})
	return cols
}

// binStat sums the gradients, Hessians and rows that fall in one bin.
type binStat struct {
	g, h float64
	n    int32
}

// grower grows the trees of one training run.
type grower struct {
	spec  GBTSpec
	p     int
	nb    int // bins per feature histogram
	cols  [][]uint8
	g, h  []float64
	rows  []int32 // row indexes, partitioned by the open leaves
	edges [][]float64
}

// open is a leaf that may still be split.
type open struct {
	node       int32
	start, end int // its rows in grower.rows
	depth      int
	hist       []binStat // p × nb
	g, h       float64
	// the best split found for it
	gain    float64
	feature int
	bin     uint8
}

type leafHeap []*open

func (q leafHeap) Len() int           { return len(q) }
func (q leafHeap) Less(i, j int) bool { return q[i].gain > q[j].gain }
func (q leafHeap) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *leafHeap) Push(x any)        { *q = append(*q, x.(*open)) }
func (q *leafHeap) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// FitGBT trains a tree ensemble on the binary log-loss. Each tree is grown
// best-first (the leaf whose split most reduces the loss goes next) on
// histograms of binned features, with Newton leaf values −G/(H + L2); the
// histogram of the larger child is the parent's minus the smaller's.
func FitGBT(ctx context.Context, d *Dataset, spec GBTSpec) (*GBT, error) {
	if err := spec.valid(); err != nil {
		return nil, err
	}
	if err := d.check("training"); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x9e3779b97f4a7c15))
	n := d.Len()
	perm := rng.Perm(n)
	nHeld := int(spec.ValidFraction * float64(n))
	if spec.ValidFraction > 0 && nHeld < 1 {
		nHeld = 1
	}
	held, fit := perm[:nHeld], perm[nHeld:]
	slices.Sort(held)
	slices.Sort(fit)
	if len(fit) < 2*spec.MinLeaf {
		return nil, apperr.Ef(apperr.Invalid, "riskmodel: %d training rows cannot make leaves of %d", len(fit), spec.MinLeaf)
	}

	bn := newBinner(d, fit, spec.MaxBins, rng)
	gr := &grower{spec: spec, p: d.P, cols: bn.columns(d, fit), edges: bn.edges,
		g: make([]float64, len(fit)), h: make([]float64, len(fit)), rows: make([]int32, len(fit))}
	for _, e := range bn.edges {
		gr.nb = max(gr.nb, len(e))
	}
	heldCols := bn.columns(d, held)

	y := make([]float64, len(fit))
	pos := 0.0
	for k, i := range fit {
		if d.Y[i] {
			y[k] = 1
			pos++
		}
	}
	if pos == 0 || pos == float64(len(fit)) {
		return nil, apperr.E(apperr.Invalid, "riskmodel: the rows left for fitting have only one class")
	}
	m := &GBT{Base: math.Log(pos / (float64(len(fit)) - pos))}
	raw := make([]float64, len(fit))
	heldRaw := make([]float64, len(held))
	for k := range raw {
		raw[k] = m.Base
	}
	for k := range heldRaw {
		heldRaw[k] = m.Base
	}
	best, bestLoss, since := 0, math.Inf(1), 0
	for it := 0; it < spec.MaxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for k := range raw {
			pr := sigmoid(raw[k])
			gr.g[k] = pr - y[k]
			gr.h[k] = max(pr*(1-pr), 1e-16)
		}
		tree, leaves := gr.grow()
		for _, lf := range leaves {
			v := tree.Nodes[lf.node].Value
			for _, k := range gr.rows[lf.start:lf.end] {
				raw[k] += v
			}
		}
		m.Trees = append(m.Trees, tree)
		if len(held) == 0 {
			best = len(m.Trees)
			continue
		}
		loss := 0.0
		for k, i := range held {
			heldRaw[k] += binnedValue(&tree, heldCols, k)
			loss += log1pExp(heldRaw[k])
			if d.Y[i] {
				loss -= heldRaw[k]
			}
		}
		loss /= float64(len(held))
		if loss < bestLoss-1e-7 {
			best, bestLoss, since = len(m.Trees), loss, 0
		} else if since++; since >= spec.Patience {
			break
		}
	}
	m.Trees = m.Trees[:max(best, 1)]
	return m, nil
}

// binnedValue is the tree's output for row k of binned columns.
func binnedValue(t *Tree, cols [][]uint8, k int) float64 {
	n := &t.Nodes[0]
	for n.Feature >= 0 {
		if cols[n.Feature][k] <= n.bin {
			n = &t.Nodes[n.Left]
		} else {
			n = &t.Nodes[n.Right]
		}
	}
	return n.Value
}

// grow grows one tree on the current gradients and returns it with its
// leaves (whose row ranges say which rows each leaf holds).
func (gr *grower) grow() (Tree, []*open) {
	s := gr.spec
	for k := range gr.rows {
		gr.rows[k] = int32(k)
	}
	var t Tree
	root := &open{node: 0, start: 0, end: len(gr.rows)}
	root.hist = gr.histogram(root.start, root.end)
	for _, b := range root.hist[:gr.nb] { // any one feature's bins hold every row
		root.g += b.g
		root.h += b.h
	}
	t.Nodes = append(t.Nodes, Node{Feature: -1, Value: gr.leafValue(root.g, root.h)})
	gr.bestSplit(root)
	var leaves []*open
	q := &leafHeap{}
	push := func(o *open) {
		if o.gain > 0 && (s.MaxDepth == 0 || o.depth < s.MaxDepth) {
			heap.Push(q, o)
		} else {
			o.hist = nil
			leaves = append(leaves, o)
		}
	}
	push(root)
	for q.Len() > 0 && len(leaves)+q.Len() < s.MaxLeaves {
		o := heap.Pop(q).(*open)
		// Partition o's rows: bins ≤ o.bin to the left.
		col := gr.cols[o.feature]
		rows := gr.rows[o.start:o.end]
		l := 0
		for r := range rows {
			if col[rows[r]] <= o.bin {
				rows[l], rows[r] = rows[r], rows[l]
				l++
			}
		}
		left := &open{start: o.start, end: o.start + l, depth: o.depth + 1}
		right := &open{start: o.start + l, end: o.end, depth: o.depth + 1}
		small, large := left, right
		if right.end-right.start < left.end-left.start {
			small, large = right, left
		}
		small.hist = gr.histogram(small.start, small.end)
		large.hist = o.hist
		for i := range large.hist {
			large.hist[i].g -= small.hist[i].g
			large.hist[i].h -= small.hist[i].h
			large.hist[i].n -= small.hist[i].n
		}
		o.hist = nil
		for _, c := range []*open{left, right} {
			for _, b := range c.hist[:gr.nb] {
				c.g += b.g
				c.h += b.h
			}
			c.node = int32(len(t.Nodes))
			t.Nodes = append(t.Nodes, Node{Feature: -1, Value: gr.leafValue(c.g, c.h)})
		}
		pn := &t.Nodes[o.node]
		pn.Feature, pn.bin, pn.Threshold = o.feature, o.bin, gr.edges[o.feature][o.bin]
		pn.Left, pn.Right = left.node, right.node
		gr.bestSplit(left)
		gr.bestSplit(right)
		push(left)
		push(right)
	}
	for q.Len() > 0 {
		o := heap.Pop(q).(*open)
		o.hist = nil
		leaves = append(leaves, o)
	}
	return t, leaves
}

func (gr *grower) leafValue(g, h float64) float64 {
	return -gr.spec.LearningRate * g / (h + gr.spec.L2)
}

// histogram sums the gradients of rows[start:end] by feature and bin, the
// features split between the cores.
func (gr *grower) histogram(start, end int) []binStat {
	hist := make([]binStat, gr.p*gr.nb)
	rows := gr.rows[start:end]
	gs := make([]float64, len(rows))
	hs := make([]float64, len(rows))
	for k, r := range rows {
		gs[k], hs[k] = gr.g[r], gr.h[r]
	}
	parallelFor(gr.p, func(j int) {
		col := gr.cols[j]
		hj := hist[j*gr.nb : (j+1)*gr.nb]
		for k, r := range rows {
			b := &hj[col[r]]
			b.g += gs[k]
			b.h += hs[k]
			b.n++
		}
	})
	return hist
}

// bestSplit finds o's split with the largest gain in the penalised loss,
// leaving at least MinLeaf rows on each side.
func (gr *grower) bestSplit(o *open) {
	o.gain = 0
	n := int32(o.end - o.start)
	minLeaf := int32(gr.spec.MinLeaf)
	if n < 2*minLeaf {
		return
	}
	l2 := gr.spec.L2
	parent := o.g * o.g / (o.h + l2)
	for j := range gr.p {
		hj := o.hist[j*gr.nb : (j+1)*gr.nb]
		var gl, hl float64
		var nl int32
		for b := 0; b+1 < len(gr.edges[j]); b++ {
			gl += hj[b].g
			hl += hj[b].h
			nl += hj[b].n
			if nl < minLeaf {
				continue
			}
			if n-nl < minLeaf {
				break
			}
			gain := gl*gl/(hl+l2) + (o.g-gl)*(o.g-gl)/(o.h-hl+l2) - parent
			if gain > o.gain+1e-12 {
				o.gain, o.feature, o.bin = gain, j, uint8(b)
			}
		}
	}
}

// parallelFor runs f(0) … f(n−1) on the cores.
func parallelFor(n int, f func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		wg.Go(func() {
			for i := k; i < n; i += w {
				f(i)
			}
		})
	}
	wg.Wait()
}
