// Package access is the one place Wholecare decides whether a caller may
// see or change a person's data: role permission, a legitimate
// relationship with the person (their care team, their registered
// practice, the person themselves or their authorised carer), and the
// person's consent for that organisation and purpose — or break-glass with
// a typed reason, time-limited and flagged for a privacy officer's review.
// Every decision about a person is written to the audit log before the
// data leaves. System clients are governed by their token's scopes.
//
// It is a domain package: it must never import database, HTTP or UI
// packages, and every door (JSON API, FHIR API, pages, exports) must call
// it rather than decide for itself.
package access

import "github.com/wholecare/wholecare/internal/auth"

// Permission is something a role may do.
type Permission string

const (
	ReadRecord       Permission = "record.read"     // a person's demographics and record
	WriteRecord      Permission = "record.write"    // add to or change a person's record, plan, alerts
	ReadConsent      Permission = "consent.read"    // a person's consent records
	WriteConsent     Permission = "consent.write"   // record or withdraw consent
	BreakGlass       Permission = "break-glass"     // emergency access without a relationship or consent
	ReadAccessLog    Permission = "access-log.read" // who looked at a person's record (the person, their carer)
	ReadAudit        Permission = "audit.read"      // the whole audit log (privacy officer)
	ReviewBreakGlass Permission = "break-glass.review"
	ManageUsers      Permission = "users.manage"
	ReadAggregates   Permission = "aggregates.read" // population counts, small numbers suppressed
	// ReviewLinkage is deciding whether two registry records are one
	// person: it shows both people's demographics to someone with no care
	// relationship to either, and a confirmation merges them. That is the
	// records management of the registry, not care, so it belongs to
	// administrators (who look after data sources), and every look and
	// decision is audited against both people.
	ReviewLinkage Permission = "registry.review"
	// MergeRecords is merging two registry records found to be one person,
	// and undoing such a merge. It changes what everyone sees of both
	// people, so it is held by those accountable for the registry's
	// quality rather than by every clinician: the administrator (data
	// sources), team leads, and care coordinators, who meet duplicates
	// while assembling a person's summary. It is not about one person's
	// care, so it needs no relationship; every use is audited.
	MergeRecords Permission = "registry.merge"
	// ReadProtocols is reading the care protocol library: guidance, not
	// person data, for everyone who plans care and those who oversee it.
	ReadProtocols Permission = "protocol.read"
	// ManageProtocols is adding protocols and revising them (a revision is
	// a new version; old versions stay readable).
	ManageProtocols Permission = "protocol.manage"

	// Personalised care and support plans. Reading a plan shows its
	// content when the person's consent allows, and only that it exists,
	// who coordinates it and how to reach them when it does not (see
	// CheckExistence). Writing changes goals, actions and the rest;
	// agreeing records one party's agreement to the current content (the
	// person, their named representative, or the responsible
	// professional). A service user writes their own About Me.
	ReadCarePlan  Permission = "careplan.read"
	WriteCarePlan Permission = "careplan.write"
	AgreeCarePlan Permission = "careplan.agree"
	WriteAboutMe  Permission = "careplan.about-me"
)

// personal is the set of permissions that are about one person's data and
// so need a relationship and consent as well.
var personal = map[Permission]bool{ReadRecord: true, WriteRecord: true, ReadConsent: true, WriteConsent: true, ReadAccessLog: true,
	ReadCarePlan: true, WriteCarePlan: true, AgreeCarePlan: true, WriteAboutMe: true}

// writes are the personal permissions that change data: a token needs a
// write scope for them.
var writes = map[Permission]bool{WriteRecord: true, WriteConsent: true, WriteCarePlan: true, AgreeCarePlan: true, WriteAboutMe: true}

// permissions is the permission table: what each role may do at all.
// Whether it may do it for a given person is decided by Decide.
var permissions = map[auth.Role][]Permission{
	auth.ServiceUser: {ReadRecord, ReadConsent, WriteConsent, ReadAccessLog, ReadCarePlan, AgreeCarePlan, WriteAboutMe},
	// A carer agrees a plan only as the representative the plan names
	// (careplan checks); they read it through their relationship.
	auth.Carer:           {ReadRecord, ReadConsent, ReadAccessLog, ReadCarePlan, AgreeCarePlan},
	auth.CareCoordinator: {ReadRecord, WriteRecord, ReadConsent, WriteConsent, BreakGlass, MergeRecords, ReadCarePlan, WriteCarePlan, AgreeCarePlan, WriteAboutMe, ReadProtocols},
	auth.Clinician:       {ReadRecord, WriteRecord, ReadConsent, WriteConsent, BreakGlass, ReadCarePlan, WriteCarePlan, AgreeCarePlan, WriteAboutMe, ReadProtocols},
	auth.SocialCare:      {ReadRecord, WriteRecord, ReadConsent, WriteConsent, BreakGlass, ReadCarePlan, WriteCarePlan, AgreeCarePlan, WriteAboutMe, ReadProtocols},
	auth.TeamLead:        {ReadRecord, WriteRecord, ReadConsent, WriteConsent, BreakGlass, ReadAggregates, MergeRecords, ReadCarePlan, WriteCarePlan, AgreeCarePlan, WriteAboutMe, ReadProtocols},
	auth.ProviderManager: {ReadAggregates, ReadProtocols},
	auth.Commissioner:    {ReadAggregates, ReadProtocols},
	auth.Analyst:         {ReadAggregates},
	auth.Administrator:   {ReadAudit, ReviewBreakGlass, ManageUsers, ReviewLinkage, MergeRecords, ReadProtocols, ManageProtocols},
	auth.SystemClient:    {ReadRecord, WriteRecord, ReadConsent, ReadCarePlan, ReadProtocols}, // narrowed by the token's scopes
}

// Has reports whether role has permission p.
func Has(role auth.Role, p Permission) bool {
	for _, q := range permissions[role] {
		if q == p {
			return true
		}
	}
	return false
}

// Permissions lists what role may do, for display.
func Permissions(role auth.Role) []Permission { return append([]Permission(nil), permissions[role]...) }

// Pseudonymised reports whether role sees only pseudonymised data with
// small numbers suppressed (analysts).
func Pseudonymised(role auth.Role) bool { return role == auth.Analyst }

// SmallNumber is the threshold below which counts are suppressed in any
// aggregate shown to a pseudonymised role or exported.
const SmallNumber = 5

// Suppress returns n, or ok=false when n must not be shown (0 < n < 5).
// Zero is shown: an empty cell identifies no one.
func Suppress(n int64) (int64, bool) {
	if n > 0 && n < SmallNumber {
		return 0, false
	}
	return n, true
}
