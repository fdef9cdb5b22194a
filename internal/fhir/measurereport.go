package fhir

import (
	"strconv"
	"time"

	"github.com/wholecare/wholecare/internal/caregaps"
)

// TypeMeasureReport is the resource type of care-gap reports.
const TypeMeasureReport = "MeasureReport"

// Code systems of MeasureReport.
const (
	CSMeasurePopulation = "http://terminology.hl7.org/CodeSystem/measure-population"
	// MeasureURLBase is the canonical URL stem of Wholecare's care-gap
	// indicators: MeasureURLBase + indicator id.
	MeasureURLBase = "urn:wholecare:measure:"
	// ExtGapStatus carries a person's status on an indicator (met, gap,
	// excepted) on an individual report.
	ExtGapStatus = "https://wholecare.example/fhir/StructureDefinition/care-gap-status"
	// ExtStratum names the group of a breakdown (a practice's ODS code).
	ExtStratum = "https://wholecare.example/fhir/StructureDefinition/stratum"
)

// MeasureReport is an R4 MeasureReport with the elements care gaps fill.
type MeasureReport struct {
	ResourceType string               `json:"resourceType"`
	Extension    []Extension          `json:"extension,omitempty"`
	Status       string               `json:"status"`
	Type         string               `json:"type"`
	Measure      string               `json:"measure"`
	Subject      *Reference           `json:"subject,omitempty"`
	Date         string               `json:"date"`
	Period       Period               `json:"period"`
	Group        []MeasureReportGroup `json:"group"`
}

// MeasureReportGroup is MeasureReport.group.
type MeasureReportGroup struct {
	Extension    []Extension               `json:"extension,omitempty"`
	Code         *CodeableConcept          `json:"code,omitempty"`
	Population   []MeasureReportPopulation `json:"population"`
	MeasureScore *Quantity                 `json:"measureScore,omitempty"`
}

// MeasureReportPopulation is MeasureReport.group.population.
type MeasureReportPopulation struct {
	Code  CodeableConcept `json:"code"`
	Count int             `json:"count"`
}

func popCode(code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: CSMeasurePopulation, Code: code, Display: display}}}
}

// Suppressor hides small counts: it returns the count to show, or ok
// false to leave the population out.
type Suppressor func(n int) (int, bool)

func groupOf(c caregaps.Counts, suppress Suppressor) MeasureReportGroup {
	g := MeasureReportGroup{}
	hidden := false
	add := func(code, display string, n int) {
		if suppress != nil {
			v, ok := suppress(n)
			if !ok {
				hidden = true
				return
			}
			n = v
		}
		g.Population = append(g.Population, MeasureReportPopulation{Code: popCode(code, display), Count: n})
	}
	add("denominator", "Denominator", c.Eligible)
	add("numerator", "Numerator", c.Met)
	add("denominator-exception", "Denominator Exception", c.Excepted)
	if pct, ok := c.Achievement(); ok && !hidden {
		if d, err := ParseDecimal(strconv.FormatFloat(pct/100, 'f', 4, 64)); err == nil {
			g.MeasureScore = &Quantity{Value: d, Unit: "proportion"}
		}
	}
	return g
}

func periodOf(asOf time.Time) Period {
	return Period{Start: Date(asOf.AddDate(-1, 0, 1)), End: Date(asOf)}
}

// SummaryMeasureReport is one indicator over a population on asOf, with
// a group per stratum when the report was broken down. Counts suppress
// hides (nil shows every count).
func SummaryMeasureReport(r caregaps.Report, asOf, now time.Time, suppress Suppressor) MeasureReport {
	mr := MeasureReport{ResourceType: TypeMeasureReport, Status: "complete", Type: "summary", Measure: MeasureURLBase + r.ID,
		Date: now.UTC().Format(time.RFC3339), Period: periodOf(asOf)}
	all := groupOf(r.Counts, suppress)
	all.Code = &CodeableConcept{Text: r.Title}
	mr.Group = append(mr.Group, all)
	for _, g := range r.Groups {
		sg := groupOf(g.Counts, suppress)
		sg.Code = &CodeableConcept{Text: r.ID + " " + g.Key}
		sg.Extension = []Extension{{URL: ExtStratum, ValueString: g.Key}}
		mr.Group = append(mr.Group, sg)
	}
	return mr
}

// IndividualMeasureReport is one person's standing on one indicator.
func IndividualMeasureReport(g caregaps.PersonGap, personID int64, asOf, now time.Time) MeasureReport {
	c := caregaps.Counts{Eligible: 1}
	switch g.Status {
	case caregaps.Met:
		c.Met = 1
	case caregaps.Excepted:
		c.Excepted = 1
	}
	grp := groupOf(c, nil)
	grp.Code = &CodeableConcept{Text: g.Title}
	ref := Reference{Reference: "Patient/" + ResourceID(TypePatient, personID, 0)}
	return MeasureReport{ResourceType: TypeMeasureReport, Status: "complete", Type: "individual", Measure: MeasureURLBase + g.ID,
		Subject: &ref, Date: now.UTC().Format(time.RFC3339), Period: periodOf(asOf), Group: []MeasureReportGroup{grp},
		Extension: []Extension{{URL: ExtGapStatus, ValueCoding: &Coding{System: ExtGapStatus, Code: string(g.Status)}}}}
}
