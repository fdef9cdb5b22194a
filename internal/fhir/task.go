package fhir

import (
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/alerts"
)

// Resource types of alerts.
const (
	TypeTask = "Task"
	TypeFlag = "Flag"
)

// Code systems of Flag.
const CSFlagCategory = "http://terminology.hl7.org/CodeSystem/flag-category"

// TaskID and FlagID are the resource ids of an alert: the person and the
// alert, so that a read is checked against the person first.
func TaskID(person, alert int64) string { return personRowID("tk", person, alert) }

// FlagID is the id of the Flag an open urgent or high alert shows as.
func FlagID(person, alert int64) string { return personRowID("fl", person, alert) }

// ParseTaskID reads a Task id.
func ParseTaskID(id string) (person, alert int64, ok bool) { return parsePair("tk", id) }

// ParseFlagID reads a Flag id.
func ParseFlagID(id string) (person, alert int64, ok bool) { return parsePair("fl", id) }

// Task is an R4 Task with the elements an alert fills.
type Task struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Meta         *VersionedMeta   `json:"meta,omitempty"`
	Identifier   []Identifier     `json:"identifier,omitempty"`
	Status       string           `json:"status"`
	StatusReason *CodeableConcept `json:"statusReason,omitempty"`
	BusinessStat *CodeableConcept `json:"businessStatus,omitempty"`
	Intent       string           `json:"intent"`
	Priority     string           `json:"priority,omitempty"`
	Code         *CodeableConcept `json:"code,omitempty"`
	Description  string           `json:"description,omitempty"`
	For          Reference        `json:"for"`
	AuthoredOn   string           `json:"authoredOn,omitempty"`
	LastModified string           `json:"lastModified,omitempty"`
	Owner        *Reference       `json:"owner,omitempty"`
	ReasonCode   *CodeableConcept `json:"reasonCode,omitempty"`
	Note         []Annotation     `json:"note,omitempty"`
	Restriction  *TaskRestriction `json:"restriction,omitempty"`
}

// TaskRestriction carries the due time.
type TaskRestriction struct {
	Period Period `json:"period"`
}

func taskStatus(s alerts.Status) string {
	switch s {
	case alerts.Acknowledged:
		return "accepted"
	case alerts.InProgress:
		return "in-progress"
	case alerts.Snoozed:
		return "on-hold"
	case alerts.Done:
		return "completed"
	case alerts.Dismissed:
		return "cancelled"
	}
	return "requested"
}

func taskPriority(p alerts.Priority) string {
	switch p {
	case alerts.Urgent:
		return "asap"
	case alerts.High:
		return "urgent"
	}
	return "routine"
}

func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// TaskOf maps an alert.
func TaskOf(a alerts.Alert) Task {
	t := Task{ResourceType: TypeTask, ID: TaskID(a.PersonID, a.ID), Meta: &VersionedMeta{VersionID: strconv.Itoa(a.Version)},
		Identifier: []Identifier{{System: wholecareBase + "alert-key", Value: a.Rule + "/" + a.Key}},
		Status:     taskStatus(a.Status), BusinessStat: &CodeableConcept{Text: string(a.Status)}, Intent: "order",
		Priority: taskPriority(a.Priority), Code: &CodeableConcept{Text: a.Title}, Description: a.Reason,
		For: Reference{Reference: "Patient/" + patientID(a.PersonID)}, AuthoredOn: instant(a.CreatedAt), LastModified: instant(a.UpdatedAt),
		ReasonCode: &CodeableConcept{Text: "rule " + a.Rule + " version " + strconv.Itoa(a.RuleVer)}}
	switch {
	case a.AssigneeID != 0:
		t.Owner = &Reference{Reference: "Practitioner/" + practitionerID(a.AssigneeID)}
	case a.TeamID != 0:
		t.Owner = &Reference{Reference: "CareTeam/" + careTeamID(a.TeamID)}
	}
	if !a.Due.IsZero() {
		t.Restriction = &TaskRestriction{Period: Period{End: instant(a.Due)}}
	}
	for _, c := range a.Causes {
		t.Note = append(t.Note, Annotation{Text: strings.TrimSpace("Caused by " + c.Kind + " " + c.Ref + ": " + c.What)})
	}
	if !a.EscalatedAt.IsZero() {
		t.Note = append(t.Note, Annotation{Text: "Escalated " + instant(a.EscalatedAt) + ": not acknowledged in time"})
	}
	if !a.SnoozedUntil.IsZero() {
		t.StatusReason = &CodeableConcept{Text: "snoozed until " + a.SnoozedUntil.Format(time.DateOnly)}
	}
	return t
}

// Flag is an R4 Flag.
type Flag struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	Category     []CodeableConcept `json:"category,omitempty"`
	Code         CodeableConcept   `json:"code"`
	Subject      Reference         `json:"subject"`
	Period       *Period           `json:"period,omitempty"`
	Author       *Reference        `json:"author,omitempty"`
}

// FlagOf maps an urgent or high-priority alert to a Flag: active while the
// alert is not closed.
func FlagOf(a alerts.Alert) Flag {
	f := Flag{ResourceType: TypeFlag, ID: FlagID(a.PersonID, a.ID), Status: "active",
		Category: []CodeableConcept{{Coding: []Coding{{System: CSFlagCategory, Code: "admin", Display: "Administrative"}}}},
		Code:     CodeableConcept{Text: a.Title + ": " + a.Reason}, Subject: Reference{Reference: "Patient/" + patientID(a.PersonID)},
		Period: &Period{Start: instant(a.CreatedAt)}}
	if a.Status.Closed() {
		f.Status = "inactive"
		f.Period.End = instant(a.UpdatedAt)
	}
	if a.TeamID != 0 {
		f.Author = &Reference{Reference: "CareTeam/" + careTeamID(a.TeamID)}
	}
	return f
}
