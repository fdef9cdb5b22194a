package main

import (
	"context"
	"time"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/sqlstore"
)

// seedDemoCarePlan gives the demo service user a draft care plan
// coordinated by the demo care coordinator, so the plan API has something
// to show; a person who already has a plan is left alone.
func seedDemoCarePlan(ctx context.Context, db *sqlstore.DB, now func() time.Time) error {
	person, err := db.UserByName(ctx, "demo.person")
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	coord, err := db.UserByName(ctx, "demo.coordinator")
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if person.PersonID == 0 || coord.ProfessionalID == 0 {
		return nil
	}
	svc := careplan.NewService(db, now)
	plans, err := svc.PersonPlans(ctx, person.PersonID)
	if err != nil || len(plans) > 0 {
		return err
	}
	confidence := 6
	_, err = svc.Create(ctx, careplan.Actor{UserID: coord.ID, Name: coord.Name, Role: string(coord.Role), ProfessionalID: coord.ProfessionalID},
		person.PersonID, careplan.Plan{
			Title:           "My care and support plan",
			WhatMattersMost: "Staying in my own home and seeing my friends at the lunch club",
			AboutMe:         careplan.AboutMe{MostImportant: "My independence and my cat", Communication: "Please write things down for me"},
			Strengths:       []string{"Good neighbours", "I like to keep busy"},
			Needs:           []careplan.Need{{ID: "n1", Description: "I get tired and lonely in winter"}},
			Goals:           []careplan.Goal{{ID: "g1", NeedID: "n1", Text: "Get to the lunch club every Wednesday", Importance: 8}},
			Actions: []careplan.Action{{GoalID: "g1", What: "Book community transport", Who: careplan.Who{Kind: careplan.ByPerson},
				When: "every Monday", Area: careplan.SupportNetworks, Confidence: &confidence}},
			Coordinator: careplan.Coordinator{ProfessionalID: coord.ProfessionalID, Contact: "the practice care coordination line"},
			Review:      careplan.ReviewSchedule{IntervalMonths: 6, Next: careplan.DateOf(now().AddDate(0, 6, 0))},
		}, "demo plan")
	return err
}
