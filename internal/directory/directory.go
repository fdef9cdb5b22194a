// Package directory describes the health and care economy a person is served
// by: organisations (GP practices, primary care networks, trusts, social
// care, voluntary sector), the professionals in them and their care teams.
// It holds no person data and must never import database, HTTP or UI packages.
package directory

import "time"

// OrgKind is the kind of an organisation.
type OrgKind string

const (
	ICB                 OrgKind = "icb"
	PCN                 OrgKind = "pcn"
	GPPractice          OrgKind = "gp_practice"
	AcuteTrust          OrgKind = "acute_trust"
	CommunityTrust      OrgKind = "community_trust"
	MentalHealthTrust   OrgKind = "mental_health_trust"
	SocialCare          OrgKind = "social_care"
	VoluntarySector     OrgKind = "voluntary_sector"
	CareHome            OrgKind = "care_home"
	IndependentProvider OrgKind = "independent_provider"
)

// Valid reports whether k is a known kind.
func (k OrgKind) Valid() bool {
	switch k {
	case ICB, PCN, GPPractice, AcuteTrust, CommunityTrust, MentalHealthTrust,
		SocialCare, VoluntarySector, CareHome, IndependentProvider:
		return true
	}
	return false
}

// Organisation is identified by its ODS code (or a local code for
// organisations ODS does not cover).
type Organisation struct {
	ID       string // ODS code
	Name     string
	Kind     OrgKind
	ParentID string // the PCN of a practice, the ICB of a PCN or trust; "" at the top
	Postcode string
	ListSize int // registered list size for a GP practice; 0 otherwise
}

// Professional is a member of staff who may care for people.
type Professional struct {
	ID             int64
	GivenName      string
	FamilyName     string
	Profession     string // e.g. "gp", "practice-nurse", "community-matron", "social-worker", "care-coordinator"
	OrgID          string
	RegistrationID string // GMC, NMC or HCPC/SWE number where there is one
}

// CareTeam is a named team in an organisation.
type CareTeam struct {
	ID    int64
	Name  string
	OrgID string
	Kind  string // e.g. "gp-practice", "integrated-neighbourhood", "community-nursing", "social-work", "mental-health"
}

// CareTeamMember puts a professional in a team.
type CareTeamMember struct {
	TeamID         int64
	ProfessionalID int64
	Role           string // e.g. "lead", "member", "coordinator"
	Start          time.Time
	End            time.Time // zero while current
}

// Directory is a whole or partial directory, written to the store at once.
type Directory struct {
	Organisations []Organisation
	Professionals []Professional
	Teams         []CareTeam
	Members       []CareTeamMember
}
