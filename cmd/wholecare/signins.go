package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/directory"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// demoAccount is one sign-in the demo creates, so that a newcomer can see
// Wholecare as each kind of user sees it.
type demoAccount struct {
	name, display string
	role          auth.Role
	orgKind       directory.OrgKind // the kind of organisation the user works in
}

var demoAccounts = []demoAccount{
	{"demo.coordinator", "Demo Care Coordinator", auth.CareCoordinator, directory.PCN},
	{"demo.clinician", "Demo Clinician", auth.Clinician, directory.GPPractice},
	{"demo.social", "Demo Social Worker", auth.SocialCare, directory.SocialCare},
	{"demo.teamlead", "Demo Team Lead", auth.TeamLead, directory.CommunityTrust},
	{"demo.commissioner", "Demo Commissioner", auth.Commissioner, directory.ICB},
	{"demo.analyst", "Demo Analyst", auth.Analyst, directory.ICB},
	{"demo.admin", "Demo Administrator", auth.Administrator, directory.ICB},
}

// printDemoSignIns gives every demo account a fresh random password (so a
// demo left running somewhere keeps no well-known password) and prints them.
func printDemoSignIns(ctx context.Context, e *env, db *sqlstore.DB) error {
	dir, err := db.Directory(ctx)
	if err != nil {
		return err
	}
	firstOf := map[directory.OrgKind]string{}
	for _, o := range dir.Organisations {
		if _, ok := firstOf[o.Kind]; !ok {
			firstOf[o.Kind] = o.ID
		}
	}
	hasher := auth.NewHasher(2)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(e.stdout, "Demo sign-ins (new passwords every start; synthetic data only):")
	fmt.Fprintln(tw, "  ROLE\tNAME\tPASSWORD\tORGANISATION")
	for _, a := range demoAccounts {
		pw, err := auth.NewPassword()
		if err != nil {
			return err
		}
		hash, err := hasher.Hash(ctx, pw)
		if err != nil {
			return err
		}
		u, err := db.PutUser(ctx, auth.User{Name: a.name, DisplayName: a.display, Role: a.role,
			OrgID: firstOf[a.orgKind], PasswordHash: hash})
		if err != nil {
			return err
		}
		org := u.OrgID
		if org == "" {
			org = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.role, a.name, pw, org)
	}
	return tw.Flush()
}
