package linkage

import (
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/wholecare/wholecare/internal/registry"
)

// field is one compared attribute.
type field uint8

const (
	fGiven field = iota
	fFamily
	fBirth
	fSex
	fPostcode
	fAddress
	fNHS
	fLocalID
	numFields
)

// levels is a pair's comparison vector: one level per field, 0 = null.
type levels [numFields]uint8

// Levels of each field, most to least alike; level 0 is always null (a
// value missing on either side). The names are what Evidence reports.
const (
	null = 0

	givenExact, givenNickname, givenJW92, givenJW88, givenPhonetic, givenInitial, givenSwapped, givenOther = 1, 2, 3, 4, 5, 6, 7, 8

	familyExact, familyJW92, familyJW88, familyPhonetic, familyOther = 1, 2, 3, 4, 5

	birthExact, birthTransposed, birthOneDigit, birthSameYear, birthOther = 1, 2, 3, 4, 5

	sexSame, sexOther = 1, 2

	postcodeExact, postcodeOneEdit, postcodeSector, postcodeDistrict, postcodeOther = 1, 2, 3, 4, 5

	addressExact, address90, address75, address50, addressOther = 1, 2, 3, 4, 5

	nhsSame, nhsOther = 1, 2

	localExact, localOneEdit, localOther = 1, 2, 3
)

// fieldNames and levelNames describe the comparisons; they are constant
// tables, never written.
var fieldNames = [numFields]string{"given_name", "family_name", "birth_date", "sex", "postcode", "address", "nhs_number", "local_id"}

var levelNames = [numFields][]string{
	fGiven:    {"null", "exact", "nickname", "jw>=0.92", "jw>=0.88", "phonetic", "initial", "swapped", "different"},
	fFamily:   {"null", "exact", "jw>=0.92", "jw>=0.88", "phonetic", "different"},
	fBirth:    {"null", "exact", "day-month-transposed", "one-digit", "same-year", "different"},
	fSex:      {"null", "same", "different"},
	fPostcode: {"null", "exact", "one-character", "same-sector", "same-district", "different"},
	fAddress:  {"null", "exact", "tokens>=0.9", "tokens>=0.75", "tokens>=0.5", "different"},
	fNHS:      {"null", "same", "different"},
	fLocalID:  {"null", "exact", "one-character", "different"},
}

// tfField reports whether an exact agreement on f is adjusted by how
// common the shared value is.
func tfField(f field) bool { return f == fGiven || f == fFamily || f == fPostcode }

// corpus is a set of records prepared for comparing: every value
// normalised once, and names and address words kept once each in shared
// vocabularies (a population has a few thousand names and street words,
// not millions), so that a record costs about a hundred bytes.
type corpus struct {
	recs  []prepared
	names []name  // names[0] is the missing name
	words []token // address words
	// extraNames and extraWords are a query's names and words that the
	// vocabulary lacks, numbered after it, so that a query is compared
	// without writing to a vocabulary others are reading.
	extraNames []name
	extraWords []token
}

// name is one normalised name with what the comparisons need of it.
type name struct {
	key    string // lower case, letters only
	runes  []rune
	code   string // NYSIIS
	sound  string // Soundex
	groups []int32
}

// prepared is one record, normalised.
type prepared struct {
	given, family int32   // into corpus.names; 0 when missing
	birth         [8]byte // YYYYMMDD; birth[0] == 0 when unknown
	sex           uint8   // 0 unknown, then male, female, other
	postcode      string  // upper case, letters and digits only
	district      uint8   // length of a UK postcode's district (outward code); 0 for anything else
	addr          []int32 // address words, into corpus.words
	nhs           string  // a valid NHS number, else ""
	nhsVerified   bool    // nhs was traced against the spine
	localID       string
}

func (p *prepared) hasBirth() bool { return p.birth[0] != 0 }

