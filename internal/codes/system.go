package codes

import (
	"strings"

	"github.com/wholecare/wholecare/internal/record"
)

// canonicalURI is the FHIR system URI written for each token.
var canonicalURI = map[string]string{
	record.SNOMED: "http://snomed.info/sct",
	record.ICD10:  "http://hl7.org/fhir/sid/icd-10",
	record.OPCS4:  "http://hl7.org/fhir/sid/opcs-4",
	record.DMD:    "https://dmd.nhs.uk",
	record.LOINC:  "http://loinc.org",
	record.RxNorm: "http://www.nlm.nih.gov/research/umls/rxnorm",
	record.CVX:    "http://hl7.org/fhir/sid/cvx",
}

// uriToken also accepts the aliases seen in UK data: ICD-10 5th edition
// URIs, and https/trailing-slash variants (UK Core examples use both
// "https://dmd.nhs.uk" and "https://dmd.nhs.uk/").
var uriToken = map[string]string{
	"http://snomed.info/sct":                      record.SNOMED,
	"http://hl7.org/fhir/sid/icd-10":              record.ICD10,
	"http://hl7.org/fhir/sid/icd-10-uk":           record.ICD10,
	"https://fhir.hl7.org.uk/id/icd10":            record.ICD10,
	"http://hl7.org/fhir/sid/opcs-4":              record.OPCS4,
	"https://dmd.nhs.uk":                          record.DMD,
	"http://dmd.nhs.uk":                           record.DMD,
	"http://loinc.org":                            record.LOINC,
	"http://www.nlm.nih.gov/research/umls/rxnorm": record.RxNorm,
	"http://hl7.org/fhir/sid/cvx":                 record.CVX,
}

// SystemURI returns the FHIR system URI for a short token, or "" if the
// token is unknown.
func SystemURI(token string) string { return canonicalURI[token] }

// SystemToken returns the short token for a FHIR system URI. Matching
// ignores a trailing slash and the case of the scheme and host part.
// A known short token is also accepted and returned as is.
func SystemToken(uri string) (string, bool) {
	if _, ok := canonicalURI[uri]; ok {
		return uri, true
	}
	u := strings.TrimSuffix(strings.TrimSpace(uri), "/")
	if t, ok := uriToken[u]; ok {
		return t, true
	}
	t, ok := uriToken[strings.ToLower(u)]
	return t, ok
}
