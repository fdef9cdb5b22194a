package linkage

import (
	"cmp"
	"slices"

	"github.com/wholecare/wholecare/internal/apperr"
)

// ClusterOptions guard clustering against chaining: A links to B, B to C,
// and C, who is nothing like A, ends up in A's entity.
type ClusterOptions struct {
	// MinMeanProbability is the mean match probability, over every pair
	// of records across two groups, that they need to merge (default 0.5).
	MinMeanProbability float64
	// MinProbability is the least any one cross pair may have: no record
	// joins an entity holding a record it is clearly not (default 0.05).
	MinProbability float64
	// MaxSize is the most records one entity may gather (default 50).
	MaxSize int
}

// Cluster groups the records of a deduplication into entities, from the
// pairs it is given (normally those whose Outcome is Link). Pairs are
// taken strongest first; each joins the two groups its records are in,
// unless the groups are not alike enough (the mean probability over all
// their cross pairs is too low, or one cross pair is clearly not a match),
// have valid NHS numbers that differ, or would grow past MaxSize. It returns an entity number for
// every record, 0, 1, 2, … in the order of each entity's first record.
func (l *Linker) Cluster(pairs []Pair, opt ClusterOptions) ([]int, error) {
	if !l.dedupe {
		return nil, apperr.E(apperr.Invalid, "linkage: clustering is for a deduplication")
	}
	if !l.trained {
		return nil, apperr.E(apperr.Conflict, "linkage: Cluster before Train")
	}
	if opt.MinMeanProbability == 0 {
		opt.MinMeanProbability = 0.5
	}
	if opt.MinProbability == 0 {
		opt.MinProbability = 0.05
	}
	if opt.MaxSize == 0 {
		opt.MaxSize = 50
	}
	if opt.MaxSize < 2 || opt.MinMeanProbability < 0 || opt.MinMeanProbability > 1 || opt.MinProbability < 0 || opt.MinProbability > 1 {
		return nil, apperr.E(apperr.Invalid, "linkage: cluster size must be at least 2 and the probability from 0 to 1")
	}
	n := len(l.c.recs)
	for _, p := range pairs {
		if p.A < 0 || p.B < 0 || p.A >= n || p.B >= n || p.A == p.B {
			return nil, apperr.E(apperr.Invalid, "linkage: a pair to cluster names no records of this deduplication")
		}
	}
	order := slices.Clone(pairs)
	slices.SortFunc(order, func(a, b Pair) int {
		return cmp.Or(cmp.Compare(b.Probability, a.Probability), cmp.Compare(b.Weight, a.Weight),
			cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B))
	})

	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(x int32) int32
	find = func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	members := map[int32][]int32{} // groups of two or more, by root
	group := func(root int32) []int32 {
		if m, ok := members[root]; ok {
			return m
		}
		return []int32{root}
	}
	for _, p := range order {
		ra, rb := find(int32(p.A)), find(int32(p.B))
		if ra == rb {
			continue
		}
		ga, gb := group(ra), group(rb)
		if len(ga)+len(gb) > opt.MaxSize || !l.alike(ga, gb, opt) {
			continue
		}
		if len(ga) < len(gb) {
			ra, rb, ga, gb = rb, ra, gb, ga
		}
		parent[rb] = ra
		members[ra] = append(slices.Clip(ga), gb...)
		delete(members, rb)
	}
	ids := make([]int, n)
	next := 0
	seen := map[int32]int{}
	for i := range n {
		r := find(int32(i))
		id, ok := seen[r]
		if !ok {
			id = next
			seen[r] = id
			next++
		}
		ids[i] = id
	}
	return ids, nil
}

// alike reports whether two groups may merge: no valid NHS numbers differ
// across them, no cross pair is below the least probability, and their
// mean probability reaches the least mean.
func (l *Linker) alike(ga, gb []int32, opt ClusterOptions) bool {
	sum := 0.0
	for _, a := range ga {
		for _, b := range gb {
			i, j := int(a), int(b)
			if i > j {
				i, j = j, i
			}
			p := l.pair(i, j)
			switch p.levels[fNHS] {
			case nhsOther:
				return false
			case nhsSame:
				sum++ // the same valid NHS number: the same person
			default:
				if p.Probability < opt.MinProbability {
					return false
				}
				sum += p.Probability
			}
		}
	}
	return sum/float64(len(ga)*len(gb)) >= opt.MinMeanProbability
}
