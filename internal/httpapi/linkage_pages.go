package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/linkage"
	"github.com/wholecare/wholecare/internal/web"
)

// The record-linkage review queue as pages: the same store, permission
// (ReviewLinkage, administrators) and auditing as the JSON API, and the
// same decision (decideLinkReview, merging on a confirmation).

func (s *Server) linkagePageRoutes() {
	s.page("GET /linkage", permitted, s.handleLinkagePage())
	s.page("GET /linkage/{id}", permitted, s.handleLinkagePairPage())
	s.page("POST /linkage/{id}/confirm", permitted, s.handleLinkageDecideForm(linkage.ReviewConfirmed))
	s.page("POST /linkage/{id}/reject", permitted, s.handleLinkageDecideForm(linkage.ReviewRejected))
}

var linkageNotices = map[string]string{
	"confirmed": "Confirmed: the two records are now one person, kept under the older record. The merge can be undone from the person's merge history.",
	"rejected":  "Rejected: the two records stay separate people, and this pair will not be offered again.",
}

var linkageErrors = map[string]string{
	"reason":   "Say why: what in the records decided it (at most 1,000 characters). Nothing was recorded.",
	"decided":  "Someone has already decided this pair. Nothing you sent was recorded.",
	"no-merge": "Confirming merges the two people, and this server has no merge configured. Nothing was recorded.",
}

const linkagePageSize = 50

// linkageRow is a pair with its probability as a percentage.
type linkageRow struct {
	reviewView
	Pct float64
}

type linkageListView struct {
	Reviews                      []linkageRow
	Pending, Confirmed, Rejected int
	Prev, Next                   string
	From, To                     int
}

func (s *Server) handleLinkagePage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewLinkage)
		if err != nil {
			return err
		}
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		offset = max(0, offset)
		rs, counts, err := s.deps.Reviews.PendingReviews(r.Context(), linkagePageSize, offset)
		if err != nil {
			return err
		}
		if err := s.deps.Policy.Record(r.Context(), access.AdminEvent(p, "link-review-list", "", 0, s.deps.Now())); err != nil {
			return err
		}
		v := linkageListView{Pending: counts.Pending, Confirmed: counts.Confirmed, Rejected: counts.Rejected,
			From: offset + 1, To: offset + len(rs)}
		for _, rv := range rs {
			v.Reviews = append(v.Reviews, linkageRow{reviewViewOf(rv, false), rv.Probability * 100})
		}
		if offset > 0 {
			v.Prev = "/linkage?offset=" + strconv.Itoa(max(0, offset-linkagePageSize))
		}
		if offset+len(rs) < counts.Pending {
			v.Next = "/linkage?offset=" + strconv.Itoa(offset+linkagePageSize)
		}
		pg := s.frame(r, "Record linkage", web.SecLinkage, web.Crumb{Label: "Record linkage"})
		pg.Notice, pg.Error = linkageNotices[r.URL.Query().Get("done")], linkageErrors[r.URL.Query().Get("error")]
		pg.Data = v
		s.render(w, r, http.StatusOK, "linkage-list", pg)
		return nil
	}
}

// linkageField is one demographic compared across the pair.
type linkageField struct {
	Label, A, B string
	Compare     string // "Same", "Different", "Missing"
	Tag         string
}

type linkagePairView struct {
	reviewView
	A, B      reviewedEntry
	Fields    []linkageField
	Pending   bool
	Pct       float64
	DecidedOn string
	Evidence  []linkageEvidence
}

type linkageEvidence struct {
	evidenceView
	Label    string
	Positive bool
}

// linkageFieldLabels name the comparison fields in plain words.
var linkageFieldLabels = map[string]string{
	"nhs_number": "NHS number", "given_name": "Given name", "family_name": "Family name", "birth_date": "Date of birth",
	"sex": "Sex", "postcode": "Postcode", "practice_id": "GP practice", "date_of_death": "Date of death",
}

