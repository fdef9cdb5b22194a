package codes

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sharedData finds the external reference data (never copied into the
// repo): $WHOLECARE_SHARED_DATA, else ../../../shared/data.
func sharedData(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WHOLECARE_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared reference data not found at %s (set WHOLECARE_SHARED_DATA): %v", dir, err)
	}
	return dir
}

func readCodeTerm(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m := map[string]string{}
	for _, r := range rows[1:] {
		m[r[0]] = r[1]
	}
	return m
}

// extraLists checks concepts against lists that are not PCD refsets.
var extraLists = map[Concept][]string{
	"proc.asthma_review": {"opensafely-asthma-annual-review-qof.csv"},
	"proc.copd_review":   {"opensafely-chronic-obstructive-pulmonary-disease-copd-review-qof.csv"},
	"pca.declined":       {"nhsd-primary-care-domain-refsets-hyppcadec_cod.csv", "nhsd-primary-care-domain-refsets-bpdec_cod.csv"},
	"pca.unsuitable":     {"nhsd-primary-care-domain-refsets-hyppcapu_cod.csv"},
	"cci.connective_tissue": {
		"nhsd-primary-care-domain-refsets-rheumatoid-arthritis-disorders.csv",
		"nhsd-primary-care-domain-refsets-polymyalgia-rheumatica-pmr-codes.csv",
	},
	"cci.hiv": {"nhsd-primary-care-domain-refsets-human-immunodeficiency-virus-hiv-codes.csv"},
}

// outsideRefsets are SNOMED codes of a refset-checked concept that the
// concept's definition takes from a published list other than its refsets
// (see data/README.md): the eFI lists (UoM-Data-Science-Platforms/gm-sde,
// efi-*) add memory/cognition findings to the dementia refset and help
// at home to the care-home refset; the CPRD Aurum Charlson list (Metcalf et
// al., Pharmacoepi-Data-Collaborative/home) adds lupus, systemic sclerosis,
// dermatomyositis and AIDS, for which no local refset file exists.
var outsideRefsets = map[Concept][]string{
	"efi.memory_cognitive": {
		"386807006", "386806002", "386805003", "247592009", "2776000", "286933003", "415276009", "432806004",
	},
	"efi.requirement_for_care": {"160774006", "161083000", "184156005", "224224003", "287591000000107"},
	"cci.connective_tissue":    {"55464009", "89155008", "396230008"},
	"cci.hiv":                  {"62479008"},
}

// TestSNOMEDInRefsets checks every SNOMED code of a concept with a Refset
// is a member of one of its refsets, where the refset file is available.
func TestSNOMEDInRefsets(t *testing.T) {
	dir := filepath.Join(sharedData(t), "codelists", "opensafely")
	s := mustLoad(t)
	var missing []string
	for _, in := range s.Concepts() {
		var files []string
		for _, r := range in.Refsets() {
			f := "nhsd-primary-care-domain-refsets-" + strings.ToLower(r) + ".csv"
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				missing = append(missing, string(in.ID)+":"+r)
				continue
			}
			files = append(files, f)
		}
		files = append(files, extraLists[in.ID]...)
		if len(files) == 0 {
			continue
		}
		members := map[string]bool{}
		for _, f := range files {
			for c := range readCodeTerm(t, filepath.Join(dir, f)) {
				members[c] = true
			}
		}
		for _, cd := range s.Codes(in.ID) {
			if cd.System == "sct" && !members[cd.Code] && !slices.Contains(outsideRefsets[in.ID], cd.Code) {
				t.Errorf("%s: SNOMED %s %q is not in %v", in.ID, cd.Code, cd.Display, files)
			}
		}
	}
	t.Logf("refsets without a local file (not checked): %v", missing)
}

// icd10Lists maps concepts to the OpenSAFELY secondary-care ICD-10 lists.
var icd10Lists = map[Concept]string{
	"asthma": "asthma", "ckd": "chronic-kidney-disease",
	"chd": "coronary-heart-disease", "dementia": "dementia", "depression": "depression",
	"epilepsy": "epilepsy", "heart_failure": "heart-failure", "osteoporosis": "osteoporosis",
	"rheumatoid_arthritis": "rheumatoid-arthritis", "stroke_tia": "stroke-and-tia",
	"diabetes_type1": "type-1-diabetes", "diabetes_type2": "type-2-diabetes",
}

// icd10Deviations are deliberate differences from those lists.
var icd10Deviations = map[Concept][]string{
	// QOF counts angina as CHD; the secondary-care list starts at I21.
	"chd": {"I20"},
}

func TestICD10InSecondaryCareLists(t *testing.T) {
	dir := filepath.Join(sharedData(t), "codelists", "opensafely")
	s := mustLoad(t)
	for c, name := range icd10Lists {
		list := readCodeTerm(t, filepath.Join(dir, "user-markdrussell-"+name+"-secondary-care.csv"))
		for _, cd := range s.Codes(c) {
			if cd.System != "icd10" || slices.Contains(icd10Deviations[c], cd.Code) {
				continue
			}
			n := NormaliseICD10(cd.Code)
			if _, ok := list[n]; !ok {
				t.Errorf("%s: ICD-10 %s is not in %s list", c, cd.Code, name)
			}
		}
	}
}

