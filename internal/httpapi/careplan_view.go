package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wholecare/wholecare/internal/access"
	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/auth"
	"github.com/wholecare/wholecare/internal/careplan"
)

// planViewCSS styles the plan page: large readable type, clear headings,
// no colour carrying meaning alone. Inline, allowed by its hash.
const planViewCSS = `
body{font-family:Arial,Helvetica,sans-serif;font-size:19px;line-height:1.45;color:#0b0c0c;margin:0 auto;padding:1em;max-width:46em}
h1{font-size:1.8em;margin:.3em 0}h2{font-size:1.35em;margin:1.2em 0 .3em;border-bottom:2px solid #d8dde0}h3{font-size:1.1em;margin:.8em 0 .2em}
.meta{color:#4c6272}.status{display:inline-block;border:2px solid #0b0c0c;padding:0 .4em;font-weight:bold}
dl{margin:.2em 0}dt{font-weight:bold;margin-top:.5em}dd{margin:0 0 0 1em}
.goal{border-left:6px solid #005eb8;padding:.2em .8em;margin:.8em 0}.goal .words{font-size:1.15em}
ul{margin:.2em 0 .4em 1.2em;padding:0}li{margin:.2em 0}a{color:#005eb8}a:focus{outline:3px solid #ffeb3b;background:#ffeb3b;color:#0b0c0c}
form{margin:.5em 0}label{display:block;font-weight:bold;margin:.4em 0 .1em}textarea,input[type=text]{font:inherit;width:100%;box-sizing:border-box;border:2px solid #0b0c0c;padding:.3em}
textarea:focus,input:focus,button:focus{outline:3px solid #ffeb3b;outline-offset:0}button{font:inherit;background:#007f3b;color:#fff;border:0;padding:.4em 1em;margin:.4em 0;cursor:pointer}
.error{border:4px solid #d5281b;padding:.4em .8em}.hint{color:#4c6272;margin:0}
@media print{body{font-size:13pt}a{color:#0b0c0c;text-decoration:none}form{display:none}}
`

