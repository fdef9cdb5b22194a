package fhir

import (
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/riskmodel"
)

// TypeRiskAssessment is the resource type of a stored risk score.
const TypeRiskAssessment = "RiskAssessment"

// Wholecare's risk codes. They belong with the others in uris.go.
const (
	// CSRiskModel names a risk model by its version ("rm-logistic-…"):
	// RiskAssessment.method.
	CSRiskModel = wholecareBase + "CodeSystem/risk-model"
	// CSRiskAssessment names what was assessed: RiskAssessment.code.
	CSRiskAssessment = wholecareBase + "CodeSystem/risk-assessment"
	// CSRiskBand is the risk band, 1 to 5: prediction.qualitativeRisk.
	CSRiskBand = wholecareBase + "CodeSystem/risk-band"
	// CSRiskOutcome is the outcome predicted: prediction.outcome.
	CSRiskOutcome = wholecareBase + "CodeSystem/risk-outcome"
)

// RiskAssessment is an R4 RiskAssessment, with only the elements
// Wholecare fills.
type RiskAssessment struct {
	ResourceType       string                     `json:"resourceType"`
	ID                 string                     `json:"id,omitempty"`
	Meta               Meta                       `json:"meta,omitzero"`
	Status             string                     `json:"status"`
	Method             *CodeableConcept           `json:"method,omitempty"`
	Code               *CodeableConcept           `json:"code,omitempty"`
	Subject            Reference                  `json:"subject"`
	OccurrenceDateTime string                     `json:"occurrenceDateTime,omitempty"`
	Prediction         []RiskAssessmentPrediction `json:"prediction,omitempty"`
	Note               []Annotation               `json:"note,omitempty"`
}

// RiskAssessmentPrediction is RiskAssessment.prediction.
type RiskAssessmentPrediction struct {
	Outcome            *CodeableConcept `json:"outcome,omitempty"`
	ProbabilityDecimal Decimal          `json:"probabilityDecimal,omitzero"`
	QualitativeRisk    *CodeableConcept `json:"qualitativeRisk,omitempty"`
	WhenPeriod         Period           `json:"whenPeriod,omitzero"`
	Rationale          string           `json:"rationale,omitempty"`
}

// Annotation is a text note.
type Annotation struct {
	Text string `json:"text"`
}

// riskBandNames are the bands' plain names, as the population engine
// bands a probability (population.RiskBandOf).
var riskBandNames = [...]string{"", "low (under 5 %)", "moderate (5 to 10 %)", "raised (10 to 20 %)", "high (20 to 40 %)", "very high (40 % or more)"}

// RiskAssessmentID is the id of a stored score:
// "ra<person>-<YYYYMMDD>-<model version>".
func RiskAssessmentID(person int64, asOf time.Time, version string) string {
	return "ra" + strconv.FormatInt(person, 10) + "-" + asOf.UTC().Format("20060102") + "-" + version
}

// ParseRiskAssessmentID inverts RiskAssessmentID.
func ParseRiskAssessmentID(s string) (person int64, asOf time.Time, version string, ok bool) {
	rest, found := strings.CutPrefix(s, "ra")
	p, rest, cut := strings.Cut(rest, "-")
	if person, ok = positive(p, found && cut); !ok {
		return 0, time.Time{}, "", false
	}
	d, version, cut := strings.Cut(rest, "-")
	if !cut || len(d) != 8 || version == "" || len(version) > riskmodel.MaxVersion {
		return 0, time.Time{}, "", false
	}
	asOf, err := time.Parse("20060102", d)
	if err != nil {
		return 0, time.Time{}, "", false
	}
	for i := 0; i < len(version); i++ {
		c := version[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return 0, time.Time{}, "", false
		}
	}
	return person, asOf, version, true
}

// modelKinds names the model kinds in plain words.
var modelKinds = map[string]string{riskmodel.KindLogistic: "logistic regression", riskmodel.KindGBT: "gradient-boosted trees"}

// RiskAssessmentFrom maps a stored score to an R4 RiskAssessment.
//
// The assessment is final once stored (scores are never rewritten). It
// happened as of the day scored (occurrenceDateTime), from what was
// recorded before that day; meta.lastUpdated is when it was computed. The
// method names the model by its version, so a reader can tell scores by
// different models apart. The one prediction is of an emergency admission
// within the 12 months from that day, with the probability and its band;
// the factors that raise the risk most are notes in plain words (basis
// would need references to the records behind each factor, which a
// feature does not keep).
func RiskAssessmentFrom(s riskmodel.Score) RiskAssessment {
	kind := modelKinds[s.ModelKind]
	if kind == "" {
		kind = s.ModelKind
	}
	method := "Wholecare emergency admission model " + s.ModelVersion + " (" + kind + ")"
	out := RiskAssessment{
		ResourceType: TypeRiskAssessment,
		ID:           RiskAssessmentID(s.PersonID, s.AsOf, s.ModelVersion),
		Meta:         Meta{LastUpdated: Instant(s.ComputedAt)},
		Status:       "final",
		Method: &CodeableConcept{Coding: []Coding{{System: CSRiskModel, Code: s.ModelVersion, Display: method}},
			Text: method},
		Code: &CodeableConcept{Coding: []Coding{{System: CSRiskAssessment, Code: "emergency-admission-12m",
			Display: "Risk of an emergency admission within 12 months"}}, Text: "Risk of an emergency admission within 12 months"},
		Subject:            patientRef(s.PersonID),
		OccurrenceDateTime: Date(s.AsOf),
	}
	p := RiskAssessmentPrediction{
		Outcome: &CodeableConcept{Coding: []Coding{{System: CSRiskOutcome, Code: "emergency-admission",
			Display: "Emergency admission to hospital"}}, Text: "Emergency admission to hospital within 12 months"},
		WhenPeriod: Period{Start: Date(s.AsOf), End: Date(s.AsOf.AddDate(1, 0, 0))},
	}
	if d, ok := DecimalFromFloat(roundTo(s.Probability, 4)); ok {
		p.ProbabilityDecimal = d
	}
	if s.Band >= 1 && int(s.Band) < len(riskBandNames) {
		name := riskBandNames[s.Band]
		p.QualitativeRisk = &CodeableConcept{Coding: []Coding{{System: CSRiskBand, Code: strconv.Itoa(int(s.Band)), Display: name}},
			Text: "Band " + strconv.Itoa(int(s.Band)) + " of 5: " + name}
	}
	var why []string
	for _, f := range s.Factors {
		if f.Words != "" {
			why = append(why, f.Words)
			out.Note = append(out.Note, Annotation{Text: "Raises the risk: " + f.Words})
		}
	}
	if len(why) > 0 {
		p.Rationale = "What raises this risk most: " + strings.Join(why, "; ")
	}
	out.Prediction = []RiskAssessmentPrediction{p}
	return out
}

// roundTo rounds v to places decimal places: a probability to four places
// (a hundredth of a percentage point) is all a reader can use.
func roundTo(v float64, places int) float64 {
	f := 1.0
	for range places {
		f *= 10
	}
	if v >= 0 {
		return float64(int64(v*f+0.5)) / f
	}
	return -float64(int64(-v*f+0.5)) / f
}
