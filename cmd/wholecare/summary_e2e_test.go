package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/hl7v2"
	"github.com/wholecare/wholecare/internal/hl7v2/mllp"
	"github.com/wholecare/wholecare/internal/summary"
)

// pid builds a PID segment from field number → value.
func pid(f map[int]string) string {
	fields := make([]string, 33)
	fields[0] = "PID"
	for n, v := range f {
		fields[n] = v
	}
	return strings.Join(fields, "|")
}

// TestSummaryFromThreeSources assembles one person from a GP practice's
// FHIR bundle, a hospital's ADT feed over MLLP and a community service's
// CSV caseload, each under its own identifier, linked by the verified NHS
// number; the summary served over HTTP shows what each source sent.
func TestSummaryFromThreeSources(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "three.db")
	e := envOf(map[string]string{"WHOLECARE_DB": db})

	// 1. The GP record: the person, two conditions, readings, a medicine.
	if out, stderr, err := runCmd(t, e, "import", "--source", "fhir:gp-emis", filepath.Join("testdata", "summary", "gp-bundle.json")); err != nil {
		t.Fatalf("import GP bundle: %v\n%s\n%s", err, out, stderr)
	}

	// 2. The hospital: an emergency admission and its discharge, over a
	// real MLLP socket, under the hospital's own number.
	base, out := startServing(t, e, "serve", "--addr", "127.0.0.1:0", "--mllp-addr", "127.0.0.1:0")
	conn := dialMLLP(t, out)
	rd := mllp.NewReader(conn, 1<<20)
	hospPID := pid(map[int]string{1: "1", 3: "RX1234567^^^RTEST^MR~9434765919^^^NHS^NH", 5: "EXAMPLE^ALEX", 7: "19480714", 8: "F",
		11: "2 CLIFF ROAD^^LEEDS^^LS6 2QB", 32: "01"})
	pd1 := "PD1|||PARK SURGERY^^B86001"
	visit := map[int]string{1: "1", 2: "I", 3: "WARD9^^^RTEST", 4: "E", 19: "V7001", 44: "20250210143000"}
	admit := adt("A01", "HOSP0001", hospPID, pd1+"\r"+pv1(visit))
	visit[36], visit[45] = "01", "20250214110000"
	discharge := adt("A03", "HOSP0002", hospPID, pd1+"\r"+pv1(visit))
	for _, msg := range [][]byte{admit, discharge} {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if err := mllp.WriteFrame(conn, msg); err != nil {
			t.Fatal(err)
		}
		ack, err := rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		m, err := hl7v2.Parse(ack)
		if err != nil || m.Get("MSA-1") != "AA" {
			t.Fatalf("ACK %q (%v), want AA", ack, err)
		}
	}

	// 3. The community service: two contacts with the person.
	csv := writeFile(t, dir, "caseload.csv",
		"local_id,nhs_number,nhs_number_status,given_name,family_name,birth_date,sex,postcode,practice_ods,contact_id,contact_date,contact_type,service_ods\n"+
			"CN-88,943 476 5919,verified,Alex,Example,14/07/1948,F,LS6 2QB,B86001,CT-1,2025-02-20,community,RY6\n"+
			"CN-88,943 476 5919,verified,Alex,Example,14/07/1948,F,LS6 2QB,B86001,CT-2,2025-03-06,social_care,RY6\n")
	if out, stderr, err := runCmd(t, e, "import", "--source", "community:leeds-community", csv); err != nil {
		t.Fatalf("import community CSV: %v\n%s\n%s", err, out, stderr)
	}

	// A system client reads the summary.
	if _, stderr, err := runCmd(t, e, "user", "add", "--name", "e2e.reader", "--role", "system"); err != nil {
		t.Fatalf("user add: %v\n%s", err, stderr)
	}
	token, stderr, err := runCmd(t, e, "user", "token", "--name", "e2e.reader", "--scope", "system/*.read", "--ttl", "1h")
	if err != nil {
		t.Fatalf("user token: %v\n%s", err, stderr)
	}
	if c := counts(t, db); c["people"] != 1 || c["source_identities"] != 3 {
		t.Fatalf("counts %v: want one person known to three sources", c)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/people/%d/summary", base, 1), nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET summary: %d %s", res.StatusCode, body)
	}
	var s summary.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}

	gp, hosp, comm := "fhir:gp-emis", "hl7v2:RTEST", "community:leeds-community"
	var ids []string
	for _, id := range s.Identities {
		ids = append(ids, id.Source+" "+id.LocalID+" "+id.LinkedBy)
	}
	wantIDs := []string{gp + " gp-patient-1 source", hosp + " RX1234567 nhs-number", comm + " CN-88 nhs-number"}
	if !sameSet(wantIDs, ids) {
		t.Errorf("identities %q, want %q", ids, wantIDs)
	}
	if d := s.Demographics; d.NHSNumber != "9434765919" || d.NHSNumberStatus != "verified" || d.BirthDate != "1948-07-14" ||
		d.Provenance.Source != comm || d.Provenance.ReceivedAt == "" {
		t.Errorf("demographics %+v; want the verified number, and the community record (sent last) as their source", d)
	}
	if s.Practice == nil || s.Practice.ODSCode != "B86001" {
		t.Errorf("practice %+v, want B86001", s.Practice)
	}
	var conds []string
	for _, c := range s.Conditions {
		conds = append(conds, c.Concept+" "+strings.Join(c.Sources, "+")+" "+c.Onset)
	}
	if want := []string{"copd " + gp + " 2016-03-09", "diabetes_type2 " + gp + " 2012-11-20"}; !slices.Equal(want, conds) {
		t.Errorf("conditions %q, want %q", conds, want)
	}
	var encs []string
	for _, e := range s.Encounters {
		encs = append(encs, e.Class+" "+e.Source+" "+e.Start+" "+e.End)
	}
	wantEncs := []string{
		"social_care " + comm + " 2025-03-06T00:00:00Z ",
		"community " + comm + " 2025-02-20T00:00:00Z ",
		"emergency_admission " + hosp + " 2025-02-10T14:30:00Z 2025-02-14T11:00:00Z",
	}
	if !slices.Equal(wantEncs, encs) {
		t.Errorf("encounters %q, want %q", encs, wantEncs)
	}
	if len(s.Medications) != 1 || s.Medications[0].Concept != "med.metformin" || s.Medications[0].Sources[0] != gp {
		t.Errorf("medications %+v, want metformin from the GP", s.Medications)
	}
	var obs []string
	for _, o := range s.Observations {
		obs = append(obs, fmt.Sprintf("%s %v %s", o.Concept, *o.Value, o.Effective))
	}
	if want := []string{"obs.systolic_bp 138 2025-01-14T10:00:00Z", "obs.hba1c 54 2025-01-14T10:05:00Z"}; !slices.Equal(want, obs) {
		t.Errorf("key observations %q, want %q (the latest HbA1c)", obs, want)
	}
	if !strings.Contains(string(body), `"flags":[]`) || !strings.Contains(string(body), `"care_teams":[]`) {
		t.Errorf("empty sections are not empty lists: %s", body)
	}
	sources := map[string]bool{}
	for _, id := range s.Identities {
		sources[id.Source] = true
	}
	for _, src := range []string{gp, hosp, comm} {
		if !strings.Contains(string(body), `"`+src+`"`) || !sources[src] {
			t.Errorf("the summary does not show data from %s", src)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
