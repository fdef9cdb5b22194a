// Package segment places each person in the population segments care
// teams plan by: the Kaiser Permanente pyramid (levels 1–3, with level 0
// for people with no long-term condition), Bridges to Health (eight
// segments) and the North West London whole-systems groups (fifteen, one
// per person by most severe need). SPECS.md §4 gives the segments and the
// shares to expect; it does not give assignment rules, so the rules here are
// ours, written as ordered tables so that each can be read, tested and
// changed in one place, and every assignment says which rule placed the
// person.
//
// The package reads Facts, a small summary of one person's record on one
// day, built by Reader.FactsOf from the same record the risk scores read,
// or by Reader.FactsAt from the record's marks (Reader.AppendMarks), which
// the population engine keeps instead of the record; the two agree for
// rows dated to the second. It never imports database, HTTP or UI packages
// and never logs person data.
package segment
