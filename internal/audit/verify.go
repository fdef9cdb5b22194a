package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Source reads the whole log for Verify. ScanAudit must read, from one
// consistent snapshot, first the stored head (a Head with an empty Hash when
// the head row is missing) and then every entry in ascending seq order,
// calling head once and each once per entry; an error from either ends the
// scan and is returned as it is.
type Source interface {
	ScanAudit(ctx context.Context, head func(Head) error, each func(Event) error) error
}

// Problem says what is wrong with the log.
type Problem string

const (
	Edited      Problem = "edited"       // an entry's content does not give its hash
	Removed     Problem = "removed"      // an entry is missing from the middle of the log
	Reordered   Problem = "reordered"    // an entry does not link to the entry before it
	Truncated   Problem = "truncated"    // entries are missing at the end, compared with the head
	Added       Problem = "added"        // entries beyond the head, written outside the log
	HeadChanged Problem = "head-changed" // the head does not match the last entry, or is missing
	Rewritten   Problem = "rewritten"    // an expected head is no longer in the log
)

// Report is what Verify found.
type Report struct {
	Checked    int64   // entries read and found sound
	Head       Head    // the last sound entry: record it to check later with ExpectHead
	StoredHead Head    // the head row as stored
	FirstBad   int64   // seq of the first bad entry; 0 when the log is whole (or no entry can be named)
	Problem    Problem // "" when the log is whole
	Detail     string  // one line saying what is wrong; no entry content
}

// OK reports whether the log is whole.
func (r Report) OK() bool { return r.Problem == "" }

// Err is nil for a whole log, otherwise a Conflict error naming the first
// bad entry.
func (r Report) Err() error {
	switch {
	case r.OK():
		return nil
	case r.FirstBad > 0:
		return apperr.Ef(apperr.Conflict, "audit log broken at entry %d (%s): %s", r.FirstBad, r.Problem, r.Detail)
	default:
		return apperr.Ef(apperr.Conflict, "audit log broken (%s): %s", r.Problem, r.Detail)
	}
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// ExpectHead, when its Hash is set, is a head recorded earlier: the log
	// must still hold that entry unchanged (at that seq, when Seq is set).
	ExpectHead Head
	// Progress, when set, is called now and then with the entries checked
	// so far and the stored head's seq (the expected total).
	Progress func(checked, total int64)
}

// progressEvery is how many entries pass between Progress calls.
const progressEvery = 8192

// errStop ends a scan once the first bad entry is found.
var errStop = errors.New("stop")

// Verify reads the whole log from src, recomputes every hash and checks
// every link, and compares the end with the stored head. It stops at the
// first bad entry and reports it; the error is only for failing to read
// the log.
func Verify(ctx context.Context, src Source, opt VerifyOptions) (Report, error) {
	r := Report{Head: EmptyHead}
	var total int64
	expect := opt.ExpectHead
	found := expect.Hash == "" || expect == EmptyHead
	bad := func(seq int64, p Problem, format string, args ...any) error {
		r.FirstBad, r.Problem, r.Detail = seq, p, fmt.Sprintf(format, args...)
		return errStop
	}
	progress := func() {
		if opt.Progress != nil {
			opt.Progress(r.Checked, total)
		}
	}

	onHead := func(h Head) error {
		r.StoredHead, total = h, h.Seq
		progress()
		return nil
	}
	onEntry := func(e Event) error {
		next := r.Head.Seq + 1
		switch {
		case e.Seq > next:
			where := fmt.Sprintf("entry %d follows entry %d", e.Seq, r.Head.Seq)
			if next == 1 {
				where = fmt.Sprintf("the log starts at entry %d", e.Seq)
			}
			return bad(next, Removed, "%s missing: %s", entries(next, e.Seq-1), where)
		case e.Seq < next:
			return bad(e.Seq, Reordered, "entry %d is out of sequence after entry %d", e.Seq, r.Head.Seq)
		}
		prevOK, hashOK := e.Prev == r.Head.Hash, e.Hash == e.ComputeHash()
		switch {
		case prevOK && !hashOK:
			return bad(e.Seq, Edited, "entry %d was changed after it was written: its content does not match its hash", e.Seq)
		case !prevOK && !hashOK:
			return bad(e.Seq, Reordered, "entry %d is not the entry written there: it does not link to entry %d and its content does not match its hash", e.Seq, r.Head.Seq)
		case !prevOK:
			return bad(e.Seq, Reordered, "entry %d does not link to entry %d: entry %d was rewritten, or entries were inserted or reordered", e.Seq, r.Head.Seq, r.Head.Seq)
		}
		if expect.Hash != "" && !found {
			switch {
			case e.Hash == expect.Hash && (expect.Seq == 0 || expect.Seq == e.Seq):
				found = true
			case expect.Seq == e.Seq:
				return bad(e.Seq, Rewritten, "entry %d is not the one recorded as head %s: the log was rewritten at or before entry %d", e.Seq, short(expect.Hash), e.Seq)
			}
		}
		r.Head = Head{Seq: e.Seq, Hash: e.Hash}
		r.Checked++
		if r.Checked%progressEvery == 0 {
			progress()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	}

	err := src.ScanAudit(ctx, onHead, onEntry)
	if errors.Is(err, errStop) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	progress()
	last, sh := r.Head.Seq, r.StoredHead
	switch {
	case sh.Hash == "":
		bad(0, HeadChanged, "the head record is missing; the log has %d entries", last)
	case sh.Seq > last:
		end := fmt.Sprintf("the log ends at entry %d", last)
		if last == 0 {
			end = "the log is empty"
		}
		bad(last+1, Truncated, "%s missing: %s but its head records entry %d", entries(last+1, sh.Seq), end, sh.Seq)
	case sh.Seq < last:
		bad(sh.Seq+1, Added, "entry %d and after were added outside the log: its head records entry %d", sh.Seq+1, sh.Seq)
	case sh.Hash != r.Head.Hash:
		bad(last, HeadChanged, "the head records hash %s for entry %d, but the entry's hash is %s", short(sh.Hash), last, short(r.Head.Hash))
	case !found && expect.Seq > last:
		bad(0, Rewritten, "the expected head, entry %d, is beyond the end of the log (entry %d): the log was cut and its head rewritten", expect.Seq, last)
	case !found:
		bad(0, Rewritten, "the expected head %s is not in the log: the log was rewritten", short(expect.Hash))
	}
	return r, nil
}

// entries names the entries from to to: "entry 5 is" or "entries 5 to 7 are".
func entries(from, to int64) string {
	if from == to {
		return fmt.Sprintf("entry %d is", from)
	}
	return fmt.Sprintf("entries %d to %d are", from, to)
}

// short abbreviates a hash for a message, as git does.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
