package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/linkage"
)

// The review queue of record linkage: pairs of people the evidence could
// not decide. Each pair is one row for good, so a decision is never asked
// for again.

const reviewColumns = `id, person_low, person_high, weight, probability, outcome, caution, evidence, origin, source,
	status, decided_by, decided_at, reason, created_at`

func scanReview(s interface{ Scan(...any) error }) (linkage.PairReview, error) {
	var r linkage.PairReview
	var outcome, evidence string
	err := s.Scan(&r.ID, &r.Low, &r.High, &r.Weight, &r.Probability, &outcome, &r.Caution, &evidence, &r.Origin, &r.Source,
		&r.Status, &r.DecidedBy, timeDest{&r.DecidedAt}, &r.Reason, timeDest{&r.CreatedAt})
	if err != nil {
		return r, err
	}
	if r.Outcome, err = linkage.ParseOutcome(outcome); err != nil {
		return r, apperr.Wrap(apperr.Internal, err, "reading a link review")
	}
	if err := json.Unmarshal([]byte(evidence), &r.Evidence); err != nil {
		return r, apperr.Wrap(apperr.Internal, err, "reading a link review's evidence")
	}
	return r, nil
}

// QueueReview puts a pair up for review and returns the queue's row for
// it. A pair already queued, pending or decided, is left as it is
// (queued false): a decision once made is never asked for again.
func (db *DB) QueueReview(ctx context.Context, r linkage.PairReview) (stored linkage.PairReview, queued bool, err error) {
	if err := db.ready(); err != nil {
		return r, false, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return r, false, classify(err, "queueing a link review")
	}
	defer tx.Rollback()
	stored, queued, err = db.queueReview(ctx, tx, r)
	if err != nil {
		return r, false, err
	}
	return stored, queued, classify(tx.Commit(), "queueing a link review")
}

func (db *DB) queueReview(ctx context.Context, q queryExecer, r linkage.PairReview) (linkage.PairReview, bool, error) {
	if r.Low <= 0 || r.Low >= r.High {
		return r, false, apperr.E(apperr.Invalid, "a link review needs two people, the lower id first")
	}
	ev, err := json.Marshal(r.Evidence)
	if err != nil {
		return r, false, apperr.Wrap(apperr.Internal, err, "encoding a link review's evidence")
	}
	if r.Evidence == nil {
		ev = []byte("[]")
	}
	stored, err := scanReview(q.QueryRowContext(ctx, db.d.rebind(`INSERT INTO link_reviews
		(person_low, person_high, weight, probability, outcome, caution, evidence, origin, source, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
		ON CONFLICT (person_low, person_high) DO NOTHING RETURNING `+reviewColumns),
		r.Low, r.High, r.Weight, r.Probability, r.Outcome.String(), r.Caution, string(ev), string(r.Origin), r.Source, db.d.instant(r.CreatedAt)))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return r, false, classify(err, "queueing a link review")
	}
	stored, err = scanReview(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+reviewColumns+` FROM link_reviews WHERE person_low = ? AND person_high = ?`), r.Low, r.High))
	return stored, false, classify(err, "queueing a link review")
}

// LinkReview returns one review; NotFound when there is none.
func (db *DB) LinkReview(ctx context.Context, id int64) (linkage.PairReview, error) {
	if err := db.ready(); err != nil {
		return linkage.PairReview{}, err
	}
	r, err := scanReview(db.sql.QueryRowContext(ctx, db.d.rebind(`SELECT `+reviewColumns+` FROM link_reviews WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, apperr.Ef(apperr.NotFound, "no link review %d", id)
	}
	return r, classify(err, "reading a link review")
}

// PendingReviews lists the pairs awaiting a decision, oldest first (the
// queue's order), limit at a time after offset, with the counts of every
// status.
func (db *DB) PendingReviews(ctx context.Context, limit, offset int) ([]linkage.PairReview, linkage.ReviewCounts, error) {
	var counts linkage.ReviewCounts
	if err := db.ready(); err != nil {
		return nil, counts, err
	}
	if limit <= 0 || limit > 1000 || offset < 0 {
		return nil, counts, apperr.E(apperr.Invalid, "a page of link reviews holds 1 to 1000, from an offset of 0 or more")
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, counts, classify(err, "listing link reviews")
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT status, count(*) FROM link_reviews GROUP BY status`)
	if err != nil {
		return nil, counts, classify(err, "counting link reviews")
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return nil, counts, classify(err, "counting link reviews")
		}
		switch linkage.ReviewStatus(st) {
		case linkage.ReviewPending:
			counts.Pending = n
		case linkage.ReviewConfirmed:
			counts.Confirmed = n
		case linkage.ReviewRejected:
			counts.Rejected = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, counts, classify(err, "counting link reviews")
	}
	rows, err = tx.QueryContext(ctx, db.d.rebind(`SELECT `+reviewColumns+` FROM link_reviews WHERE status = 'pending' ORDER BY id`+db.limitOffset(limit, offset)))
	if err != nil {
		return nil, counts, classify(err, "listing link reviews")
	}
	defer rows.Close()
	var out []linkage.PairReview
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, counts, classify(err, "listing link reviews")
		}
		out = append(out, r)
	}
	return out, counts, classify(rows.Err(), "listing link reviews")
}

// DecideReview records a decision on a pending pair: confirmed (one
// person) or rejected (two). A pair already decided is a Conflict: a
// decision is not changed by deciding again.
func (db *DB) DecideReview(ctx context.Context, id int64, status linkage.ReviewStatus, by int64, reason string, at time.Time) (linkage.PairReview, error) {
	if err := db.ready(); err != nil {
		return linkage.PairReview{}, err
	}
	if status != linkage.ReviewConfirmed && status != linkage.ReviewRejected {
		return linkage.PairReview{}, apperr.Ef(apperr.Invalid, "a link review is confirmed or rejected, not %q", status)
	}
	if len(reason) > 1000 {
		return linkage.PairReview{}, apperr.E(apperr.Invalid, "reason must be at most 1000 characters")
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return linkage.PairReview{}, classify(err, "deciding a link review")
	}
	defer tx.Rollback()
	r, err := scanReview(tx.QueryRowContext(ctx, db.d.rebind(`UPDATE link_reviews SET status = ?, decided_by = ?, decided_at = ?, reason = ?
		WHERE id = ? AND status = 'pending' RETURNING `+reviewColumns), string(status), by, db.d.instant(at), reason, id))
	if errors.Is(err, sql.ErrNoRows) {
		cur, err := scanReview(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+reviewColumns+` FROM link_reviews WHERE id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			return cur, apperr.Ef(apperr.NotFound, "no link review %d", id)
		}
		if err != nil {
			return cur, classify(err, "deciding a link review")
		}
		return cur, apperr.Ef(apperr.Conflict, "link review %d was already %s", id, cur.Status)
	}
	if err != nil {
		return r, classify(err, "deciding a link review")
	}
	return r, classify(tx.Commit(), "deciding a link review")
}
