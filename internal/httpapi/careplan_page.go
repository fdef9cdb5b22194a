package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"

	"github.com/wholecare/wholecare/internal/apperr"
	"github.com/wholecare/wholecare/internal/careplan"
)

// actionPlanCSS is the page's only style: large readable type, the zone
// colours with text labels (never colour alone), one plan to a printed
// page. It is inline, allowed by its hash in the page's own
// Content-Security-Policy, so the page needs no other route and no script.
const actionPlanCSS = `
body{font-family:Arial,Helvetica,sans-serif;font-size:19px;line-height:1.4;color:#0b0c0c;margin:1.5em;max-width:50em}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:.6em 0 .2em}
.who{margin:0 0 .6em}.base{border:1px solid #b1b4b6;padding:.4em .8em;margin:.4em 0}
.zone{border-left:12px solid;padding:.3em .8em;margin:.6em 0;break-inside:avoid}
.green{border-color:#007f3b;background:#e6f3ea}.amber{border-color:#ffb81c;background:#fff6e0}.red{border-color:#d5281b;background:#fbe9e7}
ul{margin:.2em 0 .4em 1.2em;padding:0}.plan{break-after:page}.plan:last-child{break-after:auto}
@media print{body{margin:0;font-size:14pt}.zone{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`

var actionPlanStyleHash = func() string {
	sum := sha256.Sum256([]byte(actionPlanCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var actionPlanPage = template.Must(template.New("action-plan").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"zoneName": func(c string) string {
		return map[string]string{"green": "Green: I am well", "amber": "Amber: I am getting worse", "red": "Red: emergency"}[c]
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>My action plan</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{{.CSS}}</style></head>
<body>
{{- range .Plans}}
<section class="plan">
<h1>My {{.Condition.Name}} action plan</h1>
<p class="who">Plan {{$.PlanID}}, version {{$.Version}}{{with $.Coordinator.Name}}. Coordinated by {{.}}{{end}}{{with $.Coordinator.Contact}} ({{.}}){{end}}</p>
<div class="base">
{{- with .Thresholds.BestPeakFlow}}<p>My best peak flow: <strong>{{.}} L/min</strong></p>{{end}}
{{- with .Thresholds.UsualBreathlessness}}<p>My usual breathlessness: <strong>{{.}}</strong></p>{{end}}
{{- with .Thresholds.UsualSputum}}<p>My usual sputum: <strong>{{.}}</strong></p>{{end}}
{{- with .Thresholds.DryWeightKg}}<p>My dry weight: <strong>{{printf "%.1f" .}} kg</strong></p>{{end}}
</div>
{{- range .Zones}}
<div class="zone {{.Colour}}">
<h2>{{zoneName .Colour}}</h2>
<p>When:</p><ul>{{range .Signs}}<li>{{.}}</li>{{end}}</ul>
<p>What I do:</p><ul>{{range .Do}}<li>{{.}}</li>{{end}}</ul>
</div>
{{- end}}
{{- with .Medicines}}<p>My medicines: {{.}}</p>{{end}}
{{- range .Contacts}}<p>{{.Name}}{{with .Role}}, {{.}}{{end}}: <strong>{{.Contact}}</strong></p>{{end}}
</section>
{{- end}}
</body></html>
`))

// handleActionPlanPage is the printable one-page condition action plan(s)
// of a plan's current version: HTML with print CSS, no script, or plain
// text with ?format=text. ?condition=copd shows one plan only.
func (s *Server) handleActionPlanPage() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, _, err := s.readCurrentPlan(r)
		if err != nil {
			return err
		}
		plans := v.Plan.ActionPlans
		if c := r.URL.Query().Get("condition"); c != "" {
			plans = nil
			for _, ap := range v.Plan.ActionPlans {
				if string(ap.Condition) == c {
					plans = append(plans, ap)
				}
			}
		}
		if len(plans) == 0 {
			return apperr.E(apperr.NotFound, "this plan has no condition action plan")
		}
		if r.URL.Query().Get("format") == "text" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			for i, ap := range plans {
				if i > 0 {
					w.Write([]byte("\f\n"))
				}
				w.Write([]byte(ap.Text()))
			}
			return nil
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src "+actionPlanStyleHash+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		return actionPlanPage.Execute(w, struct {
			PlanID      int64
			Version     int
			Coordinator careplan.Coordinator
			Plans       []careplan.ActionPlan
			CSS         template.CSS
		}{v.PlanID, v.Number, v.Plan.Coordinator, plans, template.CSS(actionPlanCSS)})
	}
}
