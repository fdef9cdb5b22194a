package linkage

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
)

func TestJaroWinklerPublishedExamples(t *testing.T) {
	// Winkler (1990) and the examples every implementation is checked
	// against: the Jaro score, then Jaro–Winkler.
	tests := []struct {
		a, b     string
		jaro, jw float64
	}{
		{"MARTHA", "MARHTA", 0.944, 0.961},
		{"DWAYNE", "DUANE", 0.822, 0.840},
		{"DIXON", "DICKSONX", 0.767, 0.813},
		{"JELLYFISH", "SMELLYFISH", 0.896, 0.896}, // no common prefix: no boost
		{"CRATE", "TRACE", 0.733, 0.733},
		{"abc", "abc", 1, 1},
		{"abc", "xyz", 0, 0},
		{"", "", 1, 1},
		{"a", "", 0, 0},
		{"Zoë", "Zoe", 0.778, 0.822}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := jaro([]rune(tt.a), []rune(tt.b)); math.Abs(got-tt.jaro) > 0.0005 {
			t.Errorf("jaro(%q, %q) = %.4f, want %.3f", tt.a, tt.b, got, tt.jaro)
		}
		if got := JaroWinkler(tt.a, tt.b); math.Abs(got-tt.jw) > 0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.3f", tt.a, tt.b, got, tt.jw)
		}
		if got, back := JaroWinkler(tt.a, tt.b), JaroWinkler(tt.b, tt.a); math.Abs(got-back) > 1e-12 {
			t.Errorf("JaroWinkler is not symmetric on %q, %q: %v, %v", tt.a, tt.b, got, back)
		}
	}
}

