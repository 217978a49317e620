package reports

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// Answer is one order as the client saw it, in model time: when it was
// sent (from the first order), how long the answer took, the status code
// (0: no answer) and which path answered.
type Answer struct {
	AtS        float64
	LatencyMS  float64
	Code       int
	AnsweredBy string
}

// ReadAnswers reads a run's results.ndjson (vegeta's JSON results, one a
// line) and converts it to model time with speed. Times count from the
// first order sent.
func ReadAnswers(path string, speed float64) ([]Answer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := vegeta.NewJSONDecoder(f)
	type raw struct {
		at      time.Time
		latency time.Duration
		code    int
		by      string
	}
	var rows []raw
	var first time.Time
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if first.IsZero() || res.Timestamp.Before(first) {
			first = res.Timestamp
		}
		rows = append(rows, raw{res.Timestamp, res.Latency, int(res.Code), res.Headers.Get(wire.HeaderAnsweredBy)})
	}
	out := make([]Answer, len(rows))
	for i, r := range rows {
		out[i] = Answer{
			AtS:        r.at.Sub(first).Seconds() * speed,
			LatencyMS:  r.latency.Seconds() * 1000 * speed,
			Code:       r.code,
			AnsweredBy: r.by,
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AtS < out[j].AtS })
	return out, nil
}

// Bucket is the orders sent within one step of a Timeline.
type Bucket struct {
	StartS    float64
	Sent      int
	Succeeded int // 2xx
	Errored   int // 5xx or no answer
	Failovers int // answered by capture
	// Latency percentiles, model ms; NaN when no order was sent.
	P50, P95, P99 float64
}

// Timeline is a run's answers in equal steps of model time.
type Timeline struct {
	StepS   float64
	Buckets []Bucket
}

// NewTimeline buckets answers into about 100 steps of a round length over
// [0, endS).
func NewTimeline(answers []Answer, endS float64) Timeline {
	if n := len(answers); n > 0 {
		endS = math.Max(endS, answers[n-1].AtS)
	}
	step := niceStep(endS / 100)
	t := Timeline{StepS: step, Buckets: make([]Bucket, int(math.Ceil(endS/step))+1)}
	lat := make([][]float64, len(t.Buckets))
	for i := range t.Buckets {
		t.Buckets[i].StartS = float64(i) * step
	}
	for _, a := range answers {
		i := min(int(a.AtS/step), len(t.Buckets)-1)
		b := &t.Buckets[i]
		b.Sent++
		switch {
		case a.Code >= 200 && a.Code < 300:
			b.Succeeded++
		case a.Code == 0 || a.Code >= 500:
			b.Errored++
		}
		if a.AnsweredBy == wire.AnsweredByCapture {
			b.Failovers++
		}
		lat[i] = append(lat[i], a.LatencyMS)
	}
	for i := range t.Buckets {
		b := &t.Buckets[i]
		b.P50, b.P95, b.P99 = math.NaN(), math.NaN(), math.NaN()
		if xs := lat[i]; len(xs) > 0 {
			sort.Float64s(xs)
			b.P50, b.P95, b.P99 = rank(xs, 0.50), rank(xs, 0.95), rank(xs, 0.99)
		}
	}
	return t
}

// rank is the nearest-rank quantile q of sorted xs.
func rank(xs []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// niceStep rounds s up to 1, 2 or 5 times a power of ten seconds, at
// least one second.
func niceStep(s float64) float64 {
	if s <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(s)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= s {
			return m * p
		}
	}
	return 10 * p
}

// Figure is one plot rendered as inline SVG.
type Figure struct {
	Title string
	SVG   template.HTML
}

// series is one line of a plot: its name, colour and y per bucket (NaN:
// no point).
type series struct {
	name  string
	color color.Color
	y     func(Bucket) float64
}

var (
	blue   = color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff}
	green  = color.RGBA{R: 0x2c, G: 0x9c, B: 0x4a, A: 0xff}
	orange = color.RGBA{R: 0xe0, G: 0x7b, B: 0x10, A: 0xff}
	red    = color.RGBA{R: 0xc8, G: 0x2a, B: 0x2a, A: 0xff}
	purple = color.RGBA{R: 0x7a, G: 0x3d, B: 0xb8, A: 0xff}
)