var planViewStyleHash = func() string {
	sum := sha256.Sum256([]byte(planViewCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var areaLabels = map[careplan.Area]string{
	careplan.Information: "Information", careplan.SkillsEducation: "Skills and education", careplan.ToolsDevices: "Tools and monitoring devices",
	careplan.HealthyLife: "Healthy lifestyle", careplan.SupportNetworks: "Support networks", careplan.Clinical: "Clinical care",
}

var planViewPage = template.Must(template.New("plan").Funcs(template.FuncMap{
	"area": func(a careplan.Area) string { return areaLabels[a] },
	"who": func(w careplan.Who) string {
		switch w.Kind {
		case careplan.ByPerson:
			return "me"
		case careplan.ByCarer:
			return w.Name + " (carer)"
		}
		if w.Name != "" {
			return w.Name
		}
		return string(w.Kind)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .Mine}}My care and support plan{{else}}{{.Plan.Title}}{{end}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{{.CSS}}</style></head>
<body><main>
<h1>{{if .Mine}}My care and support plan{{else}}{{with .Plan.Title}}{{.}}{{else}}Care and support plan{{end}}{{end}}</h1>
{{with .Error}}<div class="error" role="alert"><p>{{.}}</p></div>{{end}}
<p class="meta"><span class="status">{{.Plan.Status}}</span> Version {{.Version}}{{if .Agreed}}, agreed by {{if .Mine}}me{{else}}the person{{end}} and {{.Plan.Coordinator.Name}}{{else}}, not yet agreed by both{{end}}.
{{with .Plan.Review.Next}} Next review: {{.}}.{{end}}</p>
<p>{{if .Mine}}My care coordinator is{{else}}Coordinated by{{end}} <strong>{{.Plan.Coordinator.Name}}</strong>{{with .Plan.Coordinator.Contact}}: {{.}}{{end}}.</p>
{{with .Plan.WhatMattersMost}}<h2>What matters most {{if $.Mine}}to me{{else}}to the person{{end}}</h2><p>{{.}}</p>{{end}}
{{with .Plan.AboutMe}}<h2>About me</h2><dl>
{{with .MostImportant}}<dt>What is most important to me</dt><dd>{{.}}</dd>{{end}}
{{with .ImportantPeople}}<dt>People who are important to me</dt><dd>{{.}}</dd>{{end}}
{{with .Communication}}<dt>How I communicate and how to communicate with me</dt><dd>{{.}}</dd>{{end}}
{{with .Wellness}}<dt>My wellness</dt><dd>{{.}}</dd>{{end}}
{{with .PleaseDoDont}}<dt>Please do and please don't</dt><dd>{{.}}</dd>{{end}}
{{with .HowWhenSupport}}<dt>How and when to support me</dt><dd>{{.}}</dd>{{end}}
{{with .AlsoWorthKnowing}}<dt>Also worth knowing about me</dt><dd>{{.}}</dd>{{end}}
{{with .SupportedBy}}<dt>Supported to write this by</dt><dd>{{.}}</dd>{{end}}
</dl>{{end}}
{{if .CanEditAboutMe}}<form method="post" action="/careplans/{{.PlanID}}/about-me">
<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="based_on" value="{{.Version}}">
<h2>{{if .Mine}}Write about me{{else}}About me, in the person's words{{end}}</h2>
<label for="am-most">What is most important to me</label><textarea id="am-most" name="most_important" rows="2">{{.Plan.AboutMe.MostImportant}}</textarea>
<label for="am-people">People who are important to me</label><textarea id="am-people" name="important_people" rows="2">{{.Plan.AboutMe.ImportantPeople}}</textarea>
<label for="am-comm">How I communicate and how to communicate with me</label><textarea id="am-comm" name="communication" rows="2">{{.Plan.AboutMe.Communication}}</textarea>
<label for="am-well">My wellness</label><textarea id="am-well" name="wellness" rows="2">{{.Plan.AboutMe.Wellness}}</textarea>
<label for="am-do">Please do and please don't</label><textarea id="am-do" name="please_do_dont" rows="2">{{.Plan.AboutMe.PleaseDoDont}}</textarea>
<label for="am-support">How and when to support me</label><textarea id="am-support" name="how_when_support" rows="2">{{.Plan.AboutMe.HowWhenSupport}}</textarea>
<label for="am-also">Also worth knowing about me</label><textarea id="am-also" name="also_worth_knowing" rows="2">{{.Plan.AboutMe.AlsoWorthKnowing}}</textarea>
<label for="am-by">Supported to write this by</label><input type="text" id="am-by" name="supported_by" value="{{.Plan.AboutMe.SupportedBy}}">
<button type="submit">Save About me</button></form>{{end}}
{{with .Plan.Strengths}}<h2>{{if $.Mine}}My strengths{{else}}Strengths{{end}}</h2><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Plan.Needs}}<h2>{{if $.Mine}}What I need help with{{else}}Needs and concerns{{end}}</h2><ul>{{range .}}<li>{{.Description}}</li>{{end}}</ul>{{end}}
<h2>{{if .Mine}}My goals and what we will do{{else}}Goals and actions{{end}}</h2>
{{range .Goals}}<section class="goal"><h3 class="words">{{.Goal.Text}}</h3>
<p class="meta">{{.Goal.Status}}{{with .Goal.TargetDate}}, by {{.}}{{end}}{{if .Goal.Importance}}, importance {{.Goal.Importance}} out of 10{{end}}</p>
{{with .Actions}}<ul>{{range .}}<li>{{.What}} — {{who .Who}}{{with .When}}, {{.}}{{end}} <span class="meta">({{area .Area}}; {{.Status}}{{with .Confidence}}; confidence {{.}} out of 10{{end}})</span></li>{{end}}</ul>{{end}}
{{if $.CanEdit}}<form method="post" action="/careplans/{{$.PlanID}}/goals/{{.Goal.ID}}">
<input type="hidden" name="csrf_token" value="{{$.CSRF}}"><input type="hidden" name="based_on" value="{{$.Version}}">
<label for="goal-{{.Goal.ID}}">The goal in the person's own words</label>
<textarea id="goal-{{.Goal.ID}}" name="text" rows="2" required>{{.Goal.Text}}</textarea>
<button type="submit">Save the goal</button></form>{{end}}
</section>{{else}}<p>No goals yet.</p>{{end}}
{{if .CanEdit}}<form method="post" action="/careplans/{{.PlanID}}/goals">
<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="based_on" value="{{.Version}}">
<label for="new-goal">A new goal, in the person's own words</label>
<p class="hint">Write what the person said, as they said it.</p>
<textarea id="new-goal" name="text" rows="2" required></textarea>
<button type="submit">Add the goal</button></form>{{end}}
{{with .Plan.Contingency}}{{if or .Triggers .WhatShouldHappen .EarlyWarningSigns .CopingStrategies}}<h2>If things go wrong</h2><dl>
{{with .EarlyWarningSigns}}<dt>Early warning signs</dt><dd>{{.}}</dd>{{end}}
{{with .Triggers}}<dt>Triggers</dt><dd>{{.}}</dd>{{end}}
{{with .WhatShouldHappen}}<dt>What should happen</dt><dd>{{.}}</dd>{{end}}
{{with .CopingStrategies}}<dt>What helps me cope</dt><dd>{{.}}</dd>{{end}}
{{range .WhoToContact}}<dt>{{.Name}}{{with .Role}}, {{.}}{{end}}</dt><dd>{{.Contact}}</dd>{{end}}
</dl>{{end}}{{end}}
{{with .Plan.ActionPlans}}<h2>{{if $.Mine}}My action plans{{else}}Condition action plans{{end}}</h2><ul>{{range .}}<li><a href="/careplans/{{$.PlanID}}/action-plan?condition={{.Condition}}">{{.Condition.Name}} action plan (print)</a></li>{{end}}</ul>{{end}}
{{with .Plan.Reviews}}<h2>Reviews</h2><ul>{{range .}}<li>{{.Date}}{{if not .Scheduled}} (unscheduled{{with .Trigger}}: {{.}}{{end}}){{end}}{{with .WhatChanged}}: {{.}}{{end}}</li>{{end}}</ul>{{end}}
</main></body></html>
`))

type planGoalView struct {
	Goal    careplan.Goal
	Actions []careplan.Action
}

// handlePlanPage is a plan as a page: the person's own view when the
// person (or their carer) reads it, written to them; the professional's
// otherwise. Server-rendered, no script.
func (s *Server) handlePlanPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, p, err := s.readCurrentPlan(r)
		if err != nil {
			return err
		}
		var goals []planGoalView
		for _, g := range v.Plan.Goals {
			gv := planGoalView{Goal: g}
			for _, a := range v.Plan.Actions {
				if a.GoalID == g.ID {
					gv.Actions = append(gv.Actions, a)
				}
			}
			goals = append(goals, gv)
		}
		byPerson, byProf := v.Plan.AgreedBy()
		sess, onSession := sessionFrom(r.Context())
		open := v.Plan.Status != careplan.Closed && onSession
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src "+planViewStyleHash+"; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		return planViewPage.Execute(w, struct {
			PlanID         int64
			Version        int
			Plan           careplan.Plan
			Goals          []planGoalView
			Agreed         bool
			Mine           bool
			CanEdit        bool
			CanEditAboutMe bool
			CSRF           string
			Error          string
			CSS            template.CSS
		}{v.PlanID, v.Number, v.Plan, goals, byPerson && byProf, p.Role == auth.ServiceUser,
			open && access.Has(p.Role, access.WriteCarePlan), open && access.Has(p.Role, access.WriteAboutMe), sess.CSRF,
			pageError(r.URL.Query().Get("error")), template.CSS(planViewCSS)})
	}
}

// pageErrors are the messages a form's redirect may name: fixed texts,
// so no request text is reflected into the page.
var pageErrors = map[string]string{
	"stale":   "Someone else changed the plan while you were editing it. Your change was not saved: here is the plan as it is now; make your change again.",
	"invalid": "That could not be saved: a goal needs the person's own words, and every section has a length limit. Check what you wrote and try again.",
}

func pageError(code string) string { return pageErrors[code] }

// planForm handles a plan edit sent from the page: it checks the
// permission and the person through planAccess, applies f based on the
// form's based_on version, and sends the browser back to the plan, with
// an error code when the change was refused (Post/Redirect/Get).
func (s *Server) planForm(perm access.Permission, f func(r *http.Request, a careplan.Actor, id int64, base int) error) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return apperr.E(apperr.Invalid, "the form could not be read")
		}
		back := "/careplans/" + strconv.FormatInt(id, 10)
		_, p, err := s.planAccess(r, id, perm, "update")
		if err != nil {
			return err
		}
		base, err := strconv.Atoi(r.PostFormValue("based_on"))
		if err != nil || base < 1 {
			return apperr.E(apperr.Invalid, "the form does not say which version of the plan it was based on")
		}
		switch err := f(r, planActor(p), id, base); {
		case errors.Is(err, careplan.ErrStale):
			back += "?error=stale"
		case apperr.Is(err, apperr.Invalid):
			back += "?error=invalid"
		case err != nil:
			return err
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
}

func (s *Server) handleGoalForm() handler {
	return s.planForm(access.WriteCarePlan, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		text := strings.TrimSpace(r.PostFormValue("text"))
		if text == "" {
			return apperr.E(apperr.Invalid, "a goal needs the person's words")
		}
		g := careplan.Goal{Text: text}
		reason := "goal added on the plan page"
		if gid := r.PathValue("gid"); gid != "" {
			cur, err := s.deps.CarePlans.Version(r.Context(), id, base)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(cur.Plan.Goals, func(x careplan.Goal) bool { return x.ID == gid })
			if i < 0 {
				return apperr.E(apperr.Invalid, "no such goal in that version")
			}
			g = cur.Plan.Goals[i]
			g.Text, reason = text, "goal changed on the plan page, in the person's words"
		}
		_, _, err := s.deps.CarePlans.PutGoal(r.Context(), a, id, base, g, reason)
		return err
	})
}

func (s *Server) handleAboutMeForm() handler {
	return s.planForm(access.WriteAboutMe, func(r *http.Request, a careplan.Actor, id int64, base int) error {
		f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
		am := careplan.AboutMe{MostImportant: f("most_important"), ImportantPeople: f("important_people"), Communication: f("communication"),
			Wellness: f("wellness"), PleaseDoDont: f("please_do_dont"), HowWhenSupport: f("how_when_support"),
			AlsoWorthKnowing: f("also_worth_knowing"), SupportedBy: f("supported_by")}
		_, err := s.deps.CarePlans.SetAboutMe(r.Context(), a, id, base, am, "About me written on the plan page")
		return err
	})
}
