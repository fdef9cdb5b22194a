package access

import (
	"testing"
	"time"
)

func TestConsentFor(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	now := day(20)
	permitAll := Consent{Decision: Permit, Purpose: DirectCare, RecordedAt: day(1)}
	denyOrg := Consent{Decision: Deny, Purpose: DirectCare, OrgID: "RXX", RecordedAt: day(2)}
	permitOrg := Consent{Decision: Permit, Purpose: DirectCare, OrgID: "RXX", RecordedAt: day(3)}
	withdrawn := permitAll
	withdrawn.WithdrawnAt = day(5)
	liftedDeny := denyOrg
	liftedDeny.WithdrawnAt = day(6)
	expired := permitAll
	expired.End = day(10)
	tests := []struct {
		name    string
		cs      []Consent
		org     string
		purpose Purpose
		model   ConsentModel
		want    bool
	}{
		{"implied: nothing recorded shares for direct care", nil, "RXX", DirectCare, Implied, true},
		{"implied: nothing recorded does not share for research", nil, "RXX", Research, Implied, false},
		{"explicit: nothing recorded does not share", nil, "RXX", DirectCare, Explicit, false},
		{"explicit: a permit for all shares", []Consent{permitAll}, "RXX", DirectCare, Explicit, true},
		{"an objection to one organisation beats a permit for all", []Consent{permitAll, denyOrg}, "RXX", DirectCare, Explicit, false},
		{"an objection to one organisation leaves the others", []Consent{permitAll, denyOrg}, "RYY", DirectCare, Explicit, true},
		{"the later of two records for one organisation wins", []Consent{denyOrg, permitOrg}, "RXX", DirectCare, Explicit, true},
		{"a withdrawn permit denies even under implied consent", []Consent{withdrawn}, "RXX", DirectCare, Implied, false},
		{"a lifted objection no longer denies", []Consent{liftedDeny}, "RXX", DirectCare, Implied, true},
		{"an expired permit is not consent", []Consent{expired}, "RXX", DirectCare, Explicit, false},
		{"a permit for research does not cover direct care", []Consent{{Decision: Permit, Purpose: Research, RecordedAt: day(1)}}, "RXX", DirectCare, Explicit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := consentFor(tt.cs, tt.org, tt.purpose, tt.model, now)
			if got != tt.want {
				t.Errorf("consentFor = %v (%q), want %v", got, why, tt.want)
			}
			if !got && why == "" {
				t.Error("a refusal must say why")
			}
		})
	}
}

func TestSuppress(t *testing.T) {
	for n, want := range map[int64]bool{0: true, 1: false, 4: false, 5: true, 1000: true} {
		if _, ok := Suppress(n); ok != want {
			t.Errorf("Suppress(%d) shown = %v, want %v", n, ok, want)
		}
	}
}
