package careplan

import (
	"fmt"
	"math"
	"strings"
)

// Condition is a condition with a self-management action plan.
type Condition string

const (
	COPD         Condition = "copd"
	Asthma       Condition = "asthma"
	HeartFailure Condition = "heart-failure"
	zoneGreen              = "green"
	zoneAmber              = "amber"
	zoneRed                = "red"
)

// Conditions lists the conditions with action plans.
var Conditions = []Condition{COPD, Asthma, HeartFailure}

// Name is the condition as a person reads it.
func (c Condition) Name() string {
	switch c {
	case COPD:
		return "COPD"
	case Asthma:
		return "Asthma"
	case HeartFailure:
		return "Heart failure"
	}
	return string(c)
}

// Thresholds are the person's own baselines the zones are measured from.
type Thresholds struct {
	BestPeakFlow        int     `json:"best_peak_flow,omitempty"`       // asthma: litres a minute
	UsualBreathlessness string  `json:"usual_breathlessness,omitempty"` // COPD: e.g. "MRC 3: stop for breath after 100 m"
	UsualSputum         string  `json:"usual_sputum,omitempty"`         // COPD: e.g. "a little, white, in the mornings"
	DryWeightKg         float64 `json:"dry_weight_kg,omitempty"`        // heart failure
}

// Zone is one traffic-light zone: how the person knows they are in it and
// what to do.
type Zone struct {
	Colour string   `json:"colour"` // green, amber or red
	Signs  []string `json:"signs"`
	Do     []string `json:"do"`
}

// ActionPlan is a condition self-management plan.
type ActionPlan struct {
	Condition  Condition  `json:"condition"`
	Thresholds Thresholds `json:"thresholds"`
	Zones      []Zone     `json:"zones"` // green, amber, red
	Medicines  string     `json:"medicines,omitempty"`
	Contacts   []Contact  `json:"contacts,omitempty"`
}

func (ap ActionPlan) validate(p *problems) {
	f := "action plan " + string(ap.Condition)
	t := ap.Thresholds
	switch ap.Condition {
	case Asthma:
		if t.BestPeakFlow < 60 || t.BestPeakFlow > 900 {
			p.add("%s: give the person's best peak flow (60 to 900 L/min)", f)
		}
	case COPD:
		p.required(f+": usual breathlessness", t.UsualBreathlessness, maxShort)
		p.required(f+": usual sputum", t.UsualSputum, maxShort)
	case HeartFailure:
		if t.DryWeightKg < 20 || t.DryWeightKg > 300 || math.IsNaN(t.DryWeightKg) {
			p.add("%s: give the person's dry weight (20 to 300 kg)", f)
		}
	default:
		p.add("action plan condition %q is not one of copd, asthma, heart-failure", ap.Condition)
	}
	if len(ap.Zones) != 3 {
		p.add("%s: give the green, amber and red zones", f)
		return
	}
	for i, want := range []string{zoneGreen, zoneAmber, zoneRed} {
		z := ap.Zones[i]
		if z.Colour != want {
			p.add("%s: zone %d must be %s", f, i+1, want)
		}
		if len(z.Signs) == 0 || len(z.Do) == 0 || len(z.Signs) > 20 || len(z.Do) > 20 {
			p.add("%s: the %s zone needs 1 to 20 signs and 1 to 20 things to do", f, want)
		}
		for _, s := range append(append([]string(nil), z.Signs...), z.Do...) {
			p.required(f+" "+want+" zone", s, maxText)
		}
	}
	p.text(f+": medicines", ap.Medicines, maxText)
	for _, c := range ap.Contacts {
		p.required(f+": contact name", c.Name, maxShort)
		p.required(f+": contact", c.Contact, maxShort)
	}
}

