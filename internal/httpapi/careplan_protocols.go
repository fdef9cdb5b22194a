package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/careplan"
	"github.com/wholecare/wholecare/internal/careplan/protocols"
)

// planProtocolProposal is what a protocol proposes for a plan's person,
// with the items the plan already carries marked. It reads the plan and
// the person's record, each through the policy.
func (s *Server) planProtocolProposal(r *http.Request, planID int64, base careplan.Version) (*protocols.Protocol, protocols.Proposal, error) {
	p, err := s.deps.Protocols.Library().Get(r.PathValue("protocol"))
	if err != nil {
		return nil, protocols.Proposal{}, err
	}
	if _, err := s.deps.Policy.Check(r.Context(), "read", access.Request{Perm: access.ReadRecord, PersonID: base.PersonID, Type: "Patient"}); err != nil {
		return nil, protocols.Proposal{}, err
	}
	prop, err := s.applyProtocol(r.Context(), p, base.PersonID, base.Plan.InPlan())
	return p, prop, err
}

// handlePlanProtocolProposal serves GET /api/v1/careplans/{id}/protocols/
// {protocol}/proposal: the proposal for the plan's person, each item
// saying whether the plan already carries it. It changes nothing.
func (s *Server) handlePlanProtocolProposal() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		cur, _, err := s.readCurrentPlan(r)
		if err != nil {
			return err
		}
		_, prop, err := s.planProtocolProposal(r, cur.PlanID, cur)
		if err != nil {
			return err
		}
		return encode(w, http.StatusOK, map[string]any{"plan_id": cur.PlanID, "based_on": cur.Number, "proposal": prop})
	}
}

type protocolDecisionsRequest struct {
	Decisions []protocols.Decision `json:"decisions"`
	Reason    string               `json:"reason"`
	BasedOn   int                  `json:"based_on"`
}

func (q protocolDecisionsRequest) Valid(context.Context) map[string]string {
	if len(q.Decisions) == 0 {
		return map[string]string{"decisions": "decide at least one item: accept, edit (with text) or decline (with a reason)"}
	}
	for _, d := range q.Decisions {
		if strings.TrimSpace(d.Key) == "" {
			return map[string]string{"decisions": "every decision names the item's key"}
		}
	}
	return nil
}

// handlePlanProtocolDecisions serves POST /api/v1/careplans/{id}/
// protocols/{protocol}/decisions: the coordinator's decisions about some
// or all of the items the protocol proposes, made into the plan's next
// version (If-Match or based_on). Goals need the person's own words.
func (s *Server) handlePlanProtocolDecisions() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q protocolDecisionsRequest
		return s.write(w, r, access.WriteCarePlan, &q, func() int { return q.BasedOn }, func(a careplan.Actor, id int64, base int) (careplan.Version, error) {
			cur, err := s.deps.CarePlans.Current(r.Context(), id)
			if err != nil {
				return careplan.Version{}, err
			}
			if cur.Number != base {
				return careplan.Version{}, careplan.Stale(base, cur.Number)
			}
			p, prop, err := s.planProtocolProposal(r, id, cur)
			if err != nil {
				return careplan.Version{}, err
			}
			return s.deps.CarePlans.ApplyProtocol(r.Context(), a, id, base, p, prop, q.Decisions, q.Reason)
		})
	}
}
