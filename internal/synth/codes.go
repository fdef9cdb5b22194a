package synth

import "github.com/wholecare/wholecare/internal/record"

// Every code the generator writes is in this file, so that a correction is
// one edit. Each entry says whether it was checked, and against what:
//
//   - "refset": found, with this meaning, in the NHS Primary Care Domain
//     refset or QOF review lists under shared/data/codelists/opensafely;
//   - "fhir": seen with this meaning in the FHIR examples under shared/data;
//   - "unverified": from memory or from the brief; the codes package owner
//     should confirm it.
//
// Medicines are coded as SNOMED CT *substance* concepts, not dm+d VTMs: the
// VTM identifiers could not be checked here (only apixaban's VTM,
// 774624002, was seen in a public source), and a substance code with a clear
// meaning is easier to map to a concept than a wrong VTM. Local codes are used
// where no SNOMED code was known with confidence; they start "synth-" so
// they can never be mistaken for a real code.

// code is a Coding plus what we know about its provenance.
type code struct {
	record.Coding
	Checked string // "refset", "fhir" or "unverified"
}

func sct(c, display, checked string) code {
	return code{record.Coding{System: record.SNOMED, Code: c, Display: display}, checked}
}

func icd(c, display string) code {
	return code{record.Coding{System: record.ICD10, Code: c, Display: display}, "icd10"}
}

func local(c, display string) code {
	return code{record.Coding{System: record.Local, Code: c, Display: display}, "local"}
}

// Condition codes. The brief's stage-4 CKD code 431856006 is CKD *stage 2*
// in CKD1AND2_COD; stage 4 is 431857002 (CKD_COD).
var (
	codeAsthma       = sct("195967001", "Asthma", "refset")
	codeCOPD         = sct("13645005", "Chronic obstructive pulmonary disease", "refset")
	codeT2DM         = sct("44054006", "Diabetes mellitus type 2", "refset")
	codeT1DM         = sct("46635009", "Diabetes mellitus type 1", "refset")
	codeHypertension = sct("38341003", "Hypertensive disorder, systemic arterial", "refset")
	codeHF           = sct("84114007", "Heart failure", "refset")
	codeAF           = sct("49436004", "Atrial fibrillation", "refset")
	codeCHD          = sct("53741008", "Coronary arteriosclerosis", "refset")
	codeStroke       = sct("230690007", "Cerebrovascular accident", "refset")
	codeTIA          = sct("266257000", "Transient ischemic attack", "refset")
	codeCKD3         = sct("433144002", "Chronic kidney disease stage 3", "refset")
	codeCKD4         = sct("431857002", "Chronic kidney disease stage 4", "refset")
	codeCKD5         = sct("433146000", "Chronic kidney disease stage 5", "refset")
	codeDementia     = sct("52448006", "Dementia", "refset")
	codeDepression   = sct("35489007", "Depressive disorder", "refset")
	codeSchizo       = sct("58214004", "Schizophrenia", "refset")
	codeBipolar      = sct("13746004", "Bipolar disorder", "refset")
	codeLD           = sct("110359009", "Intellectual disability", "refset")
	codeOsteoporosis = sct("64859006", "Osteoporosis", "refset")
	codeEpilepsy     = sct("84757009", "Epilepsy", "refset")
	codeRA           = sct("69896004", "Rheumatoid arthritis", "refset")
	codePAD          = sct("399957001", "Peripheral arterial occlusive disease", "refset")
	codeNDH          = sct("700449008", "Non-diabetic hyperglycemia", "refset")
	codePalliative   = sct("103735009", "Palliative care", "refset") // in PALCARE_COD
	codeOA           = sct("396275006", "Osteoarthritis", "unverified")
	codeCancer       = sct("363346000", "Malignant neoplastic disease", "fhir")
	codeObesity      = sct("414916001", "Obesity", "fhir")
	codeHypothyroid  = sct("40930008", "Hypothyroidism", "unverified")
	codeFrailMild    = sct("925791000000100", "Mild frailty", "unverified")
	codeFrailMod     = sct("925831000000107", "Moderate frailty", "unverified")
	codeFrailSevere  = sct("925861000000102", "Severe frailty", "unverified")
)

