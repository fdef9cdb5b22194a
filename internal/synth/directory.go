package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/wholecare/wholecare/internal/directory"
)

// practice is what people need to know about their GP practice.
type practice struct {
	id        string
	name      string
	pcn       int
	acute     string  // the acute trust its patients use
	careHome  string  // the nearest care home
	meanDep   float64 // mean IMD decile of its list, continuous 0.5..10.5
	quality   float64 // multiplies review completion rates: practices differ
	district  int     // postcode district number: ZZ<district>
	teamID    int64   // the practice team
	commTeam  int64   // the PCN's community nursing team
	swTeam    int64   // the PCN's social work team
	mhTeam    int64   // the PCN's community mental health team
	intTeam   int64   // the PCN's integrated neighbourhood team
	coordProf int64
}

// orgIDs are the codes of the organisations every person may use.
type orgIDs struct {
	icb, community, mentalHealth, socialCare string
	voluntary                                []string
}

// buildDirectory makes an ICS-shaped directory for the spec's population.
// Organisation codes all start "ZZ", which no ODS code uses: practices
// ZZnnnn, PCNs ZZUnnn, acute trusts ZZAnn, care homes ZZHnnnn, and single
// codes for the ICB (ZZI), community trust (ZZC), mental health trust (ZZM),
// local authority (ZZL) and voluntary organisations (ZZVnn).
func (g *Generator) buildDirectory(r *rand.Rand) {
	people := float64(g.spec.People)
	d := &directory.Directory{}

	// List sizes: lognormal around England's mean of about 10,000, cut to
	// 2,000–35,000, drawn until they cover the population, then scaled so
	// the lists sum to it (tiny populations get tiny "practices").
	var sizes []float64
	var sum float64
	for sum < people || len(sizes) < 3 {
		s := clamp(math.Exp(math.Log(8600)+0.55*r.NormFloat64()), 2000, 35000)
		sizes = append(sizes, s)
		sum += s
	}
	scale := people / sum

	g.orgs = orgIDs{icb: "ZZI", community: "ZZC", mentalHealth: "ZZM", socialCare: "ZZL"}
	org := func(id, name string, kind directory.OrgKind, parent string, district int) {
		d.Organisations = append(d.Organisations, directory.Organisation{
			ID: id, Name: name, Kind: kind, ParentID: parent, Postcode: orgPostcode(district, len(d.Organisations)),
		})
	}
	org("ZZI", "Synthshire Integrated Care Board", directory.ICB, "", 1)
	nAcute := max(1, int(math.Round(people/500_000)))
	acutes := make([]string, nAcute)
	for i := range acutes {
		acutes[i] = fmt.Sprintf("ZZA%02d", i+1)
		org(acutes[i], fmt.Sprintf("%s Hospitals NHS Foundation Trust", placeWords[(i*7)%len(placeWords)]), directory.AcuteTrust, "ZZI", 1+i)
	}
	org("ZZC", "Synthshire Community Health NHS Trust", directory.CommunityTrust, "ZZI", 2)
	org("ZZM", "Synthshire Mental Health NHS Foundation Trust", directory.MentalHealthTrust, "ZZI", 3)
	org("ZZL", "Synthshire Council Adult Social Care", directory.SocialCare, "", 4)
	nVol := min(3+int(people/200_000), 12)
	for i := range nVol {
		id := fmt.Sprintf("ZZV%02d", i+1)
		g.orgs.voluntary = append(g.orgs.voluntary, id)
		org(id, voluntaryNames[i%len(voluntaryNames)], directory.VoluntarySector, "", 5+i)
	}

	// PCNs of 30–50k (3–8 practices), scaled with the lists.
	var pcnOf []int
	var pcnSizes []float64
	target := (30000 + 20000*r.Float64()) * scale
	var cur float64
	n := 0
	for i, s := range sizes {
		if n > 0 && (cur >= target || n == 8) && len(sizes)-i >= 3 {
			pcnSizes = append(pcnSizes, cur)
			cur, n = 0, 0
			target = (30000 + 20000*r.Float64()) * scale
		}
		pcnOf = append(pcnOf, len(pcnSizes))
		cur += s * scale
		n++
	}
	pcnSizes = append(pcnSizes, cur)

	var profID, teamID int64
	prof := func(profession, orgID string) int64 {
		profID++
		p := directory.Professional{
			ID: profID, GivenName: pick(r, femaleNames[:], maleNames[:]), FamilyName: familyNames[r.IntN(len(familyNames))],
			Profession: profession, OrgID: orgID,
		}
		switch profession {
		case "gp":
			p.RegistrationID = fmt.Sprintf("SYN-GMC-%07d", profID)
		case "social-worker":
			p.RegistrationID = fmt.Sprintf("SYN-SWE-%07d", profID)
		case "care-coordinator":
		default:
			p.RegistrationID = fmt.Sprintf("SYN-NMC-%07d", profID)
		}
		d.Professionals = append(d.Professionals, p)
		return profID
	}
	team := func(name, orgID, kind string) int64 {
		teamID++
		d.Teams = append(d.Teams, directory.CareTeam{ID: teamID, Name: name, OrgID: orgID, Kind: kind})
		return teamID
	}
	member := func(team, prof int64, role string) {
		d.Members = append(d.Members, directory.CareTeamMember{TeamID: team, ProfessionalID: prof, Role: role, Start: dayTime(g.winStart)})
	}

	// Practices. Deprivation: practice means are uniform over the deciles
	// and people scatter around them (see personDecile), so deciles are
	// uniform over the population yet cluster by practice.
	g.practices = make([]practice, len(sizes))
	g.listCum = make([]float64, len(sizes))
	// Stratified: one practice per slice of the decile range, so even a
	// small population's practices span it evenly.
	strata := r.Perm(len(sizes))
	var cum float64
	for i, s := range sizes {
		p := &g.practices[i]
		p.id = fmt.Sprintf("ZZ%04d", i+1)
		p.name = fmt.Sprintf("%s %s", placeWords[r.IntN(len(placeWords))], practiceKinds[r.IntN(len(practiceKinds))])
		p.pcn = pcnOf[i]
		p.acute = acutes[p.pcn%nAcute]
		p.meanDep = 0.5 + 10*(float64(strata[i])+r.Float64())/float64(len(sizes))
		p.quality = 0.85 + 0.25*r.Float64()
		p.district = 1 + i%40
		list := int(math.Round(s * scale))
		d.Organisations = append(d.Organisations, directory.Organisation{
			ID: p.id, Name: p.name, Kind: directory.GPPractice, ParentID: pcnID(p.pcn),
			Postcode: orgPostcode(p.district, i), ListSize: list,
		})
		cum += s
		g.listCum[i] = cum
	}
	for i := range g.listCum {
		g.listCum[i] /= cum
	}
	nHomes := 0
	for k, size := range pcnSizes {
		name := fmt.Sprintf("%s Primary Care Network", placeWords[(k*11+3)%len(placeWords)])
		if k >= len(placeWords) {
			name = fmt.Sprintf("Synthshire Primary Care Network %d", k+1)
		}
		d.Organisations = append(d.Organisations, directory.Organisation{ID: pcnID(k), Name: name, Kind: directory.PCN, ParentID: "ZZI", Postcode: orgPostcode(1+k%40, k)})
		homes := max(1, int(math.Round(size/5000)))
		for h := range homes {
			nHomes++
			id := fmt.Sprintf("ZZH%04d", nHomes)
			d.Organisations = append(d.Organisations, directory.Organisation{
				ID: id, Name: fmt.Sprintf("%s %s", placeWords[r.IntN(len(placeWords))], careHomeKinds[r.IntN(len(careHomeKinds))]),
				Kind: directory.CareHome, ParentID: "", Postcode: orgPostcode(1+k%40, 100+h),
			})
			for i := range g.practices {
				if g.practices[i].pcn == k && (g.practices[i].careHome == "" || r.IntN(2) == 0) {
					g.practices[i].careHome = id
				}
			}
		}
	}

	// Teams and staff: a practice team per practice (GPs ~1 per 1,800,
	// nurses ~1 per 3,500, one care coordinator), and per PCN an integrated
	// neighbourhood team, community nursing, social work and community
	// mental health teams.
	coords := make([][]int64, len(pcnSizes))
	for i := range g.practices {
		p := &g.practices[i]
		list := sizes[i] * scale
		p.teamID = team(p.name+" team", p.id, "gp-practice")
		for k := range max(1, int(list/1800)) {
			role := "member"
			if k == 0 {
				role = "lead"
			}
			member(p.teamID, prof("gp", p.id), role)
		}
		for range max(1, int(list/3500)) {
			member(p.teamID, prof("practice-nurse", p.id), "member")
		}
		p.coordProf = prof("care-coordinator", p.id)
		member(p.teamID, p.coordProf, "coordinator")
		coords[p.pcn] = append(coords[p.pcn], p.coordProf)
	}
	for k, size := range pcnSizes {
		pcn := pcnID(k)
		intTeam := team(fmt.Sprintf("%s integrated neighbourhood team", pcn), pcn, "integrated-neighbourhood")
		comm := team(fmt.Sprintf("%s community nursing", pcn), "ZZC", "community-nursing")
		sw := team(fmt.Sprintf("%s social work", pcn), "ZZL", "social-work")
		mh := team(fmt.Sprintf("%s community mental health", pcn), "ZZM", "mental-health")
		for i := range g.practices {
			if p := &g.practices[i]; p.pcn == k {
				p.intTeam, p.commTeam, p.swTeam, p.mhTeam = intTeam, comm, sw, mh
			}
		}
		matron := prof("community-matron", "ZZC")
		member(comm, matron, "lead")
		member(intTeam, matron, "member")
		for range max(1, int(size/8000)) {
			member(comm, prof("district-nurse", "ZZC"), "member")
		}
		for j := range max(1, int(size/8000)) {
			sp := prof("social-worker", "ZZL")
			member(sw, sp, roleFor(j))
			if j == 0 {
				member(intTeam, sp, "member")
			}
		}
		for j := range max(1, int(size/6000)) {
			mp := prof("mental-health-worker", "ZZM")
			member(mh, mp, roleFor(j))
			if j == 0 {
				member(intTeam, mp, "member")
			}
		}
		for j, c := range coords[k] {
			role := "member"
			if j == 0 {
				role = "coordinator"
			}
			member(intTeam, c, role)
		}
	}
	g.dir = d
}

func roleFor(j int) string {
	if j == 0 {
		return "lead"
	}
	return "member"
}

func pcnID(k int) string { return fmt.Sprintf("ZZU%03d", k+1) }

// orgPostcode is an invented postcode in the ZZ area.
func orgPostcode(district, n int) string {
	return fmt.Sprintf("ZZ%d %d%c%c", district, n%10, postcodeLetters[(n/10)%len(postcodeLetters)], postcodeLetters[(n*7+3)%len(postcodeLetters)])
}

func pick(r *rand.Rand, a, b []string) string {
	if r.IntN(2) == 0 {
		return a[r.IntN(len(a))]
	}
	return b[r.IntN(len(b))]
}

var voluntaryNames = [...]string{
	"Synthshire Age Concern", "Synthshire Carers' Centre", "Synthshire Mind", "Home from Hospital Synthshire",
	"Synthshire Citizens Advice", "Synthshire Good Neighbours", "Synthshire Food Bank", "Synthshire Dementia Friends",
	"Synthshire Befriending Service", "Synthshire Disability Forum", "Synthshire Community Transport", "Synthshire Wellbeing Hub",
}

var careHomeKinds = [...]string{"Care Home", "Nursing Home", "House", "Lodge", "Court"}
