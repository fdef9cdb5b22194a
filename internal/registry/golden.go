package registry

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// SourceRecord is the latest demographics one source sent under one of its
// local ids. Person.ID is the person that identity names, Person.Source the
// sending system and Person.ReceivedAt when it was received.
type SourceRecord struct {
	LocalID string
	Person
}

// SameDemographics reports whether a and b say the same about a person:
// every field of the golden record, the NHS number's status included. Who
// the person is, which source sent them and when are not compared.
func SameDemographics(a, b *Person) bool {
	return a.NHSNumber == b.NHSNumber && a.NHSNumberStatus == b.NHSNumberStatus &&
		a.GivenName == b.GivenName && a.FamilyName == b.FamilyName && a.BirthDate.Equal(b.BirthDate) &&
		a.Sex == b.Sex && a.Postcode == b.Postcode && a.IMDDecile == b.IMDDecile && a.Ethnicity == b.Ethnicity &&
		a.PracticeID == b.PracticeID && a.DateOfDeath.Equal(b.DateOfDeath)
}

// Field names one demographic field of the golden record. The NHS number
// and its status are one field: a status only means something with the
// number it describes.
type Field string

const (
	FieldNHSNumber   Field = "nhs_number"
	FieldGivenName   Field = "given_name"
	FieldFamilyName  Field = "family_name"
	FieldBirthDate   Field = "birth_date"
	FieldSex         Field = "sex"
	FieldPostcode    Field = "postcode"
	FieldIMDDecile   Field = "imd_decile"
	FieldEthnicity   Field = "ethnicity"
	FieldPracticeID  Field = "practice_id"
	FieldDateOfDeath Field = "date_of_death"
)

// Fields lists every field of the golden record, in display order.
var Fields = []Field{FieldNHSNumber, FieldGivenName, FieldFamilyName, FieldBirthDate, FieldSex,
	FieldPostcode, FieldIMDDecile, FieldEthnicity, FieldPracticeID, FieldDateOfDeath}

// FieldSource says which source record supplied a field's value.
type FieldSource struct {
	PersonID   int64 // the person the record was received for (a member of the cluster)
	Source     string
	LocalID    string
	ReceivedAt time.Time
	Tier       string // the trust tier the record fell in; "" for none
}

// Provenance maps each field that has a value to the record it came from.
// A field no record supplies has no entry.
type Provenance map[Field]FieldSource

// Golden is a person's golden record: the best value of each field across
// every source record of the person (and of everyone merged into them).
type Golden struct {
	Person     Person
	Provenance Provenance
}

// Tier is a class of source records trusted alike. A record belongs to the
// first tier of a Trust that it matches.
type Tier struct {
	Name string
	// NHSVerified matches a record whose NHS number was traced and
	// verified against the spine: such a source has checked its
	// demographics with the national record, so they come first.
	NHSVerified bool
	// SourcePrefixes match a record whose source name starts with one of
	// them (a GP system, which holds the registration).
	SourcePrefixes []string
}

// Trust ranks source records for survivorship, most trusted tier first.
// Records in no tier come after every tier. Within a tier (and among the
// rest) the most recently received record comes first; ties go to the
// source name, local id and person id, so the result never depends on the
// order records were read in.
type Trust []Tier

// DefaultTrust is the ranking Wholecare uses: spine-verified records, then
// GP systems (including the synthetic generator, which produces GP-held
// registrations), then everything else, most recent first within each.
var DefaultTrust = Trust{
	{Name: "spine-verified", NHSVerified: true},
	{Name: "gp", SourcePrefixes: []string{"gp:", "fhir:gp", "hl7v2:gp", "synth"}},
}

// tier returns the index of the first tier r matches, len(t) for none.
func (t Trust) tier(r *SourceRecord) int {
	for i, tr := range t {
		if tr.NHSVerified && r.NHSNumberStatus == NHSVerified && ValidNHSNumber(r.NHSNumber) {
			return i
		}
		for _, p := range tr.SourcePrefixes {
			if strings.HasPrefix(r.Source, p) {
				return i
			}
		}
	}
	return len(t)
}

// strength says how good a field's value is: 0 empty (never chosen), 1 a
// value that says "not known" (chosen only when nothing better exists),
// 2 a real value.
type strength int

const (
	empty strength = iota
	weak
	strong
)

func textStrength(s string) strength {
	if strings.TrimSpace(s) == "" {
		return empty
	}
	return strong
}

func timeStrength(t time.Time) strength {
	if t.IsZero() {
		return empty
	}
	return strong
}

// nhsClass orders NHS numbers: a verified valid number, then a valid
// unverified one, then one failing the check digit, which is kept as data
// but never chosen while a valid one exists.
func nhsClass(r *SourceRecord) int {
	switch {
	case r.NHSNumber == "":
		return -1
	case !ValidNHSNumber(r.NHSNumber):
		return 2
	case r.NHSNumberStatus == NHSVerified:
		return 0
	}
	return 1
}

