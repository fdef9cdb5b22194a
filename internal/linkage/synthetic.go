package linkage

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/wholecare/wholecare/internal/registry"
)

// Synthetic person records: UK-shaped people, some recorded more than once
// with the errors real registrations have (typos, nicknames, swapped
// names, transposed dates, a move, a missing NHS number), with the truth of
// which records are the same person. Deterministic from a seed. Tests and
// benchmarks measure the linker on them, and `wholecare generate
// --linkage-records` writes them out; they are never real people.

var (
	genGiven = strings.Fields(`james john robert michael william david richard joseph thomas charles
		christopher daniel matthew anthony mark paul steven andrew kenneth joshua kevin brian george
		timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry
		mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty
		margaret sandra ashley kimberly emily donna michelle carol amanda melissa deborah stephanie
		rebecca sharon laura cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen
		samantha katherine christine debra rachel carolyn janet catherine maria heather diane ruth
		julie olivia joyce virginia victoria kelly lauren christina joan evelyn judith megan andrea
		cheryl hannah jacqueline martha gloria teresa ann sara madison frances kathryn janice jean
		abigail alice judy sophia grace denise amber doris marilyn danielle beverly isabella theresa
		diana natalie brittany charlotte marie kayla alexis lori oliver harry jack charlie alfie
		freddie archie leo oscar henry theo arthur noah muhammad isla ava mia ivy lily rosie poppy`)
	genFamily = strings.Fields(`smith jones williams taylor brown davies evans wilson thomas johnson
		roberts robinson thompson wright walker white edwards hughes green hall lewis harris clarke
		patel jackson wood turner martin cooper hill ward morris moore clark lee king baker harrison
		morgan allen james scott phillips watson davis parker price bennett young griffiths mitchell
		kelly cook carter richardson bailey collins bell shaw murphy miller cox richards khan marshall
		anderson simpson ellis adams singh begum wilkinson foster chapman powell webb rogers gray mason
		ali hunt hussain campbell matthews owen palmer holmes mills barnes knight lloyd butler russell
		barker fisher stevens jenkins murray dixon harvey graham pearson ahmed fletcher walsh kaur
		gibson howard andrews stewart elliott reynolds saunders payne fox ford pearce day brooks west
		lawrence cole atkinson bradley spencer gill dawson ball burton obrien watts rose booth perry
		ryan grant wells armstrong francis rees hayes hart hudson newman barrett webster hunter gregory
		carr lowe page marsh riley dunn woods parsons berry stone reid holland hawkins harding porter
		robertson newton oliver reed kennedy williamson bird gardner shah dean lane cooke bates henderson`)
	genStreets = strings.Fields(`high station church park victoria green manor kings queens mill
		grange school new north south west london york chapel windsor albert alexandra springfield
		richmond highfield broadway orchard meadow farm cedar elm oak ash beech willow hawthorn`)
	// Place-name parts: most streets and many surnames are made of two.
	genHeads = strings.Fields(`ash black brad brook burn clay cold crag dun east elm fair fern
		green hal har hay heath hol kirk lang lee long mal mar mid mill moor nor oak old pen pick
		red rich ross roth sand shaw shel ship stan stock stone sud thorn top wal wat wes whit win wood`)
	genTails = strings.Fields(`bank bridge brook burn bury by cliffe combe croft dale den field
		ford gate ham hill holme hurst ley lock mere mont more ridge shaw stead thorpe ton wall well
		wick wood worth`)
	genKinds = strings.Fields(`street road lane avenue close drive way crescent grove gardens place`)
	genTowns = strings.Fields(`leeds bradford wakefield halifax huddersfield harrogate york selby
		pontefract castleford keighley otley ilkley skipton dewsbury batley`)
	genAreas = strings.Fields(`LS BD WF HX HD HG YO`)
)

