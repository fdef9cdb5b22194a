package fhir

import (
	"github.com/wholecare/wholecare/internal/registry"
)

// PatientFrom maps a registry person, and the identities source systems know
// them by, to a Patient. ids may hold other people's identities; only the
// person's own are used.
func PatientFrom(p registry.Person, ids []registry.SourceIdentity) Patient {
	pt := Patient{
		ResourceType: TypePatient,
		ID:           patientID(p.ID),
		Meta:         metaFrom(p.Source, p.ReceivedAt),
		BirthDate:    Date(p.BirthDate),
	}
	if id, ok := nhsNumberIdentifier(p); ok {
		pt.Identifier = append(pt.Identifier, id)
	}
	for _, si := range ids {
		if si.PersonID == p.ID && si.LocalID != "" && si.Source != "" {
			pt.Identifier = append(pt.Identifier, Identifier{System: SourceURI(si.Source), Value: si.LocalID})
		}
	}
	if p.Ethnicity != "" {
		pt.Extension = append(pt.Extension, Extension{
			URL:                  ExtEthnicCategory,
			ValueCodeableConcept: &CodeableConcept{Coding: []Coding{{System: CSEthnicCategory, Code: p.Ethnicity, Display: ethnicCategoryDisplay(p.Ethnicity)}}},
		})
	}
	if p.IMDDecile >= 1 && p.IMDDecile <= 10 {
		d := p.IMDDecile
		pt.Extension = append(pt.Extension, Extension{URL: ExtIMDDecile, ValueInteger: &d})
	}
	if p.GivenName != "" || p.FamilyName != "" {
		n := HumanName{Use: "official", Family: p.FamilyName}
		if p.GivenName != "" {
			n.Given = []string{p.GivenName}
		}
		pt.Name = []HumanName{n}
	}
	if p.Sex.Valid() {
		pt.Gender = string(p.Sex)
	}
	pt.DeceasedDateTime = DateTime(p.DateOfDeath)
	if p.Postcode != "" {
		pt.Address = []Address{{Use: "home", PostalCode: p.Postcode}}
	}
	if p.PracticeID != "" {
		pt.GeneralPractitioner = []Reference{orgRef(p.PracticeID)}
	}
	return pt
}

// nhsNumberIdentifier carries the NHS number with its UK Core verification
// status. A number that fails the check digit is kept, but under a Wholecare
// system: under the NHS number system a receiver could link records on it,
// which the registry itself never does.
func nhsNumberIdentifier(p registry.Person) (Identifier, bool) {
	if p.NHSNumber == "" || p.NHSNumberStatus == registry.NHSAbsent {
		return Identifier{}, false
	}
	if p.NHSNumberStatus == registry.NHSInvalid {
		return Identifier{System: SystemInvalidNHSNumber, Value: p.NHSNumber}, true
	}
	// UKCore-NHSNumberVerificationStatusEngland: 01 "Number present and
	// verified"; 02 "Number present but not traced" is what an unverified
	// (well formed, untraced) number is. 03 is "Trace required", an action
	// rather than a state, so it is not used.
	code, display := "02", "Number present but not traced"
	if p.NHSNumberStatus == registry.NHSVerified {
		code, display = "01", "Number present and verified"
	}
	return Identifier{
		Extension: []Extension{{
			URL:                  ExtNHSNumberVerificationStatus,
			ValueCodeableConcept: &CodeableConcept{Coding: []Coding{{System: CSNHSNumberVerificationStatus, Code: code, Display: display}}},
		}},
		System: SystemNHSNumber,
		Value:  p.NHSNumber,
	}, true
}

// ethnicCategoryDisplay is the display of UKCore-EthnicCategoryEngland;
// "" for a code it does not hold (the code is still exported).
func ethnicCategoryDisplay(code string) string {
	switch code {
	case "A":
		return "White - British"
	case "B":
		return "White - Irish"
	case "C":
		return "White - Any other White background"
	case "D":
		return "Mixed - White and Black Caribbean"
	case "E":
		return "Mixed - White and Black African"
	case "F":
		return "Mixed - White and Asian"
	case "G":
		return "Mixed - Any other mixed background"
	case "H":
		return "Asian or Asian British - Indian"
	case "J":
		return "Asian or Asian British - Pakistani"
	case "K":
		return "Asian or Asian British - Bangladeshi"
	case "L":
		return "Asian or Asian British - Any other Asian background"
	case "M":
		return "Black or Black British - Caribbean"
	case "N":
		return "Black or Black British - African"
	case "P":
		return "Black or Black British - Any other Black background"
	case "R":
		return "Other Ethnic Groups - Chinese"
	case "S":
		return "Other Ethnic Groups - Any other ethnic group"
	case "Z":
		return "Not stated"
	case "99":
		return "Not known"
	}
	return ""
}

// CareTeamFromLink maps a person's placement under a directory team to a
// CareTeam whose subject is the person and whose one participant is the
// team (R4 allows a CareTeam as a member). n tells apart several
// placements of one person under one team.
func CareTeamFromLink(l registry.CareTeamLink, n int) CareTeam {
	status := "active"
	if !l.End.IsZero() {
		status = "inactive"
	}
	p := CareTeamParticipant{Member: ref(TypeCareTeam, careTeamID(l.TeamID))}
	if l.Role != "" {
		p.Role = []CodeableConcept{concept(CSCareTeamRole, l.Role, "")}
	}
	return CareTeam{
		ResourceType: TypeCareTeam,
		ID:           careTeamLinkID(l.PersonID, l.TeamID, n),
		Meta:         metaFrom(l.Source, l.ReceivedAt),
		Status:       status,
		Subject:      patientRef(l.PersonID),
		Period:       Period{Start: DateTime(l.Start), End: DateTime(l.End)},
		Participant:  []CareTeamParticipant{p},
	}
}
