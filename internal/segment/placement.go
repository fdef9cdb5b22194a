package segment

import "time"

// Scheme names a segmentation.
type Scheme string

const (
	KaiserScheme  Scheme = "kaiser"
	BridgesScheme Scheme = "bridges"
	NWLScheme     Scheme = "nwl"
)

// Schemes lists the schemes in reporting order.
var Schemes = []Scheme{KaiserScheme, BridgesScheme, NWLScheme}

// Label names segment number n of scheme s in plain words.
func (s Scheme) Label(n uint8) string {
	switch s {
	case KaiserScheme:
		return Level(n).String()
	case BridgesScheme:
		return Bridges(n).String()
	case NWLScheme:
		return Group(n).String()
	}
	return ""
}

// Placement is a person's segment in one scheme over a span of days: from
// Since until Until (zero while it is current).
type Placement struct {
	PersonID int64
	Scheme   Scheme
	Segment  uint8
	Reason   string
	Since    time.Time
	Until    time.Time
}

// Place puts one person in every scheme from day since.
func Place(personID int64, f *Facts, since time.Time) []Placement {
	k, b, g := Kaiser(f), BridgesOf(f), NWL(f)
	return []Placement{
		{PersonID: personID, Scheme: KaiserScheme, Segment: uint8(k.Segment), Reason: k.Reason, Since: since},
		{PersonID: personID, Scheme: BridgesScheme, Segment: uint8(b.Segment), Reason: b.Reason, Since: since},
		{PersonID: personID, Scheme: NWLScheme, Segment: uint8(g.Segment), Reason: g.Reason, Since: since},
	}
}