// genNHS makes a valid NHS number.
func genNHS(r *rand.Rand) string {
	for {
		var b [10]byte
		sum := 0
		for i := range 9 {
			b[i] = byte('0' + r.IntN(10))
			sum += int(b[i]-'0') * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check == 10 {
			continue
		}
		b[9] = byte('0' + check)
		if s := string(b[:]); registry.ValidNHSNumber(s) {
			return s
		}
	}
}

func genPostcode(r *rand.Rand) string {
	const letters = "ABDEFGHJLNPQRSTUWXYZ"
	return fmt.Sprintf("%s%d %d%c%c", genAreas[r.IntN(len(genAreas))], 1+r.IntN(29), r.IntN(10),
		letters[r.IntN(len(letters))], letters[r.IntN(len(letters))])
}

// genPlace makes a name from two place-name parts: Ashworth, Stanfield.
func genPlace(r *rand.Rand) string {
	return genHeads[r.IntN(len(genHeads))] + genTails[r.IntN(len(genTails))]
}

// genStreet is a street name: common ones, or one made of place-name parts.
func genStreet(r *rand.Rand) string {
	if r.IntN(4) == 0 {
		return genStreets[r.IntN(len(genStreets))]
	}
	return genPlace(r)
}

func genPerson(r *rand.Rand, id string) Record {
	sex := registry.Female
	if r.IntN(2) == 0 {
		sex = registry.Male
	}
	rec := Record{
		ID:         id,
		GivenName:  genGiven[r.IntN(len(genGiven))],
		FamilyName: genFamily[r.IntN(len(genFamily))],
		BirthDate:  Date{1925 + r.IntN(95), 1 + r.IntN(12), 1 + r.IntN(28)},
		Sex:        sex,
		Postcode:   genPostcode(r),
		Address: fmt.Sprintf("%d %s %s, %s", 1+r.IntN(150), genStreet(r),
			genKinds[r.IntN(len(genKinds))], genTowns[r.IntN(len(genTowns))]),
	}
	if r.IntN(2) == 0 {
		// Half of surnames are rarer ones.
		rec.FamilyName = genPlace(r)
	}
	if r.Float64() < 0.7 {
		rec.NHSNumber = genNHS(r)
	}
	return rec
}

// typo makes one keyboard error: a letter changed, dropped, doubled or two
// swapped.
func typo(r *rand.Rand, s string) string {
	b := []byte(s)
	if len(b) < 3 {
		return s
	}
	i := 1 + r.IntN(len(b)-2)
	switch r.IntN(4) {
	case 0:
		b[i] = byte('a' + r.IntN(26))
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b = append(b[:i+1], b[i:]...)
	default:
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

var genNick = map[string]string{"robert": "bob", "william": "bill", "elizabeth": "liz", "margaret": "peggy",
	"james": "jim", "thomas": "tom", "katherine": "kate", "richard": "dick", "michael": "mike", "edward": "ted"}

// corrupt applies n of the errors registrations make.
func corrupt(r *rand.Rand, rec Record, n int) Record {
	for range n {
		switch r.IntN(10) {
		case 0:
			rec.GivenName = typo(r, rec.GivenName)
		case 1:
			rec.FamilyName = typo(r, rec.FamilyName)
		case 2:
			if nick, ok := genNick[rec.GivenName]; ok {
				rec.GivenName = nick
			} else {
				rec.GivenName = typo(r, rec.GivenName)
			}
		case 3:
			rec.GivenName, rec.FamilyName = rec.FamilyName, rec.GivenName
		case 4:
			d := rec.BirthDate
			if d.Day <= 12 {
				rec.BirthDate = Date{d.Year, d.Day, d.Month}
			} else {
				rec.BirthDate = Date{d.Year, d.Month, d.Day%10 + 10*((d.Day/10+1)%3)}
			}
		case 5:
			rec.BirthDate = Date{}
		case 6:
			rec.Postcode = genPostcode(r)
			rec.Address = fmt.Sprintf("%d %s road, leeds", 1+r.IntN(150), genStreet(r))
		case 7:
			rec.Address = typo(r, rec.Address)
		case 8:
			rec.NHSNumber = ""
		default:
			rec.Postcode = strings.ToLower(rec.Postcode)
		}
	}
	return rec
}

// genHousemate is someone who lives with h: the same address and, mostly,
// the same surname; a twin shares the date of birth too.
func genHousemate(r *rand.Rand, h Record, id string) Record {
	m := genPerson(r, id)
	m.Postcode, m.Address = h.Postcode, h.Address
	if r.IntN(5) > 0 {
		m.FamilyName = h.FamilyName
	}
	if r.IntN(20) == 0 {
		m.BirthDate = h.BirthDate
	}
	return m
}

type pairKey struct{ a, b string }

// key is the pair of record ids in a fixed order.
func key(a, b string) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{a, b}
}

// Synthetic makes n records of which about a share dup are duplicated
// (see genRecords), and the true pairs of duplicate record ids, each pair
// in id order, sorted.
func Synthetic(n int, dup float64, seed uint64) ([]Record, [][2]string) {
	recs, truth := genRecords(n, dup, seed)
	pairs := make([][2]string, 0, len(truth))
	for k := range truth {
		pairs = append(pairs, [2]string{k.a, k.b})
	}
	slices.SortFunc(pairs, func(x, y [2]string) int {
		return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1]))
	})
	return recs, pairs
}

// genRecords makes n records: people, a share of them living with one to
// three others, and for a share dup of them one to three more records
// with errors. It returns the records (shuffled) and the true duplicate
// pairs by record id.
func genRecords(n int, dup float64, seed uint64) ([]Record, map[pairKey]bool) {
	r := rand.New(rand.NewPCG(seed, 1))
	var recs []Record
	truth := map[pairKey]bool{}
	var household *Record
	left := 0
	for p := 0; len(recs) < n; p++ {
		var orig Record
		if left > 0 {
			orig = genHousemate(r, *household, fmt.Sprintf("p%d-0", p))
			left--
		} else {
			orig = genPerson(r, fmt.Sprintf("p%d-0", p))
			if r.IntN(10) < 3 {
				h := orig
				household, left = &h, 1+r.IntN(3)
			}
		}
		group := []Record{orig}
		if r.Float64() < dup {
			for k := range 1 + r.IntN(3) {
				d := corrupt(r, orig, 1+r.IntN(3))
				d.ID = fmt.Sprintf("p%d-%d", p, k+1)
				group = append(group, d)
			}
		}
		group = group[:min(len(group), n-len(recs))]
		for x := range group {
			for _, y := range group[x+1:] {
				truth[key(group[x].ID, y.ID)] = true
			}
		}
		recs = append(recs, group...)
	}
	r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	return recs, truth
}
