package careplan

import (
	"fmt"
	"time"
)

// Progress is how far a goal got since the last review.
type Progress string

const (
	ProgressAchieved Progress = "achieved"
	ProgressPartly   Progress = "partly"
	ProgressNot      Progress = "not"
	ProgressChanged  Progress = "changed" // the goal itself changed
)

// GoalProgress is one goal's progress at a review.
type GoalProgress struct {
	GoalID   string   `json:"goal_id"`
	Progress Progress `json:"progress"`
	Note     string   `json:"note,omitempty"` // in the person's words where possible
	// NewText is the goal as the person now puts it, for "changed".
	NewText string `json:"new_text,omitempty"`
}

// Review is a formal review of the plan with the person.
type Review struct {
	Date        Date           `json:"date"`
	Scheduled   bool           `json:"scheduled"` // false: unscheduled (after an admission, at the person's request, …)
	Trigger     string         `json:"trigger,omitempty"`
	Goals       []GoalProgress `json:"goals"`
	WhatChanged string         `json:"what_changed,omitempty"`
	NextReview  Date           `json:"next_review"`
	By          Actor          `json:"by"`
	At          time.Time      `json:"at"`
	Version     int            `json:"version"` // the version the review made
}

func (r Review) validateStored(p *problems) {
	if !r.Date.valid() || r.Date == "" {
		p.add("review: date is required (YYYY-MM-DD)")
	}
	if !r.NextReview.valid() {
		p.add("review: next review date is not YYYY-MM-DD")
	}
	p.text("review: trigger", r.Trigger, maxShort)
	p.text("review: what changed", r.WhatChanged, maxText)
	for _, g := range r.Goals {
		switch g.Progress {
		case ProgressAchieved, ProgressPartly, ProgressNot, ProgressChanged:
		default:
			p.add("review: goal %s progress %q is not achieved, partly, not or changed", g.GoalID, g.Progress)
		}
		p.text("review: goal "+g.GoalID+" note", g.Note, maxText)
		p.text("review: goal "+g.GoalID+" new text", g.NewText, maxText)
	}
}

// applyReview records r on the plan: every open goal needs its progress;
// an achieved goal is closed, a changed one takes its new words, and the
// next review date moves on. The plan becomes active again.
func (pl *Plan) applyReview(r Review) error {
	var p problems
	r.validateStored(&p)
	if r.NextReview == "" {
		p.add("review: give the next review date")
	} else if r.Date != "" && r.NextReview <= r.Date {
		p.add("review: the next review must be after this one")
	}
	if !r.Scheduled && r.Trigger == "" {
		p.add("review: say what prompted an unscheduled review")
	}
	seen := map[string]bool{}
	for _, g := range r.Goals {
		goal, ok := pl.Goal(g.GoalID)
		if !ok {
			p.add("review: goal %q is not in the plan", g.GoalID)
			continue
		}
		if seen[g.GoalID] {
			p.add("review: goal %s is given twice", g.GoalID)
		}
		seen[g.GoalID] = true
		switch g.Progress {
		case ProgressAchieved:
			goal.Status = GoalAchieved
		case ProgressChanged:
			if g.NewText == "" {
				p.add("review: goal %s changed: give the goal in the person's new words", g.GoalID)
			} else {
				goal.Text = g.NewText
			}
		}
	}
	for _, g := range pl.Goals {
		if g.Status.Open() && !seen[g.ID] {
			p.add("review: record progress on goal %s (%s)", g.ID, trim(g.Text, 40))
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	pl.Reviews = append(pl.Reviews, r)
	pl.Review.Next = r.NextReview
	pl.Status = Active
	return nil
}

func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return fmt.Sprintf("%s…", string(r[:n]))
}
