package sqlstore

import (
	"context"
	"strings"

	"github.com/wholecare/wholecare/internal/ingest"
	"github.com/wholecare/wholecare/internal/registry"
)

// Set lookups for the ingest path: what a batch of items refers to (the
// people, by source identity; their rows, by source reference; the next
// row id of each person) is read a few queries per table instead of one
// query per item or row. On PostgreSQL every query is a round trip, and a
// 2,000-item batch made about as many round trips as it had rows.

// lookupChunk is how many keys one lookup query takes. SQLite binds each
// key as a parameter (it allows 32,766); PostgreSQL takes them all as one
// array parameter, so its chunks only bound one query's size.
func (d dialect) lookupChunk() int {
	if d.postgres {
		return 10000
	}
	return 500
}

// inKeys is the condition "col is one of n keys" with its arguments.
// PostgreSQL gets col = ANY(?) and one array, so the statement text is the
// same for every batch and pgx prepares it once (an IN list, a new
// statement for each length, was measured seven times slower there than a
// query per row). SQLite gets IN (?, …), one parameter a key.
func inKeys[K string | int64](d dialect, col string, keys []K) (string, []any) {
	if d.postgres {
		return col + ` = ANY(?)`, []any{keys}
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	return col + ` IN (?` + strings.Repeat(`, ?`, len(keys)-1) + `)`, args
}

// lookup runs query (whose one %s is replaced by the key condition) for
// keys, a chunk at a time, after the leading arguments lead, and calls scan
// on every row. The query varies in length on SQLite: only short lists go
// through the statement cache (see smallList).
func lookup[K string | int64](ctx context.Context, a *applier, query, col string, lead []any, keys []K, scan func(scanner) error) error {
	for len(keys) > 0 {
		n := min(len(keys), a.db.d.lookupChunk())
		cond, args := inKeys(a.db.d, col, keys[:n])
		keys = keys[n:]
		rows, err := a.tx.queryList(ctx, n, a.db.d.rebind(strings.Replace(query, "%s", cond, 1)), append(lead[:len(lead):len(lead)], args...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

type scanner interface{ Scan(...any) error }

// prefetchPeople finds the people the items name by source identity, and
// the next row id of each of them in each table the items write to. An
// identity not found is left to resolve (by NHS number, or a new person).
func (a *applier) prefetchPeople(ctx context.Context, items []ingest.Item) error {
	bySource := map[string][]string{}
	asked := map[identityKey]bool{}
	for i := range items {
		k := identityKey{items[i].Source, items[i].Subject}
		if _, ok := a.persons[k]; ok || asked[k] {
			continue
		}
		asked[k] = true
		bySource[k.source] = append(bySource[k.source], k.local)
	}
	for source, locals := range bySource {
		err := lookup(ctx, a, `SELECT local_id, person_id FROM source_identities WHERE source = ? AND %s`, "local_id", []any{source}, locals,
			func(s scanner) error {
				var local string
				var pid int64
				if err := s.Scan(&local, &pid); err != nil {
					return err
				}
				a.persons[identityKey{source, local}] = pid
				return nil
			})
		if err != nil {
			return classify(err, "finding people by source identity")
		}
	}
	for k := range asked {
		if _, ok := a.persons[k]; !ok {
			if a.unnamed == nil {
				a.unnamed = map[identityKey]bool{}
			}
			a.unnamed[k] = true
		}
	}

	// Next ids, per table, for the people found that have rows there.
	for _, t := range refTables {
		var pids []int64
		want := map[int64]bool{}
		for i := range items {
			if t.count(&items[i].Rows) == 0 {
				continue
			}
			pid, ok := a.persons[identityKey{items[i].Source, items[i].Subject}]
			if !ok || want[pid] {
				continue
			}
			if _, ok := a.nextID[personTable{t.name, pid}]; ok {
				continue
			}
			want[pid] = true
			pids = append(pids, pid)
		}
		if len(pids) == 0 {
			continue
		}
		err := lookup(ctx, a, `SELECT person_id, MAX(id) FROM `+t.name+` WHERE %s GROUP BY person_id`, "person_id", nil, pids,
			func(s scanner) error {
				var pid, top int64
				if err := s.Scan(&pid, &top); err != nil {
					return err
				}
				a.nextID[personTable{t.name, pid}] = top + 1
				return nil
			})
		if err != nil {
			return classify(err, "numbering "+t.name+" rows")
		}
		for _, pid := range pids {
			if _, ok := a.nextID[personTable{t.name, pid}]; !ok {
				a.nextID[personTable{t.name, pid}] = 1 // no rows yet
			}
		}
	}
	return nil
}

// replace notes that a stored row is to be replaced by one of this call's.
func (a *applier) replace(table string, r rowID) {
	if a.replaced == nil {
		a.replaced = map[string][]rowID{}
	}
	a.replaced[table] = append(a.replaced[table], r)
}

// deleteReplaced deletes the rows replace noted: on PostgreSQL one
// statement a table, the keys travelling as two arrays; on SQLite a
// compiled DELETE a row, which costs no round trip.
func (a *applier) deleteReplaced(ctx context.Context) error {
	for _, t := range refTables {
		rows := a.replaced[t.name]
		if len(rows) == 0 {
			continue
		}
		if a.db.d.postgres {
			persons, ids := make([]int64, len(rows)), make([]int64, len(rows))
			for i, r := range rows {
				persons[i], ids[i] = r.person, r.id
			}
			if _, err := a.tx.ExecContext(ctx, `DELETE FROM `+t.name+` AS t USING unnest($1::bigint[], $2::bigint[]) AS d (person_id, id)
				WHERE t.person_id = d.person_id AND t.id = d.id`, persons, ids); err != nil {
				return classify(err, "replacing "+t.name+" rows")
			}
		} else {
			for _, r := range rows {
				if _, err := a.tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE person_id = ? AND id = ?`, r.person, r.id); err != nil {
					return classify(err, "replacing a "+t.name+" row")
				}
			}
		}
		delete(a.replaced, t.name)
	}
	return nil
}

// born is what an ApplyItems call has decided to create and not yet
// written: new people (their golden record, their source record) and the
// source identities recorded for anyone. Writing them one by one cost a
// person several round trips on PostgreSQL (1,100 new people/s); held
// here, they go in with one COPY a table, and their ids come from one
// block of the counter.
type born struct {
	// next to end is the block of person ids reserved and not yet used.
	next, end int64
	// want is how many ids the first reservation takes: as many people
	// as the call can create (see mayCreate).
	want int

	people, sources, identities [][]any
	sourceAt                    map[identityKey]int // index in sources
	unwritten                   map[int64]bool
	// byNHS lists the unwritten people by verified NHS number, for resolve.
	byNHS map[string][]int64
}

var (
	peopleCols = []string{"person_id", "nhs_number", "nhs_number_status", "given_name", "family_name",
		"birth_date", "sex", "postcode", "imd_decile", "ethnicity", "practice_id", "date_of_death", "source", "received_at"}
	// personSourceColList is personSourceCols, in personSourceArgs order.
	personSourceColList = []string{"person_id", "source", "local_id", "nhs_number", "nhs_number_status", "given_name", "family_name",
		"birth_date", "sex", "postcode", "imd_decile", "ethnicity", "practice_id", "date_of_death", "received_at"}
	identityCols = []string{"person_id", "source", "local_id", "provenance", "received_at"}
)

// add keeps a new person's people row, g being their golden record.
func (b *born) add(pid int64, row []any, g *registry.Person) {
	if b.unwritten == nil {
		b.unwritten, b.byNHS, b.sourceAt = map[int64]bool{}, map[string][]int64{}, map[identityKey]int{}
	}
	b.people = append(b.people, row)
	b.unwritten[pid] = true
	if g.NHSNumber != "" && g.NHSNumberStatus == registry.NHSVerified {
		b.byNHS[g.NHSNumber] = append(b.byNHS[g.NHSNumber], pid)
	}
}

// putSource keeps the latest record key sent about an unwritten person.
func (b *born) putSource(key identityKey, row []any) {
	if i, ok := b.sourceAt[key]; ok {
		b.sources[i] = row
		return
	}
	b.sourceAt[key] = len(b.sources)
	b.sources = append(b.sources, row)
}

// mayCreate counts the people items can create: the distinct identities
// with demographics that no stored identity names. It bounds the block of
// ids personID reserves.
func (a *applier) mayCreate(items []ingest.Item) int {
	seen := map[identityKey]bool{}
	for i := range items {
		k := identityKey{items[i].Source, items[i].Subject}
		if items[i].Person == nil || seen[k] {
			continue
		}
		if _, ok := a.persons[k]; !ok {
			seen[k] = true
		}
	}
	return len(seen)
}

// personID hands out the next id of the reserved block, reserving the
// block on first use. The counter's row stays locked by this transaction
// until it ends, so the block is the call's alone and releaseIDs can give
// back what was not used.
func (a *applier) personID(ctx context.Context) (int64, error) {
	b := &a.born
	if b.next == b.end {
		n := int64(max(b.want, 1))
		b.want = 0
		var end int64
		if err := a.tx.QueryRowContext(ctx, a.db.d.rebind(`UPDATE id_counters SET next = next + ? WHERE name = 'person' RETURNING next`), n).Scan(&end); err != nil {
			return 0, classify(err, "reserving person ids")
		}
		b.next, b.end = end-n, end
	}
	b.next++
	return b.next - 1, nil
}

// releaseIDs returns the unused end of the block to the counter, so that
// ids stay dense: an identity found by NHS number or linkage, or an item
// refused, creates nobody.
func (a *applier) releaseIDs(ctx context.Context) error {
	b := &a.born
	if b.next == b.end {
		return nil
	}
	if _, err := a.tx.ExecContext(ctx, a.db.d.rebind(`UPDATE id_counters SET next = ? WHERE name = 'person'`), b.next); err != nil {
		return classify(err, "releasing person ids")
	}
	b.end = b.next
	return nil
}

// writeBorn writes what born holds: people first, for the foreign keys.
func (a *applier) writeBorn(ctx context.Context) error {
	b := &a.born
	d := a.db.d
	if err := d.insertRows(ctx, a.conn, a.tx, "people", peopleCols, b.people); err != nil {
		return err
	}
	if err := d.insertRows(ctx, a.conn, a.tx, "person_sources", personSourceColList, b.sources); err != nil {
		return err
	}
	if err := d.insertRows(ctx, a.conn, a.tx, "source_identities", identityCols, b.identities); err != nil {
		return err
	}
	b.people, b.sources, b.identities = b.people[:0], b.sources[:0], b.identities[:0]
	clear(b.sourceAt)
	clear(b.unwritten)
	clear(b.byNHS)
	return nil
}

// prefetchNHS finds the surviving people with the verified NHS numbers
// of the items no stored identity names, one query a chunk, for resolve.
func (a *applier) prefetchNHS(ctx context.Context, items []ingest.Item) error {
	var numbers []string
	asked := map[string]bool{}
	for i := range items {
		p := items[i].Person
		if p == nil || p.NHSNumberStatus != registry.NHSVerified || p.NHSNumber == "" || asked[p.NHSNumber] {
			continue
		}
		if _, ok := a.persons[identityKey{items[i].Source, items[i].Subject}]; ok {
			continue
		}
		asked[p.NHSNumber] = true
		numbers = append(numbers, p.NHSNumber)
	}
	a.nhs = map[string][]int64{}
	// As in findByNHS, "nhs_number <> ''" is for the partial index.
	err := lookup(ctx, a, `SELECT nhs_number, person_id FROM people WHERE nhs_number <> '' AND nhs_number_status = 'verified'
		AND merged_into IS NULL AND %s`, "nhs_number", nil, numbers, func(s scanner) error {
		var nhs string
		var pid int64
		if err := s.Scan(&nhs, &pid); err != nil {
			return err
		}
		if len(a.nhs[nhs]) < 2 { // two are as ambiguous as more
			a.nhs[nhs] = append(a.nhs[nhs], pid)
		}
		return nil
	})
	return classify(err, "finding people by NHS number")
}
