package httpapi

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/caregaps"
	"github.com/wholecare/wholecare/internal/cohort"
	"github.com/wholecare/wholecare/internal/population"
	"github.com/wholecare/wholecare/internal/risk"
	"github.com/wholecare/wholecare/internal/segment"
	"github.com/wholecare/wholecare/internal/web"
)

// Case finding as a page: the same ranking and the same access checks as
// GET /api/v1/casefinding (only people the caller may see, each audited as
// a search result), with filters and pages, and a form to save the cohort
// as POST /api/v1/cohorts does.

// caseFindingPageSize is how many people one page lists.
const caseFindingPageSize = 25

func (s *Server) caseFindingPageRoutes() {
	s.page("GET /case-finding", person, s.handleCaseFindingPage())
	if s.deps.Cohorts != nil {
		s.page("POST /case-finding/save", permitted, s.handleCaseFindingSave())
	}
}

type caseRow struct {
	ID                    int64
	Name, NHSNumber       string
	BirthDate             time.Time
	Age                   int
	Conditions            int
	Risk                  string // per cent
	Band                  string
	BandTag               string // a tag colour; the band's words carry the meaning
	Segment               string
	Gaps                  int
	GapsKnown, AgeUnknown bool
}

type caseFindingView struct {
	Q, Cohort, Kaiser, EFI, Practice string
	Saved                            []dashOption
	Levels, Bands, Practices         []dashOption
	Searched                         bool
	People                           []caseRow
	From, To                         int
	Visible                          int64
	// Complete is set when every ranked person (up to the scan cap) was
	// checked, so Visible is how many the caller may see. Otherwise the
	// check stopped once this page and one more person were found, and
	// Visible is the page's last position: the caller may see more than
	// that many.
	Complete       bool
	Capped         bool
	Ranked         int
	Prev, Next     string
	CanSave        bool
	SaveExpression string
}

// caseFindingDone and caseFindingErrors are the fixed texts of the save
// form's outcomes.
var caseFindingDone = map[string]string{
	"saved": "The cohort is saved. It is listed under saved cohorts, and this page now shows it.",
}

var caseFindingErrors = map[string]string{
	"name":        "Give the cohort a name of at most 120 characters, with no spaces at the start or end.",
	"expression":  "The cohort to save was empty or could not be read. Search with it first, then save it.",
	"description": "The description can be at most 2,000 characters.",
}

var riskBandNames = [...]string{1: "low", 2: "moderate", 3: "raised", 4: "high", 5: "very high"}
var riskBandTags = [...]string{1: "green", 2: "blue", 3: "amber", 4: "red", 5: "red"}

