package fhir

import (
	"strconv"
	"strings"
)

// Resource ids are derived from Wholecare keys so that exporting the same
// data twice gives the same ids, and an importer can map them back. Person-
// owned rows are keyed by (person, row) in the record, so their ids carry
// both; the prefixes keep ids distinct even across types.

func patientID(person int64) string { return "p" + strconv.FormatInt(person, 10) }

func personRowID(prefix string, person, row int64) string {
	return prefix + strconv.FormatInt(person, 10) + "-" + strconv.FormatInt(row, 10)
}

func encounterID(person, enc int64) string { return personRowID("e", person, enc) }

func organizationID(ods string) string { return safeID("", ods) }

func practitionerID(id int64) string     { return "pr" + strconv.FormatInt(id, 10) }
func practitionerRoleID(id int64) string { return "prr" + strconv.FormatInt(id, 10) }
func careTeamID(id int64) string         { return "ct" + strconv.FormatInt(id, 10) }

// careTeamLinkID names a person's placement under a team; n tells apart
// several placements of the same person under the same team.
func careTeamLinkID(person, team int64, n int) string {
	return "ctp" + strconv.FormatInt(person, 10) + "-" + strconv.FormatInt(team, 10) + "-" + strconv.Itoa(n)
}

func ref(typ, id string) Reference { return Reference{Reference: typ + "/" + id} }

func patientRef(person int64) Reference { return ref(TypePatient, patientID(person)) }

func orgRef(ods string) Reference {
	if ods == "" {
		return Reference{}
	}
	return ref(TypeOrganization, organizationID(ods))
}

func encounterRef(person, enc int64) Reference {
	if enc == 0 {
		return Reference{}
	}
	return ref(TypeEncounter, encounterID(person, enc))
}

// ParseCareTeamLinkID reads the id of a person's CareTeam placement,
// "ctp{person}-{team}-{n}".
func ParseCareTeamLinkID(id string) (person int64, ok bool) {
	rest, found := strings.CutPrefix(id, "ctp")
	if !found {
		return 0, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 {
		return 0, false
	}
	person, ok1 := positive(parts[0], true)
	_, ok2 := positive(parts[1], true)
	n, err := strconv.Atoi(parts[2])
	return person, ok1 && ok2 && err == nil && n >= 0 && strconv.Itoa(n) == parts[2]
}
