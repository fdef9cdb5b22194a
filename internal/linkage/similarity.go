package linkage

import "math/bits"

// JaroWinkler is the Jaro–Winkler similarity of a and b, from 0 (nothing in
// common) to 1 (equal): Jaro's matching-characters score with Winkler's
// boost of 0.1 for each of up to four agreeing leading characters, applied
// (as in Winkler 1990) only when the Jaro score is above 0.7.
func JaroWinkler(a, b string) float64 {
	return jaroWinkler([]rune(a), []rune(b))
}

func jaroWinkler(a, b []rune) float64 {
	j := jaro(a, b)
	if j <= 0.7 {
		return j
	}
	l := 0
	for l < 4 && l < len(a) && l < len(b) && a[l] == b[l] {
		l++
	}
	return j + float64(l)*0.1*(1-j)
}

// jaro is the Jaro similarity. Two empty strings are equal (1); one empty
// string matches nothing (0).
func jaro(a, b []rune) float64 {
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		if la == lb {
			return 1
		}
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	// Names are short: flags live on the stack unless a value is long.
	var bufA, bufB [64]bool
	var ma, mb []bool
	if la <= len(bufA) && lb <= len(bufB) {
		ma, mb = bufA[:la], bufB[:lb]
	} else {
		ma, mb = make([]bool, la), make([]bool, lb)
	}
	m := 0
	for i := range la {
		lo, hi := max(0, i-window), min(lb-1, i+window)
		for j := lo; j <= hi; j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	half, k := 0, 0
	for i := range la {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if a[i] != b[k] {
			half++
		}
		k++
	}
	fm := float64(m)
	return (fm/float64(la) + fm/float64(lb) + (fm-float64(half)/2)/fm) / 3
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent characters (optimal
// string alignment distance ≤ 1). Strings are compared byte by byte: it is
// used on digits and normalised postcodes.
func withinOneEdit(a, b string) bool {
	la, lb := len(a), len(b)
	switch {
	case la == lb:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		if i == la {
			return true
		}
		// One substitution, or one adjacent transposition.
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la == lb+1:
		return oneDeletion(a, b)
	case lb == la+1:
		return oneDeletion(b, a)
	}
	return false
}

// oneDeletion reports whether deleting one byte of long gives short.
func oneDeletion(long, short string) bool {
	i := 0
	for i < len(short) && long[i] == short[i] {
		i++
	}
	return long[i+1:] == short[i:]
}

// tokenSimilarity is an IDF-weighted, symmetric Monge–Elkan similarity of
// two token lists: each token finds its best partner in the other list
// (Jaro–Winkler for words, equality for numbers), the scores are averaged
// with rare tokens counting more, in both directions. It tolerates words in
// a different order, a word missing, a typo or a word split in two, and
// "street" agreeing says little while "tullaroop" agreeing says a lot.
func (c *corpus) tokenSimilarity(a, b []int32) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	// Best partner of each token on each side, from one pass over the
	// token pairs.
	var bufA, bufB [16]float64
	bestA, bestB := bufA[:0], bufB[:0]
	if len(a) > len(bufA) || len(b) > len(bufB) {
		bestA, bestB = make([]float64, 0, len(a)), make([]float64, 0, len(b))
	}
	bestA, bestB = bestA[:len(a)], bestB[:len(b)]
	clear(bestA)
	clear(bestB)
	for i, x := range a {
		for j, y := range b {
			s := 1.0
			if x != y {
				s = c.word(x).similarity(c.word(y))
			}
			bestA[i] = max(bestA[i], s)
			bestB[j] = max(bestB[j], s)
		}
	}
	return (c.weightedMean(a, bestA) + c.weightedMean(b, bestB)) / 2
}

func (c *corpus) weightedMean(ids []int32, best []float64) float64 {
	var sum, weight float64
	for i, id := range ids {
		w := c.word(id).weight
		sum += w * best[i]
		weight += w
	}
	if weight == 0 {
		return 0
	}
	return sum / weight
}

// token is one word of an address with its inverse document frequency.
type token struct {
	text    string
	runes   []rune
	letters uint32    // a bit for each of a–z the word contains
	count   [26]uint8 // how many times each (saturating)
	other   uint8     // characters outside a–z
	numeric bool
	weight  float64
}

func newToken(text string, weight float64) token {
	t := token{text: text, runes: []rune(text), numeric: allDigits(text), weight: weight}
	for _, r := range t.runes {
		if r >= 'a' && r <= 'z' {
			t.letters |= 1 << (r - 'a')
			if t.count[r-'a'] < 255 {
				t.count[r-'a']++
			}
		} else if t.other < 255 {
			t.other++
		}
	}
	return t
}

// minTokenJW is the Jaro–Winkler similarity below which two words count
// as different.
const minTokenJW = 0.8

func (t *token) similarity(u *token) float64 {
	if t.text == u.text {
		return 1
	}
	if t.numeric || u.numeric || !t.couldReach(u) {
		return 0
	}
	s := jaroWinkler(t.runes, u.runes)
	if s < minTokenJW {
		return 0
	}
	return s
}

// couldReach is a cheap bound that rules out most pairs of words before
// Jaro–Winkler is computed: Jaro's matching characters m are at most the
// characters the two words have in common, Jaro is then at most
// (m/|t| + m/|u| + 1)/3, and Winkler's boost for the common prefix adds
// what it adds.
func (t *token) couldReach(u *token) bool {
	m := int(min(t.other, u.other))
	for common := t.letters & u.letters; common != 0; common &= common - 1 {
		c := bits.TrailingZeros32(common)
		m += int(min(t.count[c], u.count[c]))
	}
	j := (float64(m)/float64(len(t.runes)) + float64(m)/float64(len(u.runes)) + 1) / 3
	l := 0
	for l < 4 && l < len(t.runes) && l < len(u.runes) && t.runes[l] == u.runes[l] {
		l++
	}
	return j+float64(l)*0.1*(1-j) >= minTokenJW
}