// handleCaseFindingPage lists the people of a cohort most at risk of an
// emergency admission, highest first, among those the caller may see.
func (s *Server) handleCaseFindingPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		pr, ok := auth.FromContext(r.Context())
		if !ok || pr == nil {
			return apperr.E(apperr.Unauthenticated, "sign in first")
		}
		if !access.Has(pr.Role, access.ReadRecord) {
			return apperr.E(apperr.Forbidden, "Your role does not read records, so it cannot list people. The population dashboard counts them.")
		}
		if !access.Has(pr.Role, access.WriteCarePlan) {
			// A person and their carer read one record, their own: a
			// ranking of everyone they may see would be a list of one.
			return apperr.E(apperr.Forbidden, "Case finding is for the professionals who plan people's care.")
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		q := r.URL.Query()
		v := caseFindingView{Q: strings.TrimSpace(q.Get("q")), Cohort: q.Get("cohort"), Kaiser: q.Get("kaiser"), EFI: q.Get("efi"),
			Practice: q.Get("practice"), CanSave: s.deps.Cohorts != nil && access.Has(pr.Role, access.ReadAggregates)}
		p := s.frame(r, "Case finding", web.SecCaseFind)
		p.Notice = caseFindingDone[q.Get("done")]
		p.Error = caseFindingErrors[q.Get("error")]
		now := s.deps.Now()
		status := http.StatusOK
		var problems []string

		// The form's choices.
		if s.deps.Cohorts != nil {
			cs, err := s.deps.Cohorts.Cohorts(r.Context(), "")
			if err != nil {
				return err
			}
			for _, c := range cs {
				id := strconv.FormatInt(c.ID, 10)
				v.Saved = append(v.Saved, dashOption{id, c.Name, id == v.Cohort})
			}
		}
		for i := 3; i >= 0; i-- {
			n := strconv.Itoa(i)
			v.Levels = append(v.Levels, dashOption{n, dashLevelName(i), n == v.Kaiser})
		}
		for _, b := range population.FrailtyBands {
			v.Bands = append(v.Bands, dashOption{string(b), capitalFirst(string(b)), string(b) == v.EFI})
		}
		alive, err := eng.Eval(population.Alive(), now)
		if err != nil {
			return err
		}
		pracs, err := eng.Breakdown(alive, population.DimPractice, now)
		if err != nil {
			return err
		}
		for _, g := range pracs {
			if g.Key != "unknown" {
				v.Practices = append(v.Practices, dashOption{g.Key, g.Key, g.Key == v.Practice})
			}
		}

		// The cohort: the text, a saved cohort, and the filters, all
		// together.
		var exprs []population.Expr
		var texts []string
		if v.Q != "" {
			x, err := parseCohort(eng, "Cohort", v.Q)
			if err != nil {
				problems = append(problems, apperr.Message(err))
			} else {
				exprs = append(exprs, x)
				texts = append(texts, "("+v.Q+")")
			}
		}
		if v.Cohort != "" {
			c, err := s.savedCohort(r.Context(), v.Cohort)
			switch {
			case apperr.Is(err, apperr.Invalid):
				problems = append(problems, "Saved cohort: choose one from the list.")
			case err != nil:
				return err
			default:
				x, err := parseCohort(eng, "Saved cohort "+c.Name, c.Expression)
				if err != nil {
					problems = append(problems, apperr.Message(err))
				} else {
					exprs = append(exprs, x)
					texts = append(texts, "("+c.Expression+")")
				}
			}
		}
		if v.Kaiser != "" {
			l, err := strconv.Atoi(v.Kaiser)
			if err != nil || l < 0 || l > 3 {
				problems = append(problems, "Kaiser level: choose a level from the list.")
			} else {
				exprs = append(exprs, population.Kaiser(l, l))
				texts = append(texts, "kaiser = "+v.Kaiser)
			}
		}
		if v.Practice != "" {
			exprs = append(exprs, population.Practice(v.Practice))
			texts = append(texts, "practice = "+v.Practice)
		}
		efi := -1
		if v.EFI != "" {
			if efi = population.FrailtyIndex(risk.FrailtyBand(v.EFI)); efi < 0 {
				problems = append(problems, "Frailty: choose an eFI band from the list.")
			}
		}
		if len(problems) > 0 {
			p.Error = strings.Join(problems, " ")
			status = http.StatusBadRequest
		}
		if v.Q != "" || v.Cohort != "" || v.Kaiser != "" || v.Practice != "" || v.EFI != "" || q.Has("search") {
			v.Searched = len(problems) == 0
		}
		v.SaveExpression = strings.Join(texts, " and ")
		if !v.Searched {
			p.Data = v
			s.render(w, r, status, "case-finding", p)
			return nil
		}
		expr := population.Alive()
		if len(exprs) > 0 {
			expr = population.And(append([]population.Expr{expr}, exprs...)...)
		}
		if v.SaveExpression == "" {
			v.SaveExpression = "alive"
		}
		page := 1
		if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
			page = n
		}

		// Rank everyone in the cohort (the cost of ranking does not depend
		// on how many are kept), keep the frailty band asked for, then
		// check access for at most caseFindingScan of them, as the API
		// does.
		ranked, err := eng.Rank(expr, now, 0, math.MaxInt32)
		if err != nil {
			return err
		}
		ids := make([]int64, 0, min(len(ranked), caseFindingScan))
		byID := map[int64]population.Ranked{}
		for _, rk := range ranked {
			if len(ids) == caseFindingScan {
				v.Capped = true
				break
			}
			if efi >= 0 {
				sc, ok := eng.ScoresOf(rk.PersonID)
				if !ok || population.FrailtyIndex(risk.EFIBand(sc.EFIDeficits)) != efi {
					continue
				}
			}
			ids = append(ids, rk.PersonID)
			byID[rk.PersonID] = rk
		}
		v.Ranked = len(ids)
		guard := s.deps.Policy.Guard()
		mine, complete, err := visibleFirst(r.Context(), guard, ids, page*caseFindingPageSize+1)
		if err != nil {
			return err
		}
		v.Visible, v.Complete = int64(len(mine)), complete
		lo := min((page-1)*caseFindingPageSize, len(mine))
		hi := min(lo+caseFindingPageSize, len(mine))
		v.From, v.To = lo+1, hi
		if !v.Complete {
			v.Visible = int64(hi)
		}
		asOf := now.UTC().Truncate(24 * time.Hour)
		var ltcs []population.Expr
		for _, c := range segment.LongTermConditions {
			if x, err := eng.Parse("has(" + string(c) + ")"); err == nil {
				ltcs = append(ltcs, x)
			}
		}
		for _, id := range mine[lo:hi] {
			per, err := s.deps.Data.Person(r.Context(), id)
			if err != nil {
				return err
			}
			rk := byID[id]
			band := population.RiskBandOf(rk.Risk)
			row := caseRow{ID: id, Name: per.GivenName + " " + per.FamilyName, NHSNumber: per.NHSNumber, BirthDate: per.BirthDate,
				Age: per.AgeAt(now), Risk: strconv.FormatFloat(float64(rk.Risk)*100, 'f', 1, 64) + "%",
				Band: riskBandNames[band], BandTag: riskBandTags[band]}
			row.AgeUnknown = row.Age < 0
			for _, x := range ltcs {
				if in, err := eng.Member(x, id, now); err == nil && in {
					row.Conditions++
				}
			}
			if sc, ok := eng.ScoresOf(id); ok {
				if seg, _ := segment.Rule(segment.BridgesScheme, sc.Rules.Bridges); seg != 0 {
					row.Segment = capitalFirst(segment.Bridges(seg).String())
				}
			}
			if s.deps.CareGaps != nil {
				gaps, err := s.deps.CareGaps.Person(eng, id, asOf)
				if err != nil && !apperr.Is(err, apperr.NotFound) {
					return err
				}
				row.GapsKnown = err == nil
				for _, g := range gaps {
					if g.Status == caregaps.Gap {
						row.Gaps++
					}
				}
			}
			v.People = append(v.People, row)
		}
		if err := guard.Accessed(r.Context(), "search", "RiskAssessment", mine[lo:hi]); err != nil {
			return err
		}
		link := func(n int) string {
			u := url.Values{}
			for _, k := range []string{"q", "cohort", "kaiser", "efi", "practice"} {
				if x := q.Get(k); x != "" {
					u.Set(k, x)
				}
			}
			u.Set("search", "1")
			u.Set("page", strconv.Itoa(n))
			return "/case-finding?" + u.Encode()
		}
		if page > 1 {
			v.Prev = link(page - 1)
		}
		if hi < len(mine) {
			v.Next = link(page + 1)
		}
		p.Data = v
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, status, "case-finding", p)
		return nil
	}
}

