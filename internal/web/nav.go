package web

import (
	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/auth"
)

// NavItem is one entry of the navigation bar.
type NavItem struct {
	Label   string
	Href    string
	Current bool
}

// Section names a part of the application, for navigation.
type Section string

const (
	SecWorklist   Section = "worklist"
	SecPeople     Section = "people"
	SecCaseFind   Section = "case-finding"
	SecHuddles    Section = "huddles"
	SecDashboard  Section = "dashboard"
	SecLinkage    Section = "linkage"
	SecAdmin      Section = "admin"
	SecJobs       Section = "jobs"
	SecMyRecord   Section = "me"
	SecMyPlan     Section = "my-plan"
	SecMyAccesses Section = "my-access-log"
)

// careRoles work with people directly: they have worklists, find people
// and plan their care.
func careRole(r auth.Role) bool {
	return access.Has(r, access.WriteCarePlan)
}

// Nav is the navigation for a role: only what the role can use, so no one
// is shown a door that will refuse them.
func Nav(role auth.Role, current Section) []NavItem {
	var items []NavItem
	add := func(s Section, label, href string) {
		items = append(items, NavItem{Label: label, Href: href, Current: s == current})
	}
	switch {
	case role == auth.ServiceUser || role == auth.Carer:
		who := "My"
		if role == auth.Carer {
			who = "Their"
		}
		add(SecMyRecord, who+" record", "/me")
		add(SecMyPlan, who+" care plan", "/me/plan")
		add(SecMyAccesses, "Who has seen it", "/me/access-log")
		return items
	case careRole(role):
		add(SecWorklist, "Worklist", "/worklist")
		add(SecPeople, "Find a person", "/people")
		add(SecCaseFind, "Case finding", "/case-finding")
		add(SecHuddles, "Huddles", "/huddles")
	}
	if access.Has(role, access.ReadAggregates) {
		add(SecDashboard, "Population", "/dashboard")
	}
	if access.Has(role, access.ReviewLinkage) {
		add(SecLinkage, "Record linkage", "/linkage")
	}
	if access.Has(role, access.ManageUsers) || access.Has(role, access.ManageProtocols) {
		add(SecAdmin, "Administration", "/admin")
	}
	if access.Has(role, access.ManageUsers) || access.Has(role, access.ReadAggregates) {
		add(SecJobs, "Jobs", "/jobs")
	}
	return items
}

// Home is where a role lands after signing in.
func Home(role auth.Role) string {
	switch {
	case role == auth.ServiceUser || role == auth.Carer:
		return "/me"
	case careRole(role):
		return "/worklist"
	case access.Has(role, access.ReadAggregates):
		return "/dashboard"
	case access.Has(role, access.ManageUsers):
		return "/admin"
	}
	return "/account"
}

// RoleLabel is a role in plain English.
func RoleLabel(r auth.Role) string {
	switch r {
	case auth.ServiceUser:
		return "Service user"
	case auth.Carer:
		return "Carer"
	case auth.CareCoordinator:
		return "Care coordinator"
	case auth.Clinician:
		return "Clinician"
	case auth.SocialCare:
		return "Social care practitioner"
	case auth.TeamLead:
		return "Team lead"
	case auth.ProviderManager:
		return "Provider manager"
	case auth.Commissioner:
		return "Commissioner"
	case auth.Analyst:
		return "Analyst"
	case auth.Administrator:
		return "Administrator"
	}
	return string(r)
}