// Observation codes, with UCUM units.
var (
	codeSystolic    = sct("72313002", "Systolic arterial pressure", "refset")
	codeDiastolic   = sct("1091811000000102", "Diastolic arterial pressure", "refset")
	codeHbA1c       = sct("1049301000000100", "HbA1c level (IFCC standardised)", "unverified")
	codeBMI         = sct("60621009", "Body mass index", "fhir")
	codeWeight      = sct("27113001", "Body weight", "fhir")
	codeHeight      = sct("50373000", "Body height", "fhir")
	codeEGFR        = sct("1011481000000105", "eGFR using creatinine (CKD-EPI) per 1.73 square metres", "unverified")
	codeACR         = sct("1023491000000104", "Urine albumin:creatinine ratio", "unverified")
	codeCholesterol = sct("1005671000000105", "Serum cholesterol level", "unverified")
	codeSmoker      = sct("77176002", "Smoker", "unverified")
	codeExSmoker    = sct("8517006", "Ex-smoker", "fhir")
	codeNeverSmoked = sct("266919005", "Never smoked tobacco", "fhir")
	codeMRC         = local("synth-mrc-breathlessness-grade", "MRC Breathlessness Scale grade")
	codePeakFlow    = sct("29893006", "Peak flow rate", "unverified")
	codeSpO2        = sct("431314004", "Peripheral oxygen saturation", "fhir")
	codePulse       = sct("364075005", "Heart rate", "fhir")
	codeRespRate    = sct("86290005", "Respiratory rate", "fhir")
	codeTemperature = sct("276885007", "Core body temperature", "fhir")
)

// Procedure codes for reviews and care processes.
var (
	codeAsthmaReview   = sct("270442000", "Asthma monitoring check done", "refset")
	codeCOPDReview     = sct("394703002", "Chronic obstructive pulmonary disease annual review", "refset")
	codeMedReview      = sct("182836005", "Review of medication", "refset")
	codeSMR            = sct("1239511000000100", "Structured medication review", "refset")
	codeDMFootCheck    = sct("401191002", "Diabetic foot examination", "unverified")
	codeDemCarePlanRev = local("synth-dementia-care-plan-review", "Dementia care plan reviewed")
	codePulRehabOffer  = local("synth-pulmonary-rehab-offered", "Pulmonary rehabilitation offered")
)

// Immunisation codes.
var (
	codeFluVaccine     = sct("822851000000102", "Seasonal influenza vaccination", "unverified")
	codePneumoVaccine  = sct("12866006", "Pneumococcal vaccination", "unverified")
	codeShinglesVaccin = local("synth-shingles-vaccination", "Shingles (herpes zoster) vaccination")
)

// Admission and elective diagnoses (ICD-10, with the dot as FHIR writes it).
var (
	icdCOPDExac    = icd("J44.1", "COPD with acute exacerbation")
	icdHF          = icd("I50.9", "Heart failure, unspecified")
	icdPneumonia   = icd("J18.9", "Pneumonia, unspecified")
	icdUTI         = icd("N39.0", "Urinary tract infection, site not specified")
	icdSyncope     = icd("R55", "Syncope and collapse")
	icdHipFracture = icd("S72.0", "Fracture of neck of femur")
	icdMI          = icd("I21.9", "Acute myocardial infarction, unspecified")
	icdStroke      = icd("I63.9", "Cerebral infarction, unspecified")
	icdDiabetes    = icd("E11.9", "Type 2 diabetes mellitus without complications")
	icdAsthma      = icd("J45.9", "Asthma, unspecified")
	icdChestPain   = icd("R07.4", "Chest pain, unspecified")
	icdGIBleed     = icd("K92.2", "Gastrointestinal haemorrhage, unspecified")
	icdAbdoPain    = icd("R10.4", "Other and unspecified abdominal pain")
	icdCellulitis  = icd("L03.9", "Cellulitis, unspecified")
	icdAF          = icd("I48.9", "Atrial fibrillation and atrial flutter, unspecified")
	icdAKI         = icd("N17.9", "Acute renal failure, unspecified")
	icdDelirium    = icd("F05.9", "Delirium, unspecified")
	icdBronchiol   = icd("J21.9", "Acute bronchiolitis, unspecified")
	icdSeizure     = icd("G40.9", "Epilepsy, unspecified")
	icdPsychosis   = icd("F29", "Unspecified nonorganic psychosis")
	icdSelfHarm    = icd("X84", "Intentional self-harm by unspecified means")
	icdCataract    = icd("H25.9", "Senile cataract, unspecified")
	icdKneeOA      = icd("M17.9", "Gonarthrosis, unspecified")
	icdHipOA       = icd("M16.9", "Coxarthrosis, unspecified")
	icdGallstones  = icd("K80.2", "Calculus of gallbladder without cholecystitis")
	icdHernia      = icd("K40.9", "Inguinal hernia, unspecified")
	icdChemo       = icd("Z51.1", "Chemotherapy session for neoplasm")
	icdDiverticul  = icd("K57.3", "Diverticular disease of large intestine")
)

