package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// runUser manages sign-ins:
//
//	wholecare user add --name NAME --role ROLE [--org ORG] [--person ID] [--professional ID] [--display TEXT]
//	wholecare user list
//	wholecare user disable --name NAME     (ends every session at once)
//	wholecare user enable --name NAME
//	wholecare user token --name NAME [--scope SCOPES] [--ttl D] [--label TEXT]
func runUser(ctx context.Context, e *env, args []string) error {
	const synopsis = "add|list|disable|enable|token [flags]"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, "Usage: wholecare user "+synopsis)
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, "  add      create a sign-in (or update one of that name) and print its new password")
		fmt.Fprintln(e.stdout, "  list     list sign-ins")
		fmt.Fprintln(e.stdout, "  disable  stop a sign-in at once: its sessions end and its tokens stop working")
		fmt.Fprintln(e.stdout, "  enable   allow a disabled sign-in again")
		fmt.Fprintln(e.stdout, "  token    print a bearer token for Authorization: Bearer TOKEN on the JSON and FHIR APIs")
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, "Roles: "+roleNames())
		if len(args) == 0 {
			return &usageError{"user: name a subcommand (see wholecare user --help)"}
		}
		return nil
	}
	cfg := defaultConfig(e.getenv)
	sub := args[0]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	var (
		name, role, org, display, scope, label string
		person, professional                   int64
		ttl                                    time.Duration
	)
	synopsisOf := map[string]string{
		"add":     "--name NAME --role ROLE [--org ODS] [--person ID] [--professional ID] [--display TEXT]",
		"list":    "",
		"disable": "--name NAME",
		"enable":  "--name NAME",
		"token":   "--name NAME [--scope SCOPES] [--ttl DURATION] [--label TEXT]",
	}
	syn, ok := synopsisOf[sub]
	if !ok {
		return &usageError{fmt.Sprintf("user: unknown subcommand %q (see wholecare user --help)", sub)}
	}
	if sub != "list" {
		fs.StringVar(&name, "name", "", "sign-in name (a-z, 0-9, '.', '-', '_')")
	}
	switch sub {
	case "add":
		fs.StringVar(&role, "role", "", "role: "+roleNames())
		fs.StringVar(&org, "org", "", "ODS code of the organisation the user works for")
		fs.Int64Var(&person, "person", 0, "for a service user or carer: the person's id")
		fs.Int64Var(&professional, "professional", 0, "the directory professional this user is (gives care-team relationships)")
		fs.StringVar(&display, "display", "", "display name (default: the sign-in name)")
	case "token":
		fs.StringVar(&scope, "scope", "", `scopes, space- or comma-separated (default "system/*.read" for --role system users, "user/*.read" otherwise)`)
		fs.DurationVar(&ttl, "ttl", 30*24*time.Hour, "how long the token lives, e.g. 24h or 2160h (at most a year)")
		fs.StringVar(&label, "label", "", "what the token is for, shown in listings")
	}
	if err := parseFlags(fs, e, args[1:], syn); err != nil {
		return err
	}
	if sub != "list" && name == "" {
		return &usageError{fmt.Sprintf("user %s: --name is required", sub)}
	}
	var r auth.Role
	if sub == "add" {
		var err error
		if r, err = auth.ParseRole(role); err != nil {
			return &usageError{fmt.Sprintf("user add: --role %q: use one of %s", role, roleNames())}
		}
	}
	log, err := newLogger(e.stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		return err
	}
	db, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "add":
		return userAdd(ctx, e, db, auth.User{Name: name, DisplayName: display, Role: r, OrgID: strings.ToUpper(org),
			PersonID: person, ProfessionalID: professional})
	case "list":
		return userList(ctx, e, db)
	case "disable", "enable":
		u, err := db.SetUserDisabled(ctx, name, sub == "disable")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is now %sd\n", u.Name, sub)
		return nil
	default:
		return userToken(ctx, e, db, name, scope, ttl, label)
	}
}

func roleNames() string {
	names := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

func userAdd(ctx context.Context, e *env, db *sqlstore.DB, u auth.User) error {
	if u.DisplayName == "" {
		u.DisplayName = u.Name
	}
	pw := ""
	if u.Role != auth.SystemClient {
		var err error
		if pw, err = auth.NewPassword(); err != nil {
			return err
		}
		if u.PasswordHash, err = auth.NewHasher(1).Hash(ctx, pw); err != nil {
			return err
		}
	}
	if u.PersonID != 0 {
		if _, err := db.Person(ctx, u.PersonID); err != nil {
			return err
		}
	}
	stored, err := db.PutUser(ctx, u)
	if err != nil {
		return err
	}
	if pw == "" {
		fmt.Fprintf(e.stdout, "system client %s (id %d) stored; it signs in only with a token: wholecare user token --name %s\n",
			stored.Name, stored.ID, stored.Name)
		return nil
	}
	fmt.Fprintf(e.stdout, "sign-in for %s (%s, id %d)\n  name:     %s\n  password: %s\n", stored.DisplayName, stored.Role, stored.ID, stored.Name, pw)
	fmt.Fprintln(e.stdout, "The password is shown once; only its argon2id hash is stored.")
	return nil
}

func userList(ctx context.Context, e *env, db *sqlstore.DB) error {
	us, err := db.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tORG\tPROFESSIONAL\tPERSON\tSTATUS")
	for _, u := range us {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Role, orDash(u.OrgID), idOrDash(u.ProfessionalID), idOrDash(u.PersonID), status)
	}
	return tw.Flush()
}

func idOrDash(id int64) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprint(id)
}

func userToken(ctx context.Context, e *env, db *sqlstore.DB, name, scope string, ttl time.Duration, label string) error {
	u, err := db.UserByName(ctx, name)
	if err != nil {
		return err
	}
	if scope == "" {
		scope = "user/*.read"
		if u.Role == auth.SystemClient {
			scope = "system/*.read"
		}
	}
	scopes, err := auth.ParseScopes(scope)
	if err != nil {
		return err
	}
	svc := auth.NewService(db, auth.Config{}, time.Now)
	secret, t, err := svc.IssueToken(ctx, u, scopes, ttl, label)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "token %d for %s: %s, expires %s. It is shown once; only its hash is stored.\n",
		t.ID, u.Name, t.Scopes, t.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}
