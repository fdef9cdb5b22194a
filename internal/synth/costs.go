package synth

// Unit costs in pence, shaped like the NHS National Cost Collection and
// PSSRU unit costs (rounded, a recent year): close enough for costing
// analytics to look right, not a source for a real tariff.
const (
	costGPAppointment  = 4200   // GP consultation
	costNurseContact   = 2000   // practice nurse contact
	costAENonAdmitted  = 20000  // A&E attendance, discharged
	costAEAdmitted     = 35000  // A&E attendance that leads to admission
	costNELBase        = 170000 // non-elective spell, fixed part (set so the mean spell is ≈ £3,500)
	costNELPerBedDay   = 35000  // non-elective spell, per bed day
	costElectiveSpell  = 400000 // elective spell
	costOutpatient     = 15000  // outpatient attendance
	costCommunityVisit = 6000   // community nursing visit
	costMHContact      = 18000  // community mental health contact
	costSocialHour     = 2500   // social care, per hour of contact or home care
	costResidentialWk  = 90000  // residential care home, per week
	costNursingWk      = 120000 // nursing home, per week
)
