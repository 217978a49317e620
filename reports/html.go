package reports

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"paydrill/harness/result"
	"strings"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

// page is report.html's template: one self-contained page (inline CSS and
// SVG, no script, nothing fetched).
var page = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"upper":   strings.ToUpper,
	"lower":   strings.ToLower,
	"join":    strings.Join,
	"seconds": seconds,
	"ms":      ms,
	"pct":     pct,
	"dollars": Dollars,
	"rto":     rto,
	"drill":   drillSVG,
	"dur": func(v *float64) string {
		if v == nil {
			return "-"
		}
		return seconds(*v)
	},
	"opt": func(v *float64) string {
		if v == nil {
			return "never"
		}
		return seconds(*v)
	},
	"value": func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprintf("%.4g", *v)
	},
}).ParseFS(templates, "templates/report.html.tmpl"))

// anomalyKinds are the anomaly kinds in the order the page lists them,
// with their headings.
var anomalyKinds = []struct{ kind, title string }{
	{result.KindDoubleCharge, "Double charges"},
	{result.KindLostOrder, "Lost orders"},
	{result.KindPhantomCharge, "Phantom charges"},
	{result.KindUnreconciled, "Unreconciled orders"},
	{result.KindWrongMatch, "Wrong matches"},
	{result.KindOrphanCharge, "Orphan charges"},
	{result.KindSplitBrain, "Split-brain orders"},
}

// anomalyGroup is the anomalies of one kind: how many there were, and the
// ones listed with their evidence.
type anomalyGroup struct {
	Kind, Title string
	Count       int
	List        []result.Anomaly
}

// htmlPage is what the template renders.
type htmlPage struct {
	R            *result.Result
	Figures      []Figure
	PlotsMissing string // why there are no plots
	Anomalies    []anomalyGroup
	// Model: the model runtime's result, whose money figures are null.
	Model bool
}

// HTML writes a run's report as one self-contained HTML page: the verdict,
// the key figures, every expectation with its verdict, plots over model
// time of throughput, success, failovers and latency percentiles with every
// fault window shaded and labelled, each fault's recovery, and each anomaly
// with its evidence. The plots come from results.ndjson in dir, the run's
// directory; without it the page says so and has none.
func HTML(w io.Writer, r *result.Result, dir string) error {
	data := htmlPage{R: r, Model: r.Runtime == result.RuntimeModel}
	for _, k := range anomalyKinds {
		g := anomalyGroup{Kind: k.kind, Title: k.title, Count: count(r, k.kind)}
		for _, a := range r.Anomalies {
			if a.Kind == k.kind {
				g.List = append(g.List, a)
			}
		}
		if g.Count > 0 || len(g.List) > 0 {
			g.Count = max(g.Count, len(g.List))
			data.Anomalies = append(data.Anomalies, g)
		}
	}
	answers, err := ReadAnswers(filepath.Join(dir, "results.ndjson"), r.Speed)
	switch {
	case data.Model:
		data.PlotsMissing = "the model runtime keeps no per-order results to plot"
	case err != nil:
		data.PlotsMissing = err.Error()
	case len(answers) == 0:
		data.PlotsMissing = "no orders were answered"
	default:
		data.Figures, err = NewTimeline(answers, r.ModelDurationS).Figures(r.Outages, r.ModelDurationS)
		if err != nil {
			return err
		}
	}
	return page.Execute(w, data)
}

// WriteHTML writes report.html into the run's directory.
func WriteHTML(dir string, r *result.Result) error {
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	if err := HTML(f, r, dir); err != nil {
		f.Close()
		return fmt.Errorf("report.html: %w", err)
	}
	return f.Close()
}
