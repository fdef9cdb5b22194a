package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"

	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/registry"
)

// PersonMatcher is what ingest asks about a person no source identity and
// no verified NHS number names: who in the registry they may be. It also
// hears, after every commit, the people as now stored, to stay current.
// linkage.Index is one.
type PersonMatcher interface {
	MatchPerson(p registry.Person) (linkage.Candidate, bool)
	PutPerson(p registry.Person) error
	// Remove forgets a person: one merged into another is found through
	// the survivor, whose golden record holds the cluster's demographics.
	Remove(id int64)
}

var _ PersonMatcher = (*linkage.Index)(nil)

// linkHook holds the optional matcher. refresh serialises the reads that
// bring it up to date, so that a later read of a person is never applied
// before an earlier one.
type linkHook struct {
	mu      sync.RWMutex
	m       PersonMatcher
	refresh sync.Mutex
}

// SetMatcher has ingest link incoming people with m (nil: never). It is
// set once the registry's index is built, after Open: the index is built
// from the store.
func (db *DB) SetMatcher(m PersonMatcher) {
	db.link.mu.Lock()
	defer db.link.mu.Unlock()
	db.link.m = m
}

func (db *DB) matcher() PersonMatcher {
	db.link.mu.RLock()
	defer db.link.mu.RUnlock()
	return db.link.m
}

// pendingReview is a person ingest created for a record the matcher put
// up for review, queued once the person has an id.
type pendingReview struct {
	key  identityKey
	cand linkage.Candidate
}

// link asks the matcher about an incoming person no identifier names. A
// link attaches the source's identity to the person found; a review
// creates a new person (the caller does) and queues the pair; anything
// else is a new person. The matcher's person is checked inside the
// transaction: the index may not yet know that they were removed.
func (a *applier) link(ctx context.Context, key identityKey, p *registry.Person) (int64, error) {
	m := a.db.matcher()
	if m == nil {
		return 0, nil
	}
	c, ok := m.MatchPerson(*p)
	if !ok || c.Outcome == linkage.NoLink {
		return 0, nil
	}
	var one int
	err := a.tx.QueryRowContext(ctx, a.db.d.rebind(`SELECT 1 FROM people WHERE person_id = ?`), c.PersonID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, classify(err, "checking a linked person")
	}
	if c.Outcome == linkage.Review {
		a.reviews = append(a.reviews, pendingReview{key, c})
		return 0, nil
	}
	a.addIdentity(c.PersonID, key, "linkage")
	return c.PersonID, nil
}

// queueReviews queues the pairs link put up, for the people this
// transaction went on to create.
func (a *applier) queueReviews(ctx context.Context) error {
	for _, pr := range a.reviews {
		pid, ok := a.persons[pr.key]
		if !ok || pid == pr.cand.PersonID {
			continue // the item was refused, or a later item linked it
		}
		r, err := linkage.NewReview(pid, pr.cand.PersonID, pr.cand, linkage.OriginIncoming, pr.key.source, a.now)
		if err != nil {
			return err
		}
		if _, _, err := a.db.queueReview(ctx, a.tx, r); err != nil {
			return err
		}
	}
	return nil
}

// peopleChanged tells the matcher, after a commit, what the store now
// holds for people a transaction touched. The commit has happened, so a
// failure here is logged, not returned: the index misses the change until
// it is next built.
func (db *DB) peopleChanged(ctx context.Context, ids []int64) {
	m := db.matcher()
	if m == nil || len(ids) == 0 {
		return
	}
	db.link.refresh.Lock()
	defer db.link.refresh.Unlock()
	ctx = context.WithoutCancel(ctx)
	people, retired, err := db.peopleAndMerges(ctx, ids)
	if err != nil {
		db.log.Warn("linkage index not updated", "people", len(ids), "err", err)
		return
	}
	for _, p := range people {
		if retired[p.ID] {
			m.Remove(p.ID)
			continue
		}
		if err := m.PutPerson(p); err != nil {
			db.log.Warn("linkage index not updated", "person", p.ID, "err", err)
		}
	}
}

// EachPerson streams every person not merged into another, in id order, a
// chunk at a time, to fn; an error from fn stops it. It is how the linkage
// index is built: a merged record is found through its survivor.
func (db *DB) EachPerson(ctx context.Context, fn func(registry.Person) error) error {
	if err := db.ready(); err != nil {
		return err
	}
	const chunk = 10_000
	after := int64(-1 << 62)
	for {
		rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+personColumns+` FROM people WHERE person_id > ? AND merged_into IS NULL ORDER BY person_id LIMIT ?`), after, chunk)
		if err != nil {
			return classify(err, "reading people")
		}
		var batch []registry.Person
		for rows.Next() {
			p, err := scanPerson(rows)
			if err != nil {
				rows.Close()
				return classify(err, "reading people")
			}
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return classify(err, "reading people")
		}
		for _, p := range batch {
			if err := fn(p); err != nil {
				return err
			}
		}
		if len(batch) < chunk {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}

// PeopleCount is the number of people in the registry.
func (db *DB) PeopleCount(ctx context.Context) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM people`).Scan(&n)
	return n, classify(err, "counting people")
}

// peopleAndMerges reads the people among ids that exist, in id order,
// and which of them are merged into someone else: what the matcher keeps.
// One query a chunk, of people alone. It was Patients, whose join of
// source identities (not needed here) PostgreSQL ran as a sequential scan
// of every identity at each ingest commit: in a 100,000-person import,
// 1,409 scans of a table growing to 100,000 rows.
func (db *DB) peopleAndMerges(ctx context.Context, ids []int64) ([]registry.Person, map[int64]bool, error) {
	var people []registry.Person
	retired := map[int64]bool{}
	for len(ids) > 0 {
		n := min(len(ids), db.d.lookupChunk())
		cond, args := inKeys(db.d, "person_id", ids[:n])
		ids = ids[n:]
		rows, err := db.sql.QueryContext(ctx, db.d.rebind(`SELECT `+personColumns+`, merged_into IS NOT NULL FROM people WHERE `+cond), args...)
		if err != nil {
			return nil, nil, classify(err, "reading people")
		}
		for rows.Next() {
			var p registry.Person
			var merged bool
			if err := rows.Scan(&p.ID, &p.NHSNumber, &p.NHSNumberStatus, &p.GivenName, &p.FamilyName, timeDest{&p.BirthDate},
				&p.Sex, &p.Postcode, &p.IMDDecile, &p.Ethnicity, &p.PracticeID, timeDest{&p.DateOfDeath}, &p.Source, timeDest{&p.ReceivedAt},
				&merged); err != nil {
				rows.Close()
				return nil, nil, classify(err, "reading people")
			}
			people = append(people, p)
			if merged {
				retired[p.ID] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, classify(err, "reading people")
		}
	}
	slices.SortFunc(people, func(a, b registry.Person) int { return cmp.Compare(a.ID, b.ID) })
	return people, retired, nil
}
