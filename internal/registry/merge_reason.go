package registry

// MergeReason says why two people were merged into one.
type MergeReason string

const (
	MergeLinkageConfirmed MergeReason = "linkage-confirmed" // a reviewer confirmed a linkage pair
	MergeSource           MergeReason = "source-merge"      // a source merged two of its identities (HL7 v2 A40)
	MergeManual           MergeReason = "manual"            // a user merged two records by hand
)