// normaliseName keeps the letters of a name, lower-cased: "O'Brien-Smith"
// and "obrien smith" are the same name to every comparison.
func normaliseName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// normalisePostcode upper-cases and removes everything but letters and digits.
func normalisePostcode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ukPostcodeParts returns the sector ("LS1 4") and district ("LS1") of a
// normalised UK postcode, or empty strings for anything else.
func ukPostcodeParts(pc string) (sector, district string) {
	n := len(pc)
	if n < 5 || n > 7 {
		return "", ""
	}
	in := pc[n-3:]
	out := pc[:n-3]
	if !(in[0] >= '0' && in[0] <= '9') || !isUpper(in[1]) || !isUpper(in[2]) {
		return "", ""
	}
	if !isUpper(out[0]) {
		return "", ""
	}
	hasDigit := false
	for i := 0; i < len(out); i++ {
		if out[i] >= '0' && out[i] <= '9' {
			hasDigit = true
		}
	}
	if !hasDigit {
		return "", ""
	}
	return out + " " + in[:1], out
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// addressTokens splits an address into lower-case words and numbers.
func addressTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// normaliseSex codes administrative sex as 1 male, 2 female, 3 other, 0
// unknown, from FHIR codes or the usual abbreviations.
func normaliseSex(s registry.Sex) uint8 {
	switch strings.ToLower(strings.TrimSpace(string(s))) {
	case "male", "m", "1":
		return 1
	case "female", "f", "2":
		return 2
	case "other", "o", "9":
		return 3
	}
	return 0
}

// newCorpus prepares records. Address words are weighted by their inverse
// document frequency over all the records, so it needs them all at once.
func newCorpus(recs []Record) *corpus {
	b := newCorpusBuilder()
	b.c.recs = make([]prepared, len(recs))
	for i := range recs {
		b.prepare(&recs[i], &b.c.recs[i])
	}
	b.weighWords()
	return b.c
}

// corpusBuilder interns the names and address words of records as they
// are prepared, and counts in how many records each word occurs.
type corpusBuilder struct {
	c           *corpus
	nick        nicknames
	nameIDs     map[string]int32
	wordIDs     map[string]int32
	df          []int32 // records each word occurs in
	withAddress int     // records with an address
}

func newCorpusBuilder() *corpusBuilder {
	return &corpusBuilder{c: &corpus{names: []name{{}}}, nick: parseNicknames(nicknameData),
		nameIDs: map[string]int32{}, wordIDs: map[string]int32{}}
}

func (b *corpusBuilder) newName(k string) name {
	return name{key: k, runes: []rune(k), code: NYSIIS(k), sound: Soundex(k), groups: b.nick[k]}
}

func (b *corpusBuilder) intern(raw string) int32 {
	k := normaliseName(raw)
	if k == "" {
		return 0
	}
	id, ok := b.nameIDs[k]
	if !ok {
		id = int32(len(b.c.names))
		b.nameIDs[k] = id
		b.c.names = append(b.c.names, b.newName(k))
	}
	return id
}

// prepare normalises r into p, interning its names and words.
func (b *corpusBuilder) prepare(r *Record, p *prepared) {
	p.given, p.family = b.intern(r.GivenName), b.intern(r.FamilyName)
	prepareValues(r, p)
	if ts := addressTokens(r.Address); len(ts) > 0 {
		b.withAddress++
		p.addr = make([]int32, len(ts))
		for k, t := range ts {
			id, ok := b.wordIDs[t]
			if !ok {
				id = int32(len(b.c.words))
				b.wordIDs[t] = id
				// Weighed by weighWords once every record is in; a word
				// first seen later keeps the weight of a unique word.
				b.c.words = append(b.c.words, newToken(t, 0))
				b.df = append(b.df, 0)
			}
			p.addr[k] = id
			if !slices.Contains(p.addr[:k], id) {
				b.df[id]++
			}
		}
	}
}

// prepareValues normalises everything but the names and address words.
func prepareValues(r *Record, p *prepared) {
	if d := r.BirthDate; !d.IsZero() && d.Year > 0 && d.Year <= 9999 && d.Month >= 0 && d.Month <= 99 && d.Day >= 0 && d.Day <= 99 {
		copy(p.birth[:], d.digits())
	}
	p.sex = normaliseSex(r.Sex)
	p.postcode = normalisePostcode(r.Postcode)
	_, district := ukPostcodeParts(p.postcode)
	p.district = uint8(len(district))
	if n := registry.NormaliseNHSNumber(strings.TrimSpace(r.NHSNumber)); registry.ValidNHSNumber(n) {
		p.nhs = n
		p.nhsVerified = r.NHSVerified
	}
	p.localID = strings.ToUpper(strings.Join(strings.Fields(r.LocalID), ""))
}

// weighWords sets every address word's weight to its inverse document
// frequency over the records prepared so far.
func (b *corpusBuilder) weighWords() {
	for id := range b.c.words {
		b.c.words[id].weight = b.wordWeight(b.df[id])
	}
}

func (b *corpusBuilder) wordWeight(df int32) float64 {
	return math.Log(float64(b.withAddress+1) / float64(max(df, 1)))
}

// name is the vocabulary entry of a name id; ids past the vocabulary are
// a query's own names (see Index.Match).
func (c *corpus) name(id int32) *name {
	if int(id) < len(c.names) {
		return &c.names[id]
	}
	return &c.extraNames[int(id)-len(c.names)]
}

// word is the vocabulary entry of an address word id, like name.
func (c *corpus) word(id int32) *token {
	if int(id) < len(c.words) {
		return &c.words[id]
	}
	return &c.extraWords[int(id)-len(c.words)]
}

// compare puts records i and j into a level on every field.
func (c *corpus) compare(i, j int) levels {
	return c.compareRecs(&c.recs[i], &c.recs[j])
}

// compareRecs puts two prepared records into a level on every field.
func (c *corpus) compareRecs(a, b *prepared) levels {
	var lv levels
	lv[fGiven] = c.compareGiven(a, b)
	if lv[fGiven] == givenSwapped {
		// The swap is one piece of evidence about the whole name: the
		// family name comparison would count it twice.
		lv[fFamily] = null
	} else {
		lv[fFamily] = c.compareFamily(a, b)
	}
	lv[fBirth] = compareBirth(a, b)
	switch {
	case a.sex == 0 || b.sex == 0:
	case a.sex == b.sex:
		lv[fSex] = sexSame
	default:
		lv[fSex] = sexOther
	}
	lv[fPostcode] = comparePostcode(a, b)
	lv[fAddress] = c.compareAddress(a, b)
	switch {
	case a.nhs == "" || b.nhs == "":
	case a.nhs == b.nhs:
		lv[fNHS] = nhsSame
	default:
		lv[fNHS] = nhsOther
	}
	switch {
	case a.localID == "" || b.localID == "":
	case a.localID == b.localID:
		lv[fLocalID] = localExact
	case withinOneEdit(a.localID, b.localID):
		lv[fLocalID] = localOneEdit
	default:
		lv[fLocalID] = localOther
	}
	return lv
}

// jw is the Jaro–Winkler similarity of two names, both present.
func (c *corpus) jw(x, y int32) float64 {
	return jaroWinkler(c.name(x).runes, c.name(y).runes)
}

// swapped reports whether the given and family names of a appear the other
// way round in b (allowing a typo, or one of the two missing).
func (c *corpus) swapped(a, b *prepared) bool {
	fwd := a.given != 0 && b.family != 0 && c.jw(a.given, b.family) >= 0.88
	back := a.family != 0 && b.given != 0 && c.jw(a.family, b.given) >= 0.88
	switch {
	case fwd && back:
		return true
	case fwd:
		return a.family == 0 || b.given == 0
	case back:
		return a.given == 0 || b.family == 0
	}
	return false
}

func (c *corpus) compareGiven(a, b *prepared) uint8 {
	if a.given == 0 || b.given == 0 {
		if c.swapped(a, b) {
			return givenSwapped
		}
		return null
	}
	if a.given == b.given {
		return givenExact
	}
	x, y := c.name(a.given), c.name(b.given)
	if relatedGroups(x.groups, y.groups) {
		return givenNickname
	}
	jw := jaroWinkler(x.runes, y.runes)
	switch {
	case jw >= 0.92:
		return givenJW92
	case jw >= 0.88:
		return givenJW88
	case x.code == y.code:
		return givenPhonetic
	case (len(x.runes) == 1 || len(y.runes) == 1) && x.runes[0] == y.runes[0]:
		return givenInitial
	case c.swapped(a, b):
		return givenSwapped
	}
	return givenOther
}

func (c *corpus) compareFamily(a, b *prepared) uint8 {
	if a.family == 0 || b.family == 0 {
		return null
	}
	if a.family == b.family {
		return familyExact
	}
	x, y := c.name(a.family), c.name(b.family)
	jw := jaroWinkler(x.runes, y.runes)
	switch {
	case jw >= 0.92:
		return familyJW92
	case jw >= 0.88:
		return familyJW88
	case x.code == y.code:
		return familyPhonetic
	}
	return familyOther
}

func compareBirth(a, b *prepared) uint8 {
	if !a.hasBirth() || !b.hasBirth() {
		return null
	}
	x, y := a.birth, b.birth
	year := [4]byte(x[:4]) == [4]byte(y[:4])
	switch {
	case x == y:
		return birthExact
	case year && [2]byte(x[4:6]) == [2]byte(y[6:8]) && [2]byte(x[6:8]) == [2]byte(y[4:6]):
		return birthTransposed
	case withinOneEdit(string(x[:]), string(y[:])):
		return birthOneDigit
	case year:
		return birthSameYear
	}
	return birthOther
}

func comparePostcode(a, b *prepared) uint8 {
	if a.postcode == "" || b.postcode == "" {
		return null
	}
	d := a.district
	switch {
	case a.postcode == b.postcode:
		return postcodeExact
	case withinOneEdit(a.postcode, b.postcode):
		return postcodeOneEdit
	case d == 0 || d != b.district:
	case a.postcode[:d+1] == b.postcode[:d+1]:
		return postcodeSector
	case a.postcode[:d] == b.postcode[:d]:
		return postcodeDistrict
	}
	return postcodeOther
}

func (c *corpus) compareAddress(a, b *prepared) uint8 {
	if len(a.addr) == 0 || len(b.addr) == 0 {
		return null
	}
	if slices.Equal(a.addr, b.addr) {
		return addressExact
	}
	s := c.tokenSimilarity(a.addr, b.addr)
	switch {
	case s >= 0.9:
		return address90
	case s >= 0.75:
		return address75
	case s >= 0.5:
		return address50
	}
	return addressOther
}
