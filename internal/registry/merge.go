package registry

import (
	"log/slog"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Merge records that a retired person was found to be the same as a
// survivor. A merge is logical: nothing of the retired person is moved or
// deleted. The retired person points at the survivor, readers follow the
// pointer, and an unmerge removes the pointer, so it is exact.
type Merge struct {
	ID            int64
	Survivor      int64
	Retired       int64
	Reason        MergeReason
	DecidedBy     string // a user name, or the source for a source merge
	MergedAt      time.Time
	UnmergedAt    time.Time // zero while the merge stands
	UnmergedBy    string
	UnmergeReason string
}

// Active reports whether the merge still stands.
func (m Merge) Active() bool { return m.UnmergedAt.IsZero() }

// LogValue logs the merge's ids only; the unmerge reason is free text.
func (m Merge) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("merge", m.ID), slog.Int64("survivor", m.Survivor), slog.Int64("retired", m.Retired))
}

// Cluster is one person as the registry sees them: the survivor and every
// person merged into it, directly or through another merge.
type Cluster struct {
	Survivor int64
	Members  []int64 // ascending, the survivor included
}

// CheckMergeReason refuses a reason that is not one of the three kinds.
func CheckMergeReason(r MergeReason) error {
	switch r {
	case MergeLinkageConfirmed, MergeSource, MergeManual:
		return nil
	}
	return apperr.Ef(apperr.Invalid, "registry: merge reason %q is not one of linkage-confirmed, source-merge, manual", string(r))
}

// MergeState is what the rules need to know of one person.
type MergeState struct {
	ID         int64
	MergedInto int64 // 0 for a survivor (or a person never merged)
}

// CheckMerge applies the rules for merging retired into survivor: not a
// person into themselves, not into a person who is retired (the caller
// is told the survivor to use), not a person already retired. Because
// both must be survivors, no merge can close a cycle.
func CheckMerge(survivor, retired MergeState) error {
	switch {
	case survivor.ID == retired.ID:
		return apperr.Ef(apperr.Invalid, "registry: person %d cannot be merged into themselves", survivor.ID)
	case survivor.MergedInto != 0:
		return apperr.Ef(apperr.Conflict, "registry: person %d was merged into person %d: merge into %d instead", survivor.ID, survivor.MergedInto, survivor.MergedInto)
	case retired.MergedInto == survivor.ID:
		return apperr.Ef(apperr.Conflict, "registry: person %d is already merged into person %d", retired.ID, survivor.ID)
	case retired.MergedInto != 0:
		return apperr.Ef(apperr.Conflict, "registry: person %d is already merged into person %d: unmerge that first", retired.ID, retired.MergedInto)
	}
	return nil
}
