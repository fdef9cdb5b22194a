package fhir

import (
	"strings"

	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/registry"
)

// patient maps a Patient to the person's demographics.
func (m *mapper) patient(r *Resource, fullURL string) (ingest.Item, error) {
	it := ingest.Item{Source: m.source, At: r.Pos()}
	it.Subject = r.ID()
	if it.Subject == "" {
		it.Subject = idFromURL(fullURL)
	}
	if it.Subject == "" {
		return it, fail(r, "id", "missing (a Patient's id is the source's id for the person)")
	}
	p := registry.Person{Source: m.source, ReceivedAt: m.received, NHSNumberStatus: registry.NHSAbsent}
	root := r.Root()

	for _, id := range root.Member("identifier").Items() {
		system := id.Member("system").Str()
		if system == SystemNHSNumber {
			p.NHSNumber = registry.NormaliseNHSNumber(id.Member("value").Str())
			p.NHSNumberStatus = nhsStatus(id)
			break
		}
		if system == SystemInvalidNHSNumber && p.NHSNumber == "" {
			p.NHSNumber, p.NHSNumberStatus = id.Member("value").Str(), registry.NHSInvalid
		}
	}
	switch {
	case p.NHSNumber == "":
		p.NHSNumberStatus = registry.NHSAbsent
	case !registry.ValidNHSNumber(p.NHSNumber):
		p.NHSNumberStatus = registry.NHSInvalid
	}

	if n := pickName(root.Member("name")); n.Exists() {
		p.FamilyName = n.Member("family").Str()
		var given []string
		for _, g := range n.Member("given").Items() {
			if s := g.Str(); s != "" {
				given = append(given, s)
			}
		}
		p.GivenName = strings.Join(given, " ")
	}
	if s := registry.Sex(root.Member("gender").Str()); s.Valid() {
		p.Sex = s
	}
	var err error
	if p.BirthDate, err = dateOf(r, root, "birthDate"); err != nil {
		return it, err
	}
	// deceasedBoolean true says the person died but not when; the registry
	// keeps only a date of death, so it is not kept.
	if p.DateOfDeath, err = dateOf(r, root, "deceasedDateTime"); err != nil {
		return it, err
	}
	p.Postcode = pickPostcode(root.Member("address"))
	for _, gp := range root.Member("generalPractitioner").Items() {
		if ods := m.orgCode(gp); ods != "" {
			p.PracticeID = ods
			break
		}
	}
	for _, ext := range root.Member("extension").Items() {
		switch ext.Member("url").Str() {
		case ExtEthnicCategory:
			for _, c := range ext.Get("valueCodeableConcept.coding").Items() {
				if c.Member("system").Str() == CSEthnicCategory {
					p.Ethnicity = c.Member("code").Str()
				}
			}
		case ExtIMDDecile:
			if n, ok := ext.Member("valueInteger").Int(); ok && n >= 1 && n <= 10 {
				p.IMDDecile = int(n)
			}
		}
	}
	it.Person = &p
	return it, nil
}

// nhsStatus reads the UK Core verification status of an NHS number
// identifier: 01 is verified; any other code, or none, says the number is
// present but not verified.
func nhsStatus(id Value) registry.NHSNumberStatus {
	for _, ext := range id.Member("extension").Items() {
		if ext.Member("url").Str() != ExtNHSNumberVerificationStatus {
			continue
		}
		for _, c := range ext.Get("valueCodeableConcept.coding").Items() {
			if c.Member("system").Str() == CSNHSNumberVerificationStatus && c.Member("code").Str() == "01" {
				return registry.NHSVerified
			}
		}
	}
	return registry.NHSUnverified
}

// pickName prefers the official name, then the usual one, then the first
// that is not old.
func pickName(names Value) Value {
	var usual, other Value
	for _, n := range names.Items() {
		switch n.Member("use").Str() {
		case "official":
			return n
		case "usual":
			if !usual.Exists() {
				usual = n
			}
		case "old", "anonymous":
		default:
			if !other.Exists() {
				other = n
			}
		}
	}
	if usual.Exists() {
		return usual
	}
	return other
}

// pickPostcode takes the home address's postcode, else the first current
// address's.
func pickPostcode(addrs Value) string {
	first := ""
	for _, a := range addrs.Items() {
		pc := a.Member("postalCode").Str()
		use := a.Member("use").Str()
		if pc == "" || use == "old" {
			continue
		}
		if use == "home" {
			return pc
		}
		if first == "" {
			first = pc
		}
	}
	return first
}