func compareField(label, a, b string) linkageField {
	f := linkageField{Label: label, A: a, B: b}
	switch {
	case a == "" || b == "":
		f.Compare, f.Tag = "Missing", "grey"
	case strings.EqualFold(strings.ReplaceAll(a, " ", ""), strings.ReplaceAll(b, " ", "")):
		f.Compare, f.Tag = "Same", "green"
	default:
		f.Compare, f.Tag = "Different", "amber"
	}
	return f
}

func (s *Server) handleLinkagePairPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewLinkage)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		rv, err := s.deps.Reviews.LinkReview(r.Context(), id)
		if err != nil {
			return err
		}
		v := linkagePairView{reviewView: reviewViewOf(rv, true), Pending: rv.Status == linkage.ReviewPending, Pct: rv.Probability * 100}
		if !rv.DecidedAt.IsZero() {
			v.DecidedOn = rv.DecidedAt.Format("2 Jan 2006 15:04")
		}
		var people [2]reviewedEntry
		for i, pid := range v.People {
			ev := access.AdminEvent(p, "link-review-read", "Patient", pid, s.deps.Now())
			ev.Detail = "link review " + strconv.FormatInt(rv.ID, 10)
			if err := s.deps.Policy.Record(r.Context(), ev); err != nil {
				return err
			}
			person, err := s.deps.Data.Person(r.Context(), pid)
			switch {
			case apperr.KindOf(err) == apperr.NotFound:
				people[i] = reviewedEntry{personView: personView{ID: pid}}
			case err != nil:
				return err
			default:
				people[i] = reviewedEntry{personView: personViewOf(person), Found: true}
			}
		}
		v.A, v.B = people[0], people[1]
		a, b := v.A.personView, v.B.personView
		v.Fields = []linkageField{
			compareField("NHS number", web.NHSNumber(a.NHSNumber), web.NHSNumber(b.NHSNumber)),
			compareField("Given name", a.GivenName, b.GivenName),
			compareField("Family name", a.FamilyName, b.FamilyName),
			compareField("Date of birth", a.BirthDate, b.BirthDate),
			compareField("Sex", a.Sex, b.Sex),
			compareField("Postcode", a.Postcode, b.Postcode),
			compareField("GP practice", a.PracticeID, b.PracticeID),
			compareField("Date of death", a.DateOfDeath, b.DateOfDeath),
			compareField("Where the record came from", a.Source, b.Source),
		}
		for _, e := range v.reviewView.Evidence {
			label := linkageFieldLabels[e.Field]
			if label == "" {
				label = strings.ReplaceAll(e.Field, "_", " ")
			}
			v.Evidence = append(v.Evidence, linkageEvidence{evidenceView: e, Label: label, Positive: e.Weight >= 0})
		}
		pg := s.frame(r, "Are these one person?", web.SecLinkage, web.Crumb{Label: "Record linkage", Href: "/linkage"}, web.Crumb{Label: "Pair " + strconv.FormatInt(rv.ID, 10)})
		pg.Notice, pg.Error = linkageNotices[r.URL.Query().Get("done")], linkageErrors[r.URL.Query().Get("error")]
		pg.Data = v
		s.render(w, r, http.StatusOK, "linkage-pair", pg)
		return nil
	}
}

// handleLinkageDecideForm decides a pair from the page's form, through
// the same decision as the API.
func (s *Server) handleLinkageDecideForm(status linkage.ReviewStatus) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := access.Allow(r.Context(), access.ReviewLinkage)
		if err != nil {
			return err
		}
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		back := "/linkage/" + strconv.FormatInt(id, 10)
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if reason == "" || len(reason) > 1000 {
			http.Redirect(w, r, back+"?error=reason", http.StatusSeeOther)
			return nil
		}
		_, err = s.decideLinkReview(r.Context(), p, id, status, reason)
		switch {
		case apperr.Is(err, apperr.Conflict):
			http.Redirect(w, r, back+"?error=decided", http.StatusSeeOther)
			return nil
		case apperr.Is(err, apperr.Unavailable) && s.deps.Merger == nil:
			http.Redirect(w, r, back+"?error=no-merge", http.StatusSeeOther)
			return nil
		case err != nil:
			return err
		}
		http.Redirect(w, r, "/linkage?"+url.Values{"done": {string(status)}}.Encode(), http.StatusSeeOther)
		return nil
	}
}