func TestNYSIIS(t *testing.T) {
	// Codes from the NYSIIS literature and the Apache Commons Codec test
	// suite (the full, untruncated variant).
	tests := map[string]string{
		"Brian": "BRAN", "Brown": "BRAN", "Brun": "BRAN",
		"Capp": "CAP", "Cope": "CAP", "Copp": "CAP", "Kipp": "CAP",
		"Dane": "DAN", "Dean": "DAN", "Dionne": "DAN", "Dent": "DAD",
		"Smith": "SNAT", "Schmit": "SNAT", "Schmidt": "SNAD",
		"Trueman": "TRANAN", "Truman": "TRANAN",
		"MACINTOSH": "MCANT", "KNUTH": "NAT", "KOEHN": "CAN", "PHILLIPSON": "FALAPSAN",
		"PFEISTER": "FASTAR", "MCKEE": "MCY", "MACKIE": "MCY", "HEITSCHMIDT": "HATSNAD",
		"BART": "BAD", "HURD": "HAD", "HUNT": "HAD", "WESTERLUND": "WASTARLAD",
		"CASSTEVENS": "CASTAFAN", "VASQUEZ": "VASG", "FRAZIER": "FRASAR", "BOWMAN": "BANAN",
		"MCKNIGHT": "MCNAGT", "RICKERT": "RACAD", "DEUTSCH": "DAT", "WESTPHAL": "WASTFAL",
		"SHRIVER": "SRAVAR", "KUHL": "CAL", "RAWSON": "RASAN", "JILES": "JAL", "CARRAWAY": "CARY",
		"YAMADA": "YANAD", "O'Daniel": "ODANAL", "O'Donnel": "ODANAL", "Cory": "CARY",
		"Corey": "CARY", "Kory": "CARY", "FUZZY": "FASY", "Phil": "FAL",
		"": "", "123": "",
	}
	for in, want := range tests {
		if got := NYSIIS(in); got != want {
			t.Errorf("NYSIIS(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSoundex(t *testing.T) {
	// The American Soundex examples of the US National Archives.
	tests := map[string]string{
		"Robert": "R163", "Rupert": "R163", "Rubin": "R150", "Ashcraft": "A261", "Ashcroft": "A261",
		"Tymczak": "T522", "Pfister": "P236", "Honeyman": "H555", "Lee": "L000", "": "",
	}
	for in, want := range tests {
		if got := Soundex(in); got != want {
			t.Errorf("Soundex(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithinOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1234567", "1234567", true},
		{"1234567", "1234568", true},  // substitution
		{"1234567", "1243567", true},  // adjacent transposition
		{"1234567", "123567", true},   // deletion
		{"1234567", "12345678", true}, // insertion
		{"1234567", "1243568", false},
		{"1234567", "7654321", false},
		{"2208", "2280", true},
		{"", "", true},
		{"", "1", true},
		{"", "12", false},
	}
	for _, tt := range tests {
		if got := withinOneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := withinOneEdit(tt.b, tt.a); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in       string
		want     Date
		real     bool
		rejected bool
	}{
		{"19081209", Date{1908, 12, 9}, true, false},
		{"1980-02-29", Date{1980, 2, 29}, true, false},
		{"1981-02-29", Date{1981, 2, 29}, false, false}, // kept, digit by digit
		{"2000-02-29T00:00:00Z", Date{2000, 2, 29}, true, false},
		{"1900/02/29", Date{1900, 2, 29}, false, false},
		{"09/12/1908", Date{1908, 12, 9}, true, false},
		{"19551192", Date{1955, 11, 92}, false, false}, // a FEBRL typo
		{"", Date{}, false, false},
		{"banana", Date{}, false, true},
		{"0000-01-01", Date{}, false, true},
		{"30000101", Date{}, false, true},
		{"1980-1-2", Date{}, false, true},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if tt.rejected {
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("ParseDate(%q) = %v, %v; want an Invalid error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want || got.Real() != tt.real {
			t.Errorf("ParseDate(%q) = %v (real %v), %v; want %v (real %v)", tt.in, got, got.Real(), err, tt.want, tt.real)
		}
	}
}

// levelsOf compares two records as a Linker would, both ways round.
func levelsOf(t *testing.T, a, b Record) levels {
	t.Helper()
	c := newCorpus([]Record{a, b})
	lv := c.compare(0, 1)
	if back := c.compare(1, 0); back != lv {
		t.Errorf("compare is not symmetric: %v, %v", lv, back)
	}
	return lv
}

func TestComparisonLevels(t *testing.T) {
	base := Record{GivenName: "Robert", FamilyName: "Smith", BirthDate: Date{1980, 3, 4}, Sex: "male",
		Postcode: "LS1 4AP", Address: "12 Tullaroop Street, Leeds", NHSNumber: "943 476 5919", LocalID: "RXR123456"}
	with := func(change func(*Record)) Record {
		r := base
		change(&r)
		return r
	}
	tests := []struct {
		name  string
		other Record
		field field
		want  string
	}{
		{"given exact, any case and punctuation", with(func(r *Record) { r.GivenName = "ROBERT " }), fGiven, "exact"},
		{"given nickname", with(func(r *Record) { r.GivenName = "Bob" }), fGiven, "nickname"},
		{"given nickname the other way", with(func(r *Record) { r.GivenName = "Robbie" }), fGiven, "nickname"},
		{"given typo", with(func(r *Record) { r.GivenName = "Robrt" }), fGiven, "jw>=0.92"},
		{"given two typos", with(func(r *Record) { r.GivenName = "Rubert" }), fGiven, "jw>=0.88"},
		{"given sounds alike", with(func(r *Record) { r.GivenName = "Rabbert" }), fGiven, "phonetic"},
		{"given initial", with(func(r *Record) { r.GivenName = "R" }), fGiven, "initial"},
		{"given different", with(func(r *Record) { r.GivenName = "Alice" }), fGiven, "different"},
		{"given missing", with(func(r *Record) { r.GivenName = "" }), fGiven, "null"},
		{"names swapped", with(func(r *Record) { r.GivenName, r.FamilyName = "Smith", "Robert" }), fGiven, "swapped"},
		{"a swap counts once", with(func(r *Record) { r.GivenName, r.FamilyName = "Smith", "Robert" }), fFamily, "null"},
		{"swapped with a typo", with(func(r *Record) { r.GivenName, r.FamilyName = "Smyth", "Robert" }), fGiven, "swapped"},
		{"family exact with hyphen", with(func(r *Record) { r.FamilyName = "SMI-TH" }), fFamily, "exact"},
		{"family typo", with(func(r *Record) { r.FamilyName = "Smiht" }), fFamily, "jw>=0.92"},
		{"family sounds alike", with(func(r *Record) { r.FamilyName = "Schmit" }), fFamily, "phonetic"},
		{"family different", with(func(r *Record) { r.FamilyName = "Jones" }), fFamily, "different"},
		{"dob exact", base, fBirth, "exact"},
		{"dob day and month transposed", with(func(r *Record) { r.BirthDate = Date{1980, 4, 3} }), fBirth, "day-month-transposed"},
		{"dob one digit", with(func(r *Record) { r.BirthDate = Date{1980, 3, 5} }), fBirth, "one-digit"},
		{"dob year typo", with(func(r *Record) { r.BirthDate = Date{1990, 3, 4} }), fBirth, "one-digit"},
		{"dob same year", with(func(r *Record) { r.BirthDate = Date{1980, 11, 27} }), fBirth, "same-year"},
		{"dob different", with(func(r *Record) { r.BirthDate = Date{1975, 11, 27} }), fBirth, "different"},
		{"dob missing", with(func(r *Record) { r.BirthDate = Date{} }), fBirth, "null"},
		{"sex same", with(func(r *Record) { r.Sex = "M" }), fSex, "same"},
		{"sex different", with(func(r *Record) { r.Sex = "female" }), fSex, "different"},
		{"sex unknown", with(func(r *Record) { r.Sex = "unknown" }), fSex, "null"},
		{"postcode exact, written differently", with(func(r *Record) { r.Postcode = "ls14ap" }), fPostcode, "exact"},
		{"postcode typo", with(func(r *Record) { r.Postcode = "LS1 4AQ" }), fPostcode, "one-character"},
		{"postcode same sector", with(func(r *Record) { r.Postcode = "LS1 4BX" }), fPostcode, "same-sector"},
		{"postcode same district", with(func(r *Record) { r.Postcode = "LS1 7XY" }), fPostcode, "same-district"},
		{"postcode different", with(func(r *Record) { r.Postcode = "M1 1AE" }), fPostcode, "different"},
		{"address same words", with(func(r *Record) { r.Address = "12 tullaroop street leeds" }), fAddress, "exact"},
		{"address typo and word split", with(func(r *Record) { r.Address = "12 Tulla roop St, Leeds" }), fAddress, "tokens>=0.75"},
		{"address different", with(func(r *Record) { r.Address = "3 Mill Lane, Otley" }), fAddress, "different"},
		{"nhs same", with(func(r *Record) { r.NHSNumber = "9434765919" }), fNHS, "same"},
		{"nhs different", with(func(r *Record) { r.NHSNumber = "4010232137" }), fNHS, "different"},
		{"nhs invalid is never used", with(func(r *Record) { r.NHSNumber = "9434765918" }), fNHS, "null"},
		{"local id exact", with(func(r *Record) { r.LocalID = "rxr 123456" }), fLocalID, "exact"},
		{"local id typo", with(func(r *Record) { r.LocalID = "RXR123465" }), fLocalID, "one-character"},
		{"local id different", with(func(r *Record) { r.LocalID = "RXR999999" }), fLocalID, "different"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lv := levelsOf(t, base, tt.other)
			if got := levelNames[tt.field][lv[tt.field]]; got != tt.want {
				t.Errorf("%s: level %q, want %q", fieldNames[tt.field], got, tt.want)
			}
		})
	}
}

func TestMissingValuesAreNull(t *testing.T) {
	full := Record{ID: "b", GivenName: "x", FamilyName: "y", BirthDate: Date{1990, 1, 1},
		Sex: "male", Postcode: "LS1 4AP", Address: "1 a street", NHSNumber: "9434765919", LocalID: "1"}
	if lv := levelsOf(t, Record{ID: "a"}, full); lv != (levels{}) {
		t.Errorf("an empty record compares as %v, want every field null", lv)
	}
	if lv := levelsOf(t, Record{ID: "a"}, Record{ID: "c"}); lv != (levels{}) {
		t.Errorf("two empty records compare as %v, want every field null", lv)
	}
	// Dates no one could be born on never reach a comparison.
	if lv := levelsOf(t, Record{BirthDate: Date{-5, 1, 1}}, Record{BirthDate: Date{12345, 400, 1}}); lv[fBirth] != null {
		t.Errorf("impossible dates compare as %s", levelNames[fBirth][lv[fBirth]])
	}
}

func TestUKPostcodeParts(t *testing.T) {
	tests := []struct{ in, sector, district string }{
		{"LS14AP", "LS1 4", "LS1"},
		{"M11AE", "M1 1", "M1"},
		{"SW1A1AA", "SW1A 1", "SW1A"},
		{"EC1V9HX", "EC1V 9", "EC1V"},
		{"4011", "", ""}, // FEBRL's Australian postcodes: exact or one character only
		{"ABCDEF", "", ""},
	}
	for _, tt := range tests {
		if s, d := ukPostcodeParts(tt.in); s != tt.sector || d != tt.district {
			t.Errorf("ukPostcodeParts(%q) = %q, %q; want %q, %q", tt.in, s, d, tt.sector, tt.district)
		}
	}
}

func TestTokenBoundNeverRulesOutAMatch(t *testing.T) {
	// couldReach must never say no to two words whose Jaro–Winkler
	// reaches the threshold: check it on many random near-words.
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("street road tullaroop crescent circuit avenue willaroo kooltuo canterbury bittern st james green")
	for range 20000 {
		a := words[r.IntN(len(words))]
		b := words[r.IntN(len(words))]
		for range r.IntN(3) {
			b = typo(r, b)
		}
		ta, tb := newToken(a, 1), newToken(b, 1)
		if jw := JaroWinkler(a, b); jw >= minTokenJW && !ta.couldReach(&tb) {
			t.Fatalf("couldReach(%q, %q) = false, but Jaro–Winkler is %.3f", a, b, jw)
		}
	}
}

func TestNicknameTable(t *testing.T) {
	n := parseNicknames(nicknameData)
	for _, pair := range [][2]string{{"robert", "bob"}, {"bob", "robbie"}, {"elizabeth", "betty"}, {"margaret", "peggy"}, {"william", "liam"}} {
		if !relatedGroups(n[pair[0]], n[pair[1]]) {
			t.Errorf("%s and %s are not related in the nickname table", pair[0], pair[1])
		}
	}
	if relatedGroups(n["robert"], n["william"]) {
		t.Error("robert and william are related in the nickname table")
	}
	for name := range n {
		if name != normaliseName(name) {
			t.Errorf("nickname table entry %q is not a normalised name", name)
		}
	}
}