// DefaultActionPlan is a starting action plan for a condition with the
// person's thresholds, to be edited with them. The zones follow SPECS §9:
// for COPD NHS Lanarkshire "My Lungs My Life" and the DCHFT plan; for
// asthma the ERS Breathe 2015 peak-flow bands (below 80%, 60% and 40% of
// best); for heart failure a weight gain over dry weight (a common
// heart-failure nurse rule, not from SPECS: edit to the person's plan).
func DefaultActionPlan(c Condition, t Thresholds) ActionPlan {
	ap := ActionPlan{Condition: c, Thresholds: t}
	switch c {
	case COPD:
		ap.Zones = []Zone{
			{zoneGreen, []string{"My breathing is as usual: " + t.UsualBreathlessness, "My sputum is as usual: " + t.UsualSputum, "I am taking my usual medicines"},
				[]string{"Keep taking my medicines", "Stay active; go to pulmonary rehabilitation", "Do not smoke", "Have my flu and other vaccines"}},
			{zoneAmber, []string{"I am more breathless than usual for 24 to 48 hours", "I have more sputum, or it has changed colour"},
				[]string{"Use my reliever inhaler more", "Start my rescue pack (antibiotic if my sputum has changed colour; steroid tablets)", "Tell my GP or nurse that I have started it"}},
			{zoneRed, []string{"I am extremely breathless", "I have chest pain", "I am drowsy or confused", "I have a high fever", "I am no better 48 hours after starting my rescue pack"},
				[]string{"Call my GP urgently or 111", "If it is an emergency, call 999"}},
		}
	case Asthma:
		pf := func(pct int) string {
			if t.BestPeakFlow <= 0 {
				return fmt.Sprintf("%d%% of my best", pct)
			}
			return fmt.Sprintf("%d L/min (%d%% of my best, %d)", t.BestPeakFlow*pct/100, pct, t.BestPeakFlow)
		}
		ap.Zones = []Zone{
			{zoneGreen, []string{"My breathing is good; no cough or wheeze at night", "My peak flow is above " + pf(80)},
				[]string{"Take my preventer inhaler every day", "Carry my reliever inhaler"}},
			{zoneAmber, []string{"My symptoms are coming back (cough, wheeze, tight chest, waking at night)", "My peak flow is below " + pf(80)},
				[]string{"Increase my inhaled steroid as agreed", "If my peak flow is below " + pf(60) + ", start steroid tablets and get advice from my GP or nurse today"}},
			{zoneRed, []string{"My reliever is not helping or I need it every 4 hours or more", "I am too breathless to speak, eat or sleep", "My peak flow is below " + pf(40)},
				[]string{"This is an asthma attack: call 999 for an ambulance", "Take 1 puff of my reliever every 30 to 60 seconds, up to 10 puffs, while I wait"}},
		}
	case HeartFailure:
		w := func(gain float64) string {
			if t.DryWeightKg <= 0 {
				return fmt.Sprintf("%.1f kg over my dry weight", gain)
			}
			return fmt.Sprintf("%.1f kg or more (my dry weight is %.1f kg)", t.DryWeightKg+gain, t.DryWeightKg)
		}
		ap.Zones = []Zone{
			{zoneGreen, []string{"My weight is steady, within 1 kg of my dry weight", "My breathing and ankle swelling are as usual"},
				[]string{"Weigh myself every morning after the toilet, before breakfast", "Take my medicines as prescribed"}},
			{zoneAmber, []string{"My weight is " + w(2) + " over 3 days", "I am more breathless, or my ankles or tummy are more swollen", "I need more pillows to sleep"},
				[]string{"Call my heart failure nurse or GP today", "Take my water tablets as agreed for this zone"}},
			{zoneRed, []string{"I am breathless at rest", "I have chest pain", "I am fainting or very dizzy"},
				[]string{"Call 999"}},
		}
	}
	return ap
}

// Text is the action plan as plain text, one page, for printing or a
// message.
func (ap ActionPlan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "My %s action plan\n", ap.Condition.Name())
	t := ap.Thresholds
	if t.BestPeakFlow > 0 {
		fmt.Fprintf(&b, "My best peak flow: %d L/min\n", t.BestPeakFlow)
	}
	if t.UsualBreathlessness != "" {
		fmt.Fprintf(&b, "My usual breathlessness: %s\n", t.UsualBreathlessness)
	}
	if t.UsualSputum != "" {
		fmt.Fprintf(&b, "My usual sputum: %s\n", t.UsualSputum)
	}
	if t.DryWeightKg > 0 {
		fmt.Fprintf(&b, "My dry weight: %.1f kg\n", t.DryWeightKg)
	}
	for _, z := range ap.Zones {
		fmt.Fprintf(&b, "\n%s ZONE\nWhen:\n", strings.ToUpper(z.Colour))
		for _, s := range z.Signs {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
		b.WriteString("What I do:\n")
		for _, s := range z.Do {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
	}
	if ap.Medicines != "" {
		fmt.Fprintf(&b, "\nMy medicines: %s\n", ap.Medicines)
	}
	for _, c := range ap.Contacts {
		fmt.Fprintf(&b, "Contact: %s %s %s\n", c.Name, c.Role, c.Contact)
	}
	return b.String()
}