// drug is a medicine the generator prescribes, with its cost to the NHS per
// month of repeat supply in pence (Drug Tariff-like generic prices, rounded;
// the unit is one month of the usual maintenance dose).
type drug struct {
	code
	MonthlyPence int64
}

func med(c, display, checked string, pence int64) drug {
	return drug{sct(c, display, checked), pence}
}

// drug indices; the order is the order of drugTable.
const (
	drRamipril = iota
	drAmlodipine
	drIndapamide
	drMetformin
	drGliclazide
	drDapagliflozin
	drInsulinGlargine
	drInsulinAspart
	drTiotropium
	drSalmeterol
	drSalbutamol
	drBeclometasone
	drBisoprolol
	drFurosemide
	drSpironolactone
	drApixaban
	drAtorvastatin
	drAspirin
	drClopidogrel
	drSertraline
	drCitalopram
	drMirtazapine
	drOlanzapine
	drQuetiapine
	drLithium
	drDonepezil
	drLevetiracetam
	drLamotrigine
	drValproate
	drAlendronate
	drColecalciferol
	drMethotrexate
	drFolicAcid
	drParacetamol
	drCodeine
	drNaproxen
	drLevothyroxine
	drOmeprazole
	drLansoprazole
	drMorphine
	nDrugs
)

// drugTable is indexed by the dr* constants. Substance codes; see the file
// comment.
var drugTable = [nDrugs]drug{
	drRamipril:        med("386872004", "Ramipril", "unverified", 150),
	drAmlodipine:      med("386864001", "Amlodipine", "unverified", 100),
	drIndapamide:      med("387419003", "Indapamide", "unverified", 150),
	drMetformin:       med("372567009", "Metformin", "unverified", 250),
	drGliclazide:      med("395731002", "Gliclazide", "unverified", 250),
	drDapagliflozin:   med("703674009", "Dapagliflozin", "unverified", 3660),
	drInsulinGlargine: med("411529005", "Insulin glargine", "unverified", 3500),
	drInsulinAspart:   med("325072002", "Insulin aspart", "unverified", 2800),
	drTiotropium:      med("409173007", "Tiotropium", "unverified", 3350),
	drSalmeterol:      med("372515005", "Salmeterol", "unverified", 3000),
	drSalbutamol:      med("372897005", "Salbutamol", "unverified", 150),
	drBeclometasone:   med("116574000", "Beclometasone", "unverified", 1600),
	drBisoprolol:      med("386868003", "Bisoprolol", "unverified", 100),
	drFurosemide:      med("387475002", "Furosemide", "unverified", 100),
	drSpironolactone:  med("387078006", "Spironolactone", "unverified", 250),
	drApixaban:        med("698090000", "Apixaban", "unverified", 5300),
	drAtorvastatin:    med("373444002", "Atorvastatin", "unverified", 130),
	drAspirin:         med("387458008", "Aspirin", "unverified", 80),
	drClopidogrel:     med("386952008", "Clopidogrel", "unverified", 150),
	drSertraline:      med("372594008", "Sertraline", "unverified", 150),
	drCitalopram:      med("372596005", "Citalopram", "unverified", 100),
	drMirtazapine:     med("396215000", "Mirtazapine", "unverified", 200),
	drOlanzapine:      med("386849001", "Olanzapine", "unverified", 150),
	drQuetiapine:      med("386850001", "Quetiapine", "unverified", 300),
	drLithium:         med("387095009", "Lithium carbonate", "unverified", 450),
	drDonepezil:       med("386842008", "Donepezil", "unverified", 150),
	drLevetiracetam:   med("387000003", "Levetiracetam", "unverified", 600),
	drLamotrigine:     med("387562000", "Lamotrigine", "unverified", 200),
	drValproate:       med("387080000", "Sodium valproate", "unverified", 1000),
	drAlendronate:     med("391730008", "Alendronic acid", "unverified", 120),
	drColecalciferol:  med("18414002", "Colecalciferol", "unverified", 350),
	drMethotrexate:    med("387381009", "Methotrexate", "unverified", 300),
	drFolicAcid:       med("63718003", "Folic acid", "unverified", 80),
	drParacetamol:     med("387517004", "Paracetamol", "unverified", 300),
	drCodeine:         med("387494007", "Codeine", "unverified", 250),
	drNaproxen:        med("372588000", "Naproxen", "unverified", 250),
	drLevothyroxine:   med("710809001", "Levothyroxine", "unverified", 150),
	drOmeprazole:      med("387137007", "Omeprazole", "unverified", 100),
	drLansoprazole:    med("386888004", "Lansoprazole", "unverified", 100),
	drMorphine:        med("373529000", "Morphine", "unverified", 900),
}
