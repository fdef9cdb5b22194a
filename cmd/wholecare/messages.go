package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wholecare/wholecare/internal/ingest"
)

// runMessages inspects and replays the HL7 v2 message log:
//
//	wholecare messages [--status S] [--limit N]   list, newest first
//	wholecare messages show ID                    one message, as received, and its ACK
//	wholecare messages replay ID                  apply it again and record the new outcome
func runMessages(ctx context.Context, e *env, args []string) error {
	cfg := defaultConfig(e.getenv)
	fs := flag.NewFlagSet("messages", flag.ContinueOnError)
	cfg.dbFlag(fs)
	cfg.logFlags(fs)
	status := fs.String("status", "", "only messages with this status: received, applied, error or rejected")
	limit := fs.Int("limit", 50, "at most this many messages (1–1000)")
	if err := parseFlagsArgs(fs, e, args, "[--db DSN] [--status S] [--limit N] [show ID | replay ID]", 2); err != nil {
		return err
	}
	st := ingest.MessageStatus(*status)
	switch st {
	case "", ingest.MessageReceived, ingest.MessageApplied, ingest.MessageError, ingest.MessageRejected:
	default:
		return &usageError{fmt.Sprintf("--status %q: use received, applied, error or rejected", *status)}
	}
	if *limit < 1 || *limit > 1000 {
		return &usageError{"--limit must be from 1 to 1000"}
	}
	rest := fs.Args()
	var id int64
	if len(rest) > 0 {
		if len(rest) != 2 || (rest[0] != "show" && rest[0] != "replay") {
			return &usageError{"use: wholecare messages [show ID | replay ID]"}
		}
		n, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil || n <= 0 {
			return &usageError{fmt.Sprintf("message id %q is not a positive number", rest[1])}
		}
		id = n
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

	show := func(m ingest.Message) {
		fmt.Fprintf(e.stdout, "message %d  %s  %s  from %s (%s/%s)  control id %q\n", m.ID, m.Status, m.MessageType,
			orDash(m.Peer), orDash(m.SendingApp), orDash(m.SendingFacility), m.ControlID)
		fmt.Fprintf(e.stdout, "received %s", m.ReceivedAt.Format(time.RFC3339))
		if m.AckCode != "" {
			fmt.Fprintf(e.stdout, "; answered %s at %s", m.AckCode, m.AppliedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(e.stdout)
		if m.Error != "" {
			fmt.Fprintf(e.stdout, "error: %s\n", m.Error)
		}
		fmt.Fprintf(e.stdout, "\n%s\n", segmentsPerLine(m.Raw))
		if len(m.Ack) > 0 {
			fmt.Fprintf(e.stdout, "\nACK:\n%s\n", segmentsPerLine(m.Ack))
		}
	}
	switch {
	case len(rest) == 0:
		ms, err := db.Messages(ctx, ingest.MessageFilter{Status: st, Limit: *limit})
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			fmt.Fprintln(e.stdout, "no messages")
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRECEIVED\tTYPE\tSENDER\tCONTROL ID\tSTATUS\tACK\tERROR")
		for _, m := range ms {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.ReceivedAt.Format(time.RFC3339), orDash(m.MessageType),
				orDash(m.SendingFacility), orDash(m.ControlID), m.Status, orDash(m.AckCode), m.Error)
		}
		return tw.Flush()
	case rest[0] == "show":
		m, err := db.Message(ctx, id)
		if err != nil {
			return err
		}
		show(m)
		return nil
	default:
		f := newFeed(db, log)
		m, err := f.Replay(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "replayed message %d: %s (%s)\n", m.ID, m.Status, m.AckCode)
		if m.Error != "" {
			fmt.Fprintf(e.stdout, "error: %s\n", m.Error)
		}
		return nil
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// segmentsPerLine shows a message's CR-separated segments one per line.
func segmentsPerLine(b []byte) string {
	s := strings.ReplaceAll(string(b), "\r\n", "\r")
	return strings.TrimRight(strings.ReplaceAll(s, "\r", "\n"), "\n")
}