type coding struct{ System, Code, Display string }
type codeable struct{ Coding []coding }

type resource struct {
	ResourceType              string
	Code                      *codeable
	VaccineCode               *codeable
	MedicationCodeableConcept *codeable
	ValueCodeableConcept      *codeable
}

// syntheaLTC lists the Synthea codes for our conditions that must map.
var syntheaLTC = map[string]Concept{
	"44054006": "diabetes_type2", "59621000": "hypertension", "38341003": "hypertension",
	"195967001": "asthma", "233678006": "asthma", "185086009": "copd", "87433001": "copd",
	"88805009": "heart_failure", "431855005": "ckd_1_2", "431856006": "ckd_1_2",
	"433144002": "ckd", "431857002": "ckd", "49436004": "atrial_fibrillation",
	"53741008": "chd", "414545008": "chd", "22298006": "chd", "230690007": "stroke_tia",
	"26929004": "dementia", "230265002": "dementia", "64859006": "osteoporosis",
	"84757009": "epilepsy", "239872002": "osteoarthritis", "239873007": "osteoarthritis",
	"201834006": "osteoarthritis", "254837009": "cancer", "254637007": "cancer",
	"162864005": "obesity", "408512008": "obesity", "72892002": "pregnancy",
	"271737000": "efi.anaemia", "48724000": "efi.heart_valve_disease",
	"422650009": "efi.social_vulnerability", "267036007": "efi.dyspnoea",
}

// TestSynthea scans the Synthea FHIR data and checks that the long-term
// conditions, vital signs, smoking values and vaccines found there map.
func TestSynthea(t *testing.T) {
	dir := filepath.Join(sharedData(t), "synthea")
	s := mustLoad(t)
	var files []string
	b, _ := filepath.Glob(filepath.Join(dir, "smart-generated-sample-data-r4", "bundles", "*.json"))
	n, _ := filepath.Glob(filepath.Join(dir, "smart-bulk-fhir", "*", "*.ndjson"))
	files = append(b, n...)
	if len(files) == 0 {
		t.Skip("no Synthea files")
	}
	seen := map[string]map[string]string{} // resource type -> system|code -> display
	note := func(rt string, cc *codeable) {
		if cc == nil {
			return
		}
		if seen[rt] == nil {
			seen[rt] = map[string]string{}
		}
		for _, c := range cc.Coding {
			seen[rt][c.System+"|"+c.Code] = c.Display
		}
	}
	visit := func(r resource) {
		switch r.ResourceType {
		case "Condition", "Observation":
			note(r.ResourceType, r.Code)
			note("ObservationValue", r.ValueCodeableConcept)
		case "Immunization":
			note(r.ResourceType, r.VaccineCode)
		case "MedicationRequest":
			note(r.ResourceType, r.MedicationCodeableConcept)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".ndjson") {
			sc := bufio.NewScanner(strings.NewReader(string(data)))
			sc.Buffer(nil, 1<<24)
			for sc.Scan() {
				var r resource
				if json.Unmarshal(sc.Bytes(), &r) == nil {
					visit(r)
				}
			}
			continue
		}
		var bundle struct{ Entry []struct{ Resource resource } }
		if err := json.Unmarshal(data, &bundle); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range bundle.Entry {
			visit(e.Resource)
		}
	}
	found := 0
	for key := range seen["Condition"] {
		sys, code, _ := strings.Cut(key, "|")
		want, ok := syntheaLTC[code]
		if !ok || sys != "http://snomed.info/sct" {
			continue
		}
		found++
		if !slices.Contains(s.ConceptsOf(sys, code), want) {
			t.Errorf("Synthea condition %s %q does not map to %s", code, seen["Condition"][key], want)
		}
	}
	if found < 15 {
		t.Errorf("only %d of the expected Synthea LTC codes found; data changed?", found)
	}
	mustMap := map[string][]string{
		"Observation":      {"http://loinc.org|39156-5", "http://loinc.org|4548-4", "http://loinc.org|33914-3", "http://loinc.org|2093-3", "http://loinc.org|72166-2", "http://loinc.org|29463-7", "http://loinc.org|8302-2", "http://loinc.org|19926-5"},
		"ObservationValue": {"http://snomed.info/sct|266919005", "http://snomed.info/sct|8517006", "http://snomed.info/sct|449868002"},
		"Immunization":     {"http://hl7.org/fhir/sid/cvx|140", "http://hl7.org/fhir/sid/cvx|133", "http://hl7.org/fhir/sid/cvx|208"},
	}
	for rt, keys := range mustMap {
		for _, k := range keys {
			if _, ok := seen[rt][k]; !ok {
				t.Errorf("%s %s not present in Synthea data", rt, k)
				continue
			}
			sys, code, _ := strings.Cut(k, "|")
			if len(s.ConceptsOf(sys, code)) == 0 {
				t.Errorf("Synthea %s %s maps to no concept", rt, k)
			}
		}
	}
	// Report coverage of medications, informational only.
	var mapped, total int
	for k := range seen["MedicationRequest"] {
		sys, code, _ := strings.Cut(k, "|")
		total++
		if len(s.ConceptsOf(sys, code)) > 0 {
			mapped++
		}
	}
	t.Logf("Synthea: %d condition codes, %d medication codes (%d mapped to a class)", len(seen["Condition"]), total, mapped)
}