// handleCaseFindingSave saves the cohort a search was made with, for the
// roles that may save cohorts (as POST /api/v1/cohorts), and shows it.
func (s *Server) handleCaseFindingSave() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		pr, err := access.Allow(r.Context(), access.ReadAggregates)
		if err != nil {
			return err
		}
		c := cohort.Saved{Name: r.PostFormValue("name"), Expression: r.PostFormValue("expression"),
			Description: r.PostFormValue("description"), CreatedBy: pr.UserID, CreatedName: pr.Name, CreatedAt: s.deps.Now()}
		back := func(code string) error {
			u := url.Values{"error": {code}}
			if c.Expression != "" && len(c.Expression) <= population.MaxCohortText {
				u.Set("q", c.Expression)
			}
			http.Redirect(w, r, "/case-finding?"+u.Encode(), http.StatusSeeOther)
			return nil
		}
		problems := c.Problems()
		for _, k := range []string{"name", "expression", "description"} {
			if _, bad := problems[k]; bad {
				return back(k)
			}
		}
		eng, err := s.deps.Population.Engine()
		if err != nil {
			return err
		}
		if _, err := parseCohort(eng, "expression", c.Expression); err != nil {
			if apperr.Is(err, apperr.Invalid) {
				return back("expression")
			}
			return err
		}
		saved, err := s.deps.Cohorts.SaveCohort(r.Context(), c)
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/case-finding?"+url.Values{"cohort": {strconv.FormatInt(saved.ID, 10)}, "done": {"saved"}}.Encode(), http.StatusSeeOther)
		return nil
	}
}
