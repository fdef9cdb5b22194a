package population

import "math/bits"

// Bitmap is a set of engine rows, one bit per row. The zero value is the
// empty set. Operations never modify their argument; And, Or and AndNot
// modify the receiver in place. A shorter bitmap counts as padded with
// zeros.
type Bitmap []uint64

func newBitmap(n int) Bitmap { return make(Bitmap, (n+63)/64) }

// Has reports whether row i is in the set.
func (b Bitmap) Has(i int) bool {
	w := i >> 6
	return i >= 0 && w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// set adds row i, growing the bitmap when needed.
func (b *Bitmap) set(i int) {
	w := i >> 6
	if w >= len(*b) {
		nb := make(Bitmap, max(w+1, 2*len(*b)))
		copy(nb, *b)
		*b = nb
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b Bitmap) clear(i int) {
	if w := i >> 6; w < len(b) {
		b[w] &^= 1 << (uint(i) & 63)
	}
}

// Count is the number of rows in the set.
func (b Bitmap) Count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// Clone returns a copy of b.
func (b Bitmap) Clone() Bitmap { return append(Bitmap(nil), b...) }

// And keeps the rows that are also in o.
func (b Bitmap) And(o Bitmap) {
	n := min(len(b), len(o))
	for i := range n {
		b[i] &= o[i]
	}
	clear(b[n:])
}

// Or adds the rows of o. b must be at least as long as o; bitmaps made by
// one engine always are.
func (b Bitmap) Or(o Bitmap) {
	n := min(len(b), len(o))
	for i := range n {
		b[i] |= o[i]
	}
}

// AndNot removes the rows that are in o.
func (b Bitmap) AndNot(o Bitmap) {
	n := min(len(b), len(o))
	for i := range n {
		b[i] &^= o[i]
	}
}

// AndCount is the number of rows in both b and o, without allocating.
func (b Bitmap) AndCount(o Bitmap) int {
	n := 0
	for i := range min(len(b), len(o)) {
		n += bits.OnesCount64(b[i] & o[i])
	}
	return n
}

// each calls f for every row in the set, in order.
func (b Bitmap) each(f func(i int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi<<6 | t)
			w &= w - 1
		}
	}
}
