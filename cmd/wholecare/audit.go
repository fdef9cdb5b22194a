package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/audit"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

const auditSynopsis = "verify [--db DSN] [--expect-head SEQ:HASH] | list [--db DSN] [--person ID] [--user ID] [--action A] [--limit N]"

// runAudit checks and reads the audit log:
//
//	wholecare audit verify [--expect-head SEQ:HASH]   check the whole chain; print its head
//	wholecare audit list [--person ID] [--user ID]    entries, newest first
func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return &usageError{"audit: say verify or list (see wholecare audit --help)"}
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, e, args[1:])
	case "list":
		return runAuditList(ctx, e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stdout, "Usage: wholecare audit %s\n\n", auditSynopsis)
		fmt.Fprintln(e.stdout, "  verify  check that no entry was edited, removed or reordered; print the head to record elsewhere")
		fmt.Fprintln(e.stdout, "  list    list entries, newest first: who looked at whose record, and why")
		fmt.Fprintln(e.stdout, "\nRun wholecare audit verify --help or wholecare audit list --help for their flags.")
		return flag.ErrHelp
	}
	return &usageError{fmt.Sprintf("audit: unknown subcommand %q: use verify or list", args[0])}
}

// openAuditDB opens the database without migrating it: verify and list only
// read, and must not change the schema of the database they inspect.
func openAuditDB(ctx context.Context, cfg config) (*sqlstore.DB, error) {
	if err := cfg.validDB(); err != nil {
		return nil, err
	}
	return sqlstore.Open(ctx, cfg.db, nil)
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfg.dbFlag(fs)
	expect := fs.String("expect-head", "", "a head printed by an earlier verify, SEQ:HASH (or HASH): the log must still hold that entry unchanged")
	if err := parseFlags(fs, e, args, "[--db DSN] [--expect-head SEQ:HASH]"); err != nil {
		return err
	}
	var opt audit.VerifyOptions
	if *expect != "" {
		h, err := audit.ParseHead(*expect)
		if err != nil {
			return &usageError{"--expect-head: " + err.Error()}
		}
		opt.ExpectHead = h
	}
	db, err := openAuditDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	// Long logs get a progress bar on stderr; short ones finish before it
	// would be worth drawing.
	var bar *progressBar
	opt.Progress = func(done, total int64) {
		if bar == nil && total >= 100_000 {
			bar = newProgressBar(e.stderr, "verifying", "entries", time.Now)
		}
		if bar != nil {
			bar.Set(int(done), int(max(total, done)))
		}
	}
	r, err := audit.Verify(ctx, db, opt)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	if !r.OK() {
		return r.Err()
	}
	fmt.Fprintf(e.stdout, "audit log intact: %s entries checked\n", thousands(int(r.Checked)))
	fmt.Fprintf(e.stdout, "head %s\n", r.Head)
	fmt.Fprintf(e.stdout, "Record the head somewhere the database's writers cannot change; later, check the log still holds it with\n")
	fmt.Fprintf(e.stdout, "  wholecare audit verify --expect-head %s\n", r.Head)
	return nil
}

func runAuditList(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
	cfg.dbFlag(fs)
	person := fs.Int64("person", 0, "only entries about this person id")
	user := fs.Int64("user", 0, "only entries by this user id")
	action := fs.String("action", "", "only this action: read, search, create, update, delete, export, sign-in, break-glass, …")
	limit := fs.Int("limit", 50, fmt.Sprintf("at most this many entries (1–%d)", audit.MaxLimit))
	if err := parseFlags(fs, e, args, "[--db DSN] [--person ID] [--user ID] [--action A] [--limit N]"); err != nil {
		return err
	}
	if *limit < 1 || *limit > audit.MaxLimit {
		return &usageError{fmt.Sprintf("--limit must be from 1 to %d", audit.MaxLimit)}
	}
	if *person < 0 || *user < 0 {
		return &usageError{"--person and --user take positive ids"}
	}
	f, err := audit.Filter{PersonID: *person, UserID: *user, Action: *action, Limit: *limit}.Normalised()
	if err != nil {
		return &usageError{err.Error()}
	}
	db, err := openAuditDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	evs, err := db.AuditEvents(ctx, f)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		fmt.Fprintln(e.stdout, "no audit entries")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tUSER\tROLE\tORG\tPERSON\tACTION\tRESOURCE\tPURPOSE\tBASIS\tOUTCOME\tREASON\tDETAIL")
	for _, ev := range evs {
		who := ev.UserName
		if ev.UserID != 0 {
			who = fmt.Sprintf("%s (%d)", orDash(ev.UserName), ev.UserID)
		}
		personText := "-"
		if ev.PersonID != 0 {
			personText = strconv.FormatInt(ev.PersonID, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.At.Format(time.RFC3339), who,
			orDash(ev.Role), orDash(ev.OrgID), personText, ev.Action, orDash(ev.ResourceType), orDash(ev.Purpose), ev.Basis,
			ev.Outcome, orDash(oneLineText(ev.Reason)), orDash(oneLineText(ev.Detail)))
	}
	return tw.Flush()
}

// oneLineText keeps a free-text field on its table row.
func oneLineText(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r == '\n' || r == '\r' || r == '\t' {
			out[i] = ' '
		}
	}
	return string(out)
}
