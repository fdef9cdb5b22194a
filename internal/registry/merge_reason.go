package registry

// MergeReason says why two people were merged into one.
type MergeReason string

const (
	MergeLinkageConfirmed MergeReason = "linkage-confirmed"
	MergeSource           MergeReason = "source-merge"
	MergeManual           MergeReason = "manual"
)