// fieldRules says, per field, how strong a record's value is and how to
// copy it into the golden person. The NHS number has its own rule.
var fieldRules = []struct {
	field    Field
	strength func(p *Person) strength
	copy     func(dst, src *Person)
}{
	{FieldGivenName, func(p *Person) strength { return textStrength(p.GivenName) }, func(d, s *Person) { d.GivenName = s.GivenName }},
	{FieldFamilyName, func(p *Person) strength { return textStrength(p.FamilyName) }, func(d, s *Person) { d.FamilyName = s.FamilyName }},
	{FieldBirthDate, func(p *Person) strength { return timeStrength(p.BirthDate) }, func(d, s *Person) { d.BirthDate = s.BirthDate }},
	{FieldSex, func(p *Person) strength {
		switch p.Sex {
		case "":
			return empty
		case Unknown:
			return weak
		}
		return strong
	}, func(d, s *Person) { d.Sex = s.Sex }},
	{FieldPostcode, func(p *Person) strength { return textStrength(p.Postcode) }, func(d, s *Person) { d.Postcode = s.Postcode }},
	{FieldIMDDecile, func(p *Person) strength {
		if p.IMDDecile < 1 || p.IMDDecile > 10 {
			return empty
		}
		return strong
	}, func(d, s *Person) { d.IMDDecile = s.IMDDecile }},
	{FieldEthnicity, func(p *Person) strength {
		switch strings.TrimSpace(p.Ethnicity) {
		case "":
			return empty
		case "Z": // "not stated"
			return weak
		}
		return strong
	}, func(d, s *Person) { d.Ethnicity = s.Ethnicity }},
	{FieldPracticeID, func(p *Person) strength { return textStrength(p.PracticeID) }, func(d, s *Person) { d.PracticeID = s.PracticeID }},
	// A date of death, once any source reports one, is kept: silence from
	// another source does not bring the person back. A source that
	// withdraws its own report replaces its record, and the date goes.
	{FieldDateOfDeath, func(p *Person) strength { return timeStrength(p.DateOfDeath) }, func(d, s *Person) { d.DateOfDeath = s.DateOfDeath }},
}

// ComputeGolden applies survivorship to the source records of person id
// (and of everyone merged into them): for each field, the value from the
// best-ranked record (see Trust) that has one, and for the NHS number the
// best class of number first (see nhsClass). The person's Source is the
// best-ranked record's, its ReceivedAt the newest record's. With no
// records it returns ok=false and an empty person.
func ComputeGolden(id int64, recs []SourceRecord, trust Trust) (g Golden, ok bool) {
	g.Person = Person{ID: id, NHSNumberStatus: NHSAbsent, Sex: Unknown}
	g.Provenance = Provenance{}
	if len(recs) == 0 {
		return g, false
	}
	type ranked struct {
		r    *SourceRecord
		tier int
	}
	order := make([]ranked, len(recs))
	for i := range recs {
		order[i] = ranked{&recs[i], trust.tier(&recs[i])}
	}
	slices.SortFunc(order, func(a, b ranked) int {
		if c := cmp.Compare(a.tier, b.tier); c != 0 {
			return c
		}
		if c := b.r.ReceivedAt.Compare(a.r.ReceivedAt); c != 0 {
			return c
		}
		if c := cmp.Compare(a.r.Source, b.r.Source); c != 0 {
			return c
		}
		if c := cmp.Compare(a.r.LocalID, b.r.LocalID); c != 0 {
			return c
		}
		return cmp.Compare(a.r.ID, b.r.ID)
	})
	from := func(o ranked) FieldSource {
		fs := FieldSource{PersonID: o.r.ID, Source: o.r.Source, LocalID: o.r.LocalID, ReceivedAt: o.r.ReceivedAt}
		if o.tier < len(trust) {
			fs.Tier = trust[o.tier].Name
		}
		return fs
	}

	p := &g.Person
	p.Source = order[0].r.Source
	for _, o := range order {
		if o.r.ReceivedAt.After(p.ReceivedAt) {
			p.ReceivedAt = o.r.ReceivedAt
		}
	}

	best := -1
	for i, o := range order {
		if c := nhsClass(o.r); c >= 0 && (best < 0 || c < nhsClass(order[best].r)) {
			best = i
		}
	}
	if best >= 0 {
		o := order[best]
		p.NHSNumber = o.r.NHSNumber
		p.NHSNumberStatus = [...]NHSNumberStatus{NHSVerified, NHSUnverified, NHSInvalid}[nhsClass(o.r)]
		g.Provenance[FieldNHSNumber] = from(o)
	}

	for _, rule := range fieldRules {
		pick := -1
		for i, o := range order {
			s := rule.strength(&o.r.Person)
			if s == strong {
				pick = i
				break
			}
			if s == weak && pick < 0 {
				pick = i
			}
		}
		if pick >= 0 {
			rule.copy(p, &order[pick].r.Person)
			g.Provenance[rule.field] = from(order[pick])
		}
	}
	return g, true
}
