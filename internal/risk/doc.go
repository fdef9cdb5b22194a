// Package risk computes the published risk scores Wholecare uses to find who
// needs help: the electronic frailty index (eFI), the Charlson comorbidity
// index, the LACE readmission index for every hospital discharge, and
// NEWS2 for a set of vital signs.
//
// Every score is a pure function of a person's record and the instant
// `now` it is asked about: nothing here reads the clock, the environment or
// a store, holds mutable package state or logs. Rows dated after `now` (or,
// for LACE, after the discharge) are ignored, so a score can be recomputed
// as it stood on any past day. Scorer.AppendMarks condenses a record into
// marks (risk.Mark: the earliest row of each deficit and condition, each
// medicine's current spans) from which EFICount and CharlsonScore give the
// same eFI and Charlson on any day without the record; the population
// engine recomputes everyone from them. The package must never import database,
// HTTP or UI packages (internal/archtest enforces it).
//
// Conditions are recognised through concepts (internal/codes), never raw
// codes: the 35 coded eFI deficits are the efi.* concepts and the Charlson
// conditions the cci.* concepts; data/README.md in internal/codes cites the
// published list each comes from. A code counts once recorded, whether or
// not the condition is later marked resolved, because both indices score
// history ("H/O" codes are in their lists).
//
// Conventions, where the literature offers a choice:
//
//   - eFI: Clegg et al., Age Ageing 2016;45:353. 36 equally weighted
//     deficits; score = deficits ÷ 36; bands fit ≤ 0.12, mild ≤ 0.24,
//     moderate ≤ 0.36, severe > 0.36 (0–4, 5–8, 9–12, ≥ 13 deficits).
//     Polypharmacy, the one deficit without codes, is five or more distinct
//     medicines with a course current at `now` (the common reading of the
//     eFI v1 rule, which SPECS.md marks unverified).
//   - Charlson: the original 1987 weights (Charlson et al., J Chronic Dis
//     1987;40:373) — not Quan's 2011 re-weighting — with conditions coded by
//     Quan's 2005 ICD-10 algorithm and by SNOMED CT. Hierarchy: diabetes
//     with end-organ damage supersedes diabetes, metastatic solid tumour
//     supersedes any malignancy, moderate/severe liver disease supersedes
//     mild. Optional age points follow the combined age–comorbidity
//     convention (Charlson 1994): < 50 none, then one point a decade to 4
//     at 80 and over. Results carry CharlsonConvention.
//   - LACE: van Walraven et al., CMAJ 2010;182:551, for every admission
//     (emergency or elective) that has ended, with the LACE paper's own
//     Charlson weights (SPECS.md 3b) over conditions recorded by discharge.
//     Length of stay is the number of calendar days (UTC) from admission to
//     discharge. Emergency department visits are A&E attendances that
//     started in the 6 calendar months before the admission; for an
//     emergency admission the attendance that led to it (the latest one
//     still open, or ended within 6 hours, when the admission began) is
//     not counted.
//   - NEWS2: Royal College of Physicians 2017, charts 1 and 4.
package risk
