// Package population is the in-memory population engine: a derived,
// columnar projection of the whole population that makes cohort counts
// instant on one small machine. It holds one dense row per person (birth
// date, sex, practice, deprivation decile, death date, Kaiser level,
// Bridges to Health segment, NW London group and risk band), one bitmap
// per concept, and a compact event timeline per person
// (concept, day, value) for windowed facts such as "two emergency
// admissions in the last 12 months" or "latest HbA1c in 15 months ≤ 58".
// Beside the events it keeps each person's marks (risk.Mark): the few
// facts, dated to the second, that the eFI, the Charlson index, the
// segment rules and the risk model's features read, so that Recompute
// places everyone again on any day from memory alone, on every core, with
// the same results as the record-based functions.
//
// The engine is built from the store (Build, streaming whole people through
// a keyset walk, with progress) and kept current one person at a time
// (Update, Refresh, Remove); Recompute re-places everyone on a new day. Cohorts are typed expressions (Expr) or their
// text form (Parse), evaluated to bitmaps (Eval), counted and broken down by
// a dimension (Breakdown).
//
// The engine is never the record of truth: it can always be rebuilt from
// the store. It must never import database, HTTP or UI packages, holds no
// package-level mutable state, and never logs person data (it does not log
// at all).
package population