// Figures draws the timeline as four plots over model time, every fault
// window shaded and labelled: throughput, success, failovers, latency.
func (t Timeline) Figures(outages []result.Outage, endS float64) ([]Figure, error) {
	perS := func(n func(Bucket) int) func(Bucket) float64 {
		return func(b Bucket) float64 { return float64(n(b)) / t.StepS }
	}
	share := func(n func(Bucket) int) func(Bucket) float64 {
		return func(b Bucket) float64 {
			if b.Sent == 0 {
				return math.NaN()
			}
			return 100 * float64(n(b)) / float64(b.Sent)
		}
	}
	specs := []struct {
		title, ylabel string
		yMax          float64 // 0: from the data
		lines         []series
	}{
		{"Throughput", "orders/s (model)", 0, []series{
			{"sent", blue, perS(func(b Bucket) int { return b.Sent })},
			{"succeeded (2xx)", green, perS(func(b Bucket) int { return b.Succeeded })},
		}},
		{"Success", "% of orders sent", 135, []series{
			{"succeeded (2xx)", green, share(func(b Bucket) int { return b.Succeeded })},
			{"errored (5xx, no answer)", red, share(func(b Bucket) int { return b.Errored })},
		}},
		{"Failovers", "% of orders sent", 135, []series{
			{"answered by capture", orange, share(func(b Bucket) int { return b.Failovers })},
		}},
		{"Latency", "ms (model)", 0, []series{
			{"p50", blue, func(b Bucket) float64 { return b.P50 }},
			{"p95", purple, func(b Bucket) float64 { return b.P95 }},
			{"p99", red, func(b Bucket) float64 { return b.P99 }},
		}},
	}
	var out []Figure
	for _, s := range specs {
		svg, err := t.draw(s.title, s.ylabel, s.yMax, s.lines, outages, endS)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", s.title, err)
		}
		out = append(out, Figure{Title: s.title, SVG: svg})
	}
	return out, nil
}

// draw renders one plot as SVG, ready to inline in a page.
func (t Timeline) draw(title, ylabel string, yMax float64, lines []series, outages []result.Outage, endS float64) (template.HTML, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "model time"
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = timeTicks{}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	p.Add(faultBands(outages))
	top := 1.0
	for _, s := range lines {
		var xys plotter.XYs
		for _, b := range t.Buckets {
			if y := s.y(b); !math.IsNaN(y) {
				xys = append(xys, plotter.XY{X: b.StartS + t.StepS/2, Y: y})
				top = math.Max(top, y)
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		l.LineStyle.Color, l.LineStyle.Width = s.color, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.X.Min, p.X.Max = 0, math.Max(endS, t.StepS)
	// Headroom above the data for the legend and the fault labels.
	p.Y.Min, p.Y.Max = 0, top*1.4
	if yMax > 0 {
		p.Y.Max = yMax
		p.Y.Tick.Marker = percentTicks
	}
	c := vgsvg.New(vg.Points(760), vg.Points(230))
	p.Draw(draw.Crop(draw.New(c), 0, -12, 0, 0)) // room for the last tick label
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	// Trusted as HTML: vgsvg escapes every text it writes.
	return template.HTML(svgProlog.ReplaceAll(b.Bytes(), nil)), nil
}

// svgProlog is what a standalone SVG file starts with and an inline one
// must not: the XML declaration and a comment.
var svgProlog = regexp.MustCompile(`(?s)^<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`)

// faultBands shades every fault window over the plot's whole height and
// labels it with its number and what it broke.
type faultBands []result.Outage

var bandFill = color.NRGBA{R: 0xd6, G: 0x45, B: 0x45, A: 0x38}

// Plot implements plot.Plotter.
func (f faultBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := p.X.Tick.Label
	sty.Color = red
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	for _, o := range f {
		x0, x1 := trX(math.Max(o.StartS, p.X.Min)), trX(math.Min(o.EndS, p.X.Max))
		if x1 <= x0 {
			x1 = x0 + 1
		}
		c.FillPolygon(bandFill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		c.FillText(sty, vg.Point{X: x0 + 3, Y: c.Max.Y - 3}, faultLabel(o))
	}
}

// faultLabel names a fault: "fault 1: down edge->router".
func faultLabel(o result.Outage) string {
	if o.Name != "" {
		return fmt.Sprintf("fault %d: %s", o.Fault, o.Name)
	}
	return fmt.Sprintf("fault %d: %s %s", o.Fault, o.Toxic, o.Link)
}

// percentTicks mark 0 to 100 %, leaving the headroom above unmarked.
var percentTicks = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 25}, {Value: 50, Label: "50"}, {Value: 75}, {Value: 100, Label: "100"}}

// timeTicks labels model seconds as durations (90 → 1m30s).
type timeTicks struct{}

// Ticks implements plot.Ticker.
func (timeTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = seconds(ticks[i].Value)
		}
	}
	return ticks
}
