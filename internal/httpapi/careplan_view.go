package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"

	"github.com/wholecare/wholecare/internal/access"
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
@media print{body{font-size:13pt}a{color:#0b0c0c;text-decoration:none}}
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
{{with .Plan.Strengths}}<h2>{{if $.Mine}}My strengths{{else}}Strengths{{end}}</h2><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Plan.Needs}}<h2>{{if $.Mine}}What I need help with{{else}}Needs and concerns{{end}}</h2><ul>{{range .}}<li>{{.Description}}</li>{{end}}</ul>{{end}}
<h2>{{if .Mine}}My goals and what we will do{{else}}Goals and actions{{end}}</h2>
{{range .Goals}}<section class="goal"><h3 class="words">{{.Goal.Text}}</h3>
<p class="meta">{{.Goal.Status}}{{with .Goal.TargetDate}}, by {{.}}{{end}}{{if .Goal.Importance}}, importance {{.Goal.Importance}} out of 10{{end}}</p>
{{with .Actions}}<ul>{{range .}}<li>{{.What}} — {{who .Who}}{{with .When}}, {{.}}{{end}} <span class="meta">({{area .Area}}; {{.Status}}{{with .Confidence}}; confidence {{.}} out of 10{{end}})</span></li>{{end}}</ul>{{end}}
</section>{{else}}<p>No goals yet.</p>{{end}}
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
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		_, p, err := s.planAccess(r, id, access.ReadCarePlan, "read")
		if err != nil {
			return err
		}
		v, err := s.deps.CarePlans.Current(r.Context(), id)
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
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src "+planViewStyleHash+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		return planViewPage.Execute(w, struct {
			PlanID  int64
			Version int
			Plan    careplan.Plan
			Goals   []planGoalView
			Agreed  bool
			Mine    bool
			CSS     template.CSS
		}{v.PlanID, v.Number, v.Plan, goals, byPerson && byProf, p.Role == auth.ServiceUser, template.CSS(planViewCSS)})
	}
}
