package fhir

import (
	"strings"

	"github.com/wholecare/wholecare/internal/directory"
)

// OrganizationFrom maps a directory organisation. Its id is its ODS code.
func OrganizationFrom(o directory.Organisation) Organization {
	org := Organization{
		ResourceType: TypeOrganization,
		ID:           organizationID(o.ID),
		Identifier:   []Identifier{{System: orgIdentifierSystem(o.ID), Value: o.ID}},
		Name:         o.Name,
		PartOf:       orgRef(o.ParentID),
	}
	if o.Kind != "" {
		org.Type = []CodeableConcept{concept(CSOrgKind, string(o.Kind), orgKindDisplay(o.Kind))}
	}
	if o.Postcode != "" {
		org.Address = []Address{{PostalCode: o.Postcode}}
	}
	return org
}

// orgIdentifierSystem files an organisation code under the ODS system only
// when it is shaped like an ODS code (3–10 upper-case letters and digits):
// the directory also holds local codes for organisations ODS does not
// cover, and claiming one as an ODS code would mislead a receiver.
func orgIdentifierSystem(code string) string {
	if len(code) < 3 || len(code) > 10 {
		return SystemLocalOrganisation
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return SystemLocalOrganisation
		}
	}
	return SystemODSOrgCode
}

func orgKindDisplay(k directory.OrgKind) string {
	switch k {
	case directory.ICB:
		return "Integrated care board"
	case directory.PCN:
		return "Primary care network"
	case directory.GPPractice:
		return "GP practice"
	case directory.AcuteTrust:
		return "Acute trust"
	case directory.CommunityTrust:
		return "Community trust"
	case directory.MentalHealthTrust:
		return "Mental health trust"
	case directory.SocialCare:
		return "Social care"
	case directory.VoluntarySector:
		return "Voluntary sector"
	case directory.CareHome:
		return "Care home"
	case directory.IndependentProvider:
		return "Independent provider"
	}
	return ""
}

// PractitionerFrom maps a professional; their profession and organisation
// go in PractitionerRoleFrom.
func PractitionerFrom(p directory.Professional) Practitioner {
	pr := Practitioner{ResourceType: TypePractitioner, ID: practitionerID(p.ID)}
	if p.RegistrationID != "" {
		pr.Identifier = []Identifier{{System: registrationSystem(p.Profession), Value: p.RegistrationID}}
	}
	if p.GivenName != "" || p.FamilyName != "" {
		n := HumanName{Family: p.FamilyName}
		if p.GivenName != "" {
			n.Given = []string{p.GivenName}
		}
		pr.Name = []HumanName{n}
	}
	return pr
}

// registrationSystem picks the register a registration number belongs to
// from the profession, since the directory keeps only the number: doctors
// are on the GMC register, nurses on the NMC's, pharmacists on the GPhC's.
func registrationSystem(profession string) string {
	p := strings.ToLower(profession)
	switch {
	case p == "gp" || strings.Contains(p, "doctor") || strings.Contains(p, "consultant") ||
		strings.Contains(p, "physician") || strings.Contains(p, "psychiatrist") || strings.Contains(p, "geriatrician"):
		return SystemGMC
	case strings.Contains(p, "nurse") || strings.Contains(p, "matron") || strings.Contains(p, "midwife"):
		return SystemNMC
	case strings.Contains(p, "pharmacist"):
		return SystemGPhC
	}
	return SystemProfessionalRegistration
}

// PractitionerRoleFrom says what a professional is, and where.
func PractitionerRoleFrom(p directory.Professional) PractitionerRole {
	r := PractitionerRole{
		ResourceType: TypePractitionerRole,
		ID:           practitionerRoleID(p.ID),
		Practitioner: ref(TypePractitioner, practitionerID(p.ID)),
		Organization: orgRef(p.OrgID),
	}
	if p.Profession != "" {
		r.Code = []CodeableConcept{concept(CSProfession, p.Profession, "")}
	}
	return r
}

// CareTeamFrom maps a directory team and its members; members of other
// teams are ignored, so the caller may pass the whole member list.
func CareTeamFrom(t directory.CareTeam, members []directory.CareTeamMember) CareTeam {
	ct := CareTeam{
		ResourceType: TypeCareTeam,
		ID:           careTeamID(t.ID),
		Status:       "active",
		Name:         t.Name,
	}
	if t.Kind != "" {
		ct.Category = []CodeableConcept{concept(CSCareTeamKind, t.Kind, "")}
	}
	if t.OrgID != "" {
		ct.ManagingOrganization = []Reference{orgRef(t.OrgID)}
	}
	for _, m := range members {
		if m.TeamID != t.ID {
			continue
		}
		p := CareTeamParticipant{
			Member: ref(TypePractitioner, practitionerID(m.ProfessionalID)),
			Period: Period{Start: DateTime(m.Start), End: DateTime(m.End)},
		}
		if m.Role != "" {
			p.Role = []CodeableConcept{concept(CSCareTeamRole, m.Role, "")}
		}
		ct.Participant = append(ct.Participant, p)
	}
	return ct
}
