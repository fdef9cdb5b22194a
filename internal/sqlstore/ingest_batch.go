package sqlstore

import (
	"context"
	"strings"

	"github.com/wholecare/wholecare/internal/ingest"
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
// on every row. The query varies in length on SQLite, so it bypasses the
// statement cache.
func lookup[K string | int64](ctx context.Context, a *applier, query, col string, lead []any, keys []K, scan func(scanner) error) error {
	for len(keys) > 0 {
		n := min(len(keys), a.db.d.lookupChunk())
		cond, args := inKeys(a.db.d, col, keys[:n])
		keys = keys[n:]
		rows, err := a.tx.Tx.QueryContext(ctx, a.db.d.rebind(strings.Replace(query, "%s", cond, 1)), append(lead[:len(lead):len(lead)], args...)...)
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
