package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// demoAccount is one sign-in the demo creates, so that a newcomer can see
// Wholecare as each kind of user sees it. Staff are linked to a
// professional in the generated directory, so their care-team memberships
// give them real relationships to real (synthetic) people.
type demoAccount struct {
	name, display string
	role          auth.Role
	// where finds the professional the account is (0 for none) and the
	// organisation it works for, in the generated directory.
	where func(d demoDirectory) (prof int64, org string)
	// person is for a service user or carer: which person at the first
	// practice (0-based) the account is for.
	person int
}

// demoDirectory is the directory seen from its first practice.
type demoDirectory struct {
	d        *directory.Directory
	practice directory.Organisation
}

// member finds a professional of a profession (and role, if given) in the
// team of kind teamKind that serves the first practice.
func (dd demoDirectory) member(teamKind, profession, role string) (int64, string) {
	profs := map[int64]directory.Professional{}
	for _, p := range dd.d.Professionals {
		profs[p.ID] = p
	}
	for _, t := range dd.d.Teams {
		if t.Kind != teamKind || (t.OrgID != dd.practice.ID && !strings.HasPrefix(t.Name, dd.practice.ParentID+" ")) {
			continue
		}
		for _, m := range dd.d.Members {
			if p := profs[m.ProfessionalID]; m.TeamID == t.ID && p.Profession == profession && (role == "" || m.Role == role) {
				return p.ID, p.OrgID
			}
		}
	}
	return 0, dd.practice.ID
}

func (dd demoDirectory) firstOf(kind directory.OrgKind) (int64, string) {
	for _, o := range dd.d.Organisations {
		if o.Kind == kind {
			return 0, o.ID
		}
	}
	return 0, ""
}

var demoAccounts = []demoAccount{
	{name: "demo.coordinator", display: "Demo Care Coordinator", role: auth.CareCoordinator,
		where: func(d demoDirectory) (int64, string) {
			return d.member("gp-practice", "care-coordinator", "coordinator")
		}},
	{name: "demo.clinician", display: "Demo GP", role: auth.Clinician,
		where: func(d demoDirectory) (int64, string) { return d.member("gp-practice", "gp", "") }},
	{name: "demo.social", display: "Demo Social Worker", role: auth.SocialCare,
		where: func(d demoDirectory) (int64, string) { return d.member("social-work", "social-worker", "") }},
	{name: "demo.teamlead", display: "Demo Community Matron (team lead)", role: auth.TeamLead,
		where: func(d demoDirectory) (int64, string) {
			return d.member("community-nursing", "community-matron", "lead")
		}},
	{name: "demo.commissioner", display: "Demo Commissioner", role: auth.Commissioner,
		where: func(d demoDirectory) (int64, string) { return d.firstOf(directory.ICB) }},
	{name: "demo.analyst", display: "Demo Analyst", role: auth.Analyst,
		where: func(d demoDirectory) (int64, string) { return d.firstOf(directory.ICB) }},
	{name: "demo.admin", display: "Demo Administrator (privacy officer)", role: auth.Administrator,
		where: func(d demoDirectory) (int64, string) { return d.firstOf(directory.ICB) }},
	{name: "demo.person", display: "Demo Service User", role: auth.ServiceUser, person: 0},
	{name: "demo.carer", display: "Demo Carer", role: auth.Carer, person: 1},
}

// printDemoSignIns gives every demo account a fresh random password (so a
// demo left running somewhere keeps no well-known password) and prints them.
func printDemoSignIns(ctx context.Context, e *env, db *sqlstore.DB) error {
	accounts, err := resetDemoSignIns(ctx, db)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(e.stdout, "Demo sign-ins (new passwords every start; synthetic data only):")
	fmt.Fprintln(tw, "  ROLE\tNAME\tPASSWORD\tSEES")
	for _, a := range accounts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.role, a.name, a.password, a.sees)
	}
	return tw.Flush()
}

// demoSignIn is a demo account with its new password.
type demoSignIn struct {
	role                 auth.Role
	name, password, sees string
}

// resetDemoSignIns creates or updates every demo account with a fresh
// random password and returns them.
func resetDemoSignIns(ctx context.Context, db *sqlstore.DB) ([]demoSignIn, error) {
	dir, err := db.Directory(ctx)
	if err != nil {
		return nil, err
	}
	dd := demoDirectory{d: dir}
	for _, o := range dir.Organisations {
		if o.Kind == directory.GPPractice {
			dd.practice = o
			break
		}
	}
	people, err := demoPeople(ctx, db, dd.practice.ID)
	if err != nil {
		return nil, err
	}
	hasher := auth.NewHasher(2)
	var out []demoSignIn
	for _, a := range demoAccounts {
		u := auth.User{Name: a.name, DisplayName: a.display, Role: a.role}
		sees := ""
		switch {
		case a.where != nil:
			u.ProfessionalID, u.OrgID = a.where(dd)
			sees = demoSees(a.role, u.OrgID)
		case a.person < len(people):
			u.PersonID, u.OrgID = people[a.person], ""
			sees = fmt.Sprintf("person %d's record", u.PersonID)
		default:
			continue // a population too small to have this person
		}
		pw, err := auth.NewPassword()
		if err != nil {
			return nil, err
		}
		if u.PasswordHash, err = hasher.Hash(ctx, pw); err != nil {
			return nil, err
		}
		if _, err := db.PutUser(ctx, u); err != nil {
			return nil, err
		}
		out = append(out, demoSignIn{role: a.role, name: a.name, password: pw, sees: sees})
	}
	return out, nil
}

func demoSees(role auth.Role, org string) string {
	switch role {
	case auth.CareCoordinator, auth.Clinician:
		return "people registered at " + org + " (practice care team)"
	case auth.SocialCare:
		return "people with the social work team"
	case auth.TeamLead:
		return "people with the community nursing team"
	case auth.Administrator:
		return "users, the audit log, break-glass reviews; no records"
	default:
		return "population counts only (small numbers suppressed); no records"
	}
}

// demoPeople picks the service user and the person the carer looks after:
// the first two people at the practice aged 65 or over who are alive (the
// people integrated care is mostly for), or the first two at all in a
// population too small to have them.
func demoPeople(ctx context.Context, db *sqlstore.DB, practice string) ([]int64, error) {
	ids, err := db.PeopleAtPractice(ctx, practice, 500)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var older []int64
	for _, id := range ids {
		p, err := db.Person(ctx, id)
		if err != nil {
			return nil, err
		}
		if p.DateOfDeath.IsZero() && p.AgeAt(now) >= 65 {
			if older = append(older, id); len(older) == 2 {
				return older, nil
			}
		}
	}
	return ids[:min(2, len(ids))], nil
}
