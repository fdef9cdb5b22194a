package alerts

import (
	"slices"
	"testing"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
)

func TestLifecycle(t *testing.T) {
	for _, c := range []struct {
		from, to Status
		ok       bool
	}{
		{Open, Acknowledged, true}, {Open, Done, true}, {Acknowledged, InProgress, true}, {Snoozed, Open, true},
		{Done, Open, false}, {Dismissed, Acknowledged, false}, {InProgress, Acknowledged, false}, {Open, Open, false},
	} {
		if got := CanMove(c.from, c.to); got != c.ok {
			t.Errorf("%s → %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

func TestMoveCheck(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := &Alert{ID: 1, Status: Open, Version: 3}
	for name, c := range map[string]struct {
		m    Move
		kind apperr.Kind
	}{
		"stale":              {Move{To: Done, By: "x", Version: 2}, apperr.Conflict},
		"not allowed":        {Move{To: Open, By: "x", Version: 3}, apperr.Conflict},
		"dismiss, no reason": {Move{To: Dismissed, By: "x", Version: 3}, apperr.Invalid},
		"snooze in the past": {Move{To: Snoozed, By: "x", Version: 3, SnoozedUntil: now.Add(-time.Hour)}, apperr.Invalid},
		"snooze a year":      {Move{To: Snoozed, By: "x", Version: 3, SnoozedUntil: now.AddDate(1, 0, 0)}, apperr.Invalid},
		"date on a done":     {Move{To: Done, By: "x", Version: 3, SnoozedUntil: now.Add(time.Hour)}, apperr.Invalid},
		"nobody":             {Move{To: Done, Version: 3}, apperr.Invalid},
	} {
		if err := c.m.Check(a, now); !apperr.Is(err, c.kind) {
			t.Errorf("%s: %v, want %s", name, err, c.kind)
		}
	}
	if err := (Move{To: Snoozed, By: "x", Version: 3, SnoozedUntil: now.AddDate(0, 0, 7)}).Check(a, now); err != nil {
		t.Errorf("a week's snooze: %v", err)
	}
}

func TestWorkingDaysAndOrder(t *testing.T) {
	fri := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	if got := AddWorkingDays(fri, 2); got.Weekday() != time.Tuesday || got.Day() != 1 {
		t.Errorf("Friday + 2 working days = %s", got.Format("Mon 2 Jan"))
	}
	d := func(h int) time.Time { return fri.Add(time.Duration(h) * time.Hour) }
	as := []*Alert{{ID: 1, Priority: Normal, Due: d(1)}, {ID: 2, Priority: Urgent, Due: d(9)}, {ID: 3, Priority: Normal, Due: d(0)}, {ID: 4, Priority: Normal, Due: d(0)}}
	slices.SortFunc(as, Less)
	var ids []int64
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	if !slices.Equal(ids, []int64{2, 3, 4, 1}) {
		t.Errorf("order %v", ids)
	}
	if _, err := ParsePriority("soon"); !apperr.Is(err, apperr.Invalid) {
		t.Error("a made-up priority was accepted")
	}
}
