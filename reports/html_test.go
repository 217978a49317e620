package reports

import (
	"bytes"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/net/html"

	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// synthRun writes a run's directory as the harness leaves it: 60 model
// seconds at 10 orders a second (speed 2, so 30 s of wall time), with
// production down from 20 s to 30 s (capture answers, fast) and slow,
// partly failing answers in the 10 s after; and returns its result, with a
// double charge and a lost order as evidence.
func synthRun(t *testing.T) (string, *result.Result) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "results.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	enc := vegeta.NewJSONEncoder(f)
	rng := rand.New(rand.NewSource(1))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const speed = 2.0
	for i := 0; i < 600; i++ {
		at := float64(i) / 10 // model seconds
		res := vegeta.Result{
			Attack: "orders", Seq: uint64(i), Code: 201,
			Timestamp: t0.Add(time.Duration(at / speed * float64(time.Second))),
			Latency:   time.Duration((40 + rng.Float64()*60) / speed * float64(time.Millisecond)),
			Headers:   http.Header{wire.HeaderAnsweredBy: {wire.AnsweredByProduction}},
		}
		switch {
		case at >= 20 && at < 30:
			res.Headers.Set(wire.HeaderAnsweredBy, wire.AnsweredByCapture)
			res.Latency /= 4
		case at >= 30 && at < 40:
			res.Latency *= 20
			if i%5 == 0 {
				res.Code = 503
			}
		}
		if err := enc(&res); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rto, failed, fine := 12.5, 0.25, 0.0
	r := &result.Result{
		Scenario: "synthetic", Runtime: "embedded", Seed: 1, Speed: speed, ModelDurationS: 60, Verdict: "fail",
		Orders:    result.OrderCounts{Sent: 600, Succeeded: 580, Errored: 20},
		Harness:   result.HarnessHealth{Settled: true, WallS: 31.2, Notes: []string{}},
		Failovers: 100, FailoverRate: 100.0 / 600, SuccessRate: 580.0 / 600, Charges: 581, DoubleCharges: 1, LostOrders: 1,
		RTOS:    &rto,
		Outages: []result.Outage{{Fault: 1, Link: "edge->router", Toxic: "down", StartS: 20, EndS: 30, RTOS: &rto, Recovered: true}},
		Expectations: []result.Verdict{
			{Expr: "double_charges == 0", Value: ptr(1), OK: false},
			{Expr: "during fault 1: success_rate > 0.2", Value: &failed, OK: true, Window: &result.Span{FromS: 20, ToS: 30, Orders: 100}},
			{Expr: "after recovery for 5s: latency_ms.p99 < 500ms", Value: nil, OK: false, Note: "fault 1 never recovered"},
			{Expr: "lost_orders == 0", Value: &fine, OK: true},
		},
		Anomalies: []result.Anomaly{
			{Kind: result.KindDoubleCharge, RequestID: "req-dbl", Reference: "ord-0000042", Customer: "cus_00042", AmountCents: 4200,
				ClientTold: "201 from capture", Detail: "2 charges for one order",
				Charges: []result.ChargeBrief{{ID: "ch_first", Reference: "ord-0000042", AtS: 21.5}, {ID: "ch_second", Reference: "ord-0000042", AtS: 33.1}}},
			{Kind: result.KindLostOrder, RequestID: "req-lost", Reference: "ord-0000077", Customer: "cus_00077", AmountCents: 7700,
				ClientTold: "201 from capture", Detail: "accepted, and no store holds it"},
		},
	}
	return dir, r
}

func ptr(v float64) *float64 { return &v }

// render writes the run's report.html and parses it.
func render(t *testing.T, dir string, r *result.Result) (string, *html.Node) {
	t.Helper()
	if err := WriteHTML(dir, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	return string(b), doc
}

// walk calls fn on every element under n.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is every piece of text under n, joined by spaces.
func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

func TestHTMLReportNeedsNoNetwork(t *testing.T) {
	dir, r := synthRun(t)
	page, doc := render(t, dir, r)
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "script", "link", "iframe", "object", "embed", "img", "image":
			t.Errorf("<%s> in a page that must open with no network and no script", n.Data)
		}
		for _, a := range n.Attr {
			if a.Key == "src" || a.Key == "href" || strings.HasSuffix(a.Key, ":href") {
				t.Errorf("<%s %s=%q>: nothing may be fetched", n.Data, a.Key, a.Val)
			}
		}
	})
	for _, bad := range []string{"@import", "url(", "@font-face"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page's CSS uses %s", bad)
		}
	}
	// The only URLs are the SVG namespaces, which are names, not fetched.
	rest := strings.NewReplacer(`"http://www.w3.org/2000/svg"`, "", `"http://www.w3.org/1999/xlink"`, "").Replace(page)
	if i := strings.Index(rest, "http"); i >= 0 {
		t.Errorf("a URL in the page: %q", rest[max(0, i-40):min(len(rest), i+60)])
	}
}

func TestHTMLReportPlotsEveryFigureWithTheFaultShaded(t *testing.T) {
	dir, r := synthRun(t)
	_, doc := render(t, dir, r)
	var figures []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Data == "figure" && attr(n, "class") == "plot" {
			figures = append(figures, n)
		}
	})
	want := map[string]string{ // figure → the colour of a line it must draw
		"plot-throughput": "#1F6FB4", "plot-success": "#2C9C4A", "plot-failovers": "#E07B10", "plot-latency": "#C82A2A",
	}
	if len(figures) != len(want) {
		t.Fatalf("%d plots, want %d (throughput, success, failovers, latency)", len(figures), len(want))
	}
	for _, fig := range figures {
		id := attr(fig, "id")
		var lines, bands, labels int
		walk(fig, func(n *html.Node) {
			style := attr(n, "style")
			switch {
			case n.Data == "path" && strings.Contains(style, "stroke:"+want[id]) && len(attr(n, "d")) > 200:
				lines++ // a polyline over the whole run, not a tick
			case n.Data == "path" && strings.Contains(style, "fill-opacity"):
				bands++
			case n.Data == "text" && strings.Contains(text(n), "fault 1: down edge->router"):
				labels++
			}
		})
		if lines == 0 || bands != 1 || labels != 1 {
			t.Errorf("%s: %d data lines in %s, %d shaded fault windows, %d fault labels; want ≥1, 1, 1", id, lines, want[id], bands, labels)
		}
	}
}

func TestHTMLReportShowsTheEvidence(t *testing.T) {
	dir, r := synthRun(t)
	_, doc := render(t, dir, r)
	tables := map[string]string{}
	walk(doc, func(n *html.Node) {
		if n.Data == "table" {
			key := attr(n, "id")
			if k := attr(n, "data-kind"); k != "" {
				key = k
			}
			tables[key] = text(n)
		}
	})
	for _, tc := range []struct {
		table string
		want  []string
	}{
		// Each double charge with both charges.
		{result.KindDoubleCharge, []string{"ord-0000042", "ch_first", "ch_second", "21.5s", "33.1s", "201 from capture", "$42.00"}},
		// Each lost order with what the client was told.
		{result.KindLostOrder, []string{"ord-0000077", "201 from capture", "accepted, and no store holds it"}},
		// The expectations with their verdicts, values and windows.
		{"expectations", []string{"✗ double_charges == 0 1", "✓ during fault 1: success_rate > 0.2 0.25 20.0s–30.0s, 100 orders",
			"after recovery for 5s: latency_ms.p99 < 500ms null", "fault 1 never recovered"}},
		// Each fault with its recovery.
		{"faults", []string{"down", "edge->router", "20.0s–30.0s", "12.5s", "recovered"}},
	} {
		got := strings.Join(strings.Fields(tables[tc.table]), " ")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("table %s does not show %q:\n%s", tc.table, w, got)
			}
		}
	}
}

func TestHTMLReportSaysWhyARunWasAborted(t *testing.T) {
	dir, r := synthRun(t)
	r.Harness.Aborted, r.Harness.AbortReason = true, "abort_if lost_orders > 100 held after 42.0s of model time"
	page, _ := render(t, dir, r)
	if !strings.Contains(page, `id="aborted"`) || !strings.Contains(page, "lost_orders &gt; 100 held after 42.0s") {
		t.Fatal("the page does not say the run was aborted, and why")
	}
	// Without results.ndjson the page still renders, and says why it has no plots.
	os.Remove(filepath.Join(dir, "results.ndjson"))
	page, _ = render(t, dir, r)
	if !strings.Contains(page, "No plots") || strings.Contains(page, "<svg") {
		t.Fatal("a page without results should say it has no plots")
	}
}

func TestTimelineBucketsWhatTheClientSaw(t *testing.T) {
	dir, _ := synthRun(t)
	answers, err := ReadAnswers(filepath.Join(dir, "results.ndjson"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 600 || answers[0].AtS != 0 || answers[599].AtS < 59.8 || answers[599].AtS > 59.95 {
		t.Fatalf("%d answers from %v to %v model seconds; want 600 over 60 s", len(answers), answers[0].AtS, answers[len(answers)-1].AtS)
	}
	tl := NewTimeline(answers, 60)
	if tl.StepS != 1 {
		t.Fatalf("step %vs, want 1s for a minute", tl.StepS)
	}
	for _, b := range tl.Buckets[:60] {
		inFault, after := b.StartS >= 20 && b.StartS < 30, b.StartS >= 30 && b.StartS < 40
		switch {
		case b.Sent != 10:
			t.Fatalf("bucket %vs: %d sent, want 10", b.StartS, b.Sent)
		case inFault && b.Failovers != 10, !inFault && b.Failovers != 0:
			t.Fatalf("bucket %vs: %d failovers", b.StartS, b.Failovers)
		case after && (b.Errored != 2 || b.P50 < 800), !after && (b.Errored != 0 || b.P99 > 100):
			t.Fatalf("bucket %vs: %d errored, p50 %v p99 %v ms", b.StartS, b.Errored, b.P50, b.P99)
		}
	}
}

func TestHTMLReportDrawsTheDrill(t *testing.T) {
	dir, r := synthRun(t)
	f := func(v float64) *float64 { return &v }
	r.Regions = &result.Regions{Active: "standby", StandbyMode: "warm", SwitchedAtS: f(40), PromotedAtS: f(35), LagAtPromotionS: f(2), StandbyMonthlyCostCents: 65700}
	r.Drill = &result.Drill{
		Steps: []result.DrillStep{
			{Name: "page", Do: "detect", StartedS: f(22), EndedS: f(25), WaitedOn: "when gslb-unhealthy", Outcome: "detected", OK: true},
			{Name: "switch", Do: "reroute", StartedS: f(25), EndedS: f(26), WaitedOn: "after page", Outcome: "rerouted to a standby that was not ready", OK: false},
			{Name: "fail back", Do: "failback", WaitedOn: "at 50s", Outcome: "never started"},
		},
		Events:        []result.DrillEvent{{AtS: 40, What: "gslb: switched primary → standby"}},
		RTOBreakdownS: result.RTOBreakdown{Detect: f(5), Reroute: f(1)},
	}
	_, doc := render(t, dir, r)
	tables := map[string]string{}
	bars, ticks := 0, 0
	walk(doc, func(n *html.Node) {
		switch {
		case n.Data == "table":
			tables[attr(n, "id")] = strings.Join(strings.Fields(text(n)), " ")
		case n.Data == "rect" && attr(n, "class") == "step":
			bars++
		case n.Data == "line":
			for p := n.Parent; p != nil; p = p.Parent {
				if attr(p, "id") == "drill-timeline" {
					ticks++
					break
				}
			}
		}
	})
	for table, want := range map[string][]string{
		"regions":      {"warm", "$657.00", "35.0s", "40.0s", "standby"},
		"drill":        {"✓ page (detect) 22.0s 25.0s when gslb-unhealthy detected", "✗ switch (reroute)", "fail back (failback) never never at 50s never started"},
		"drill-events": {"40.0s gslb: switched primary → standby"},
	} {
		for _, w := range want {
			if !strings.Contains(tables[table], w) {
				t.Errorf("table %s does not show %q:\n%s", table, w, tables[table])
			}
		}
	}
	if bars != 2 || ticks < 2 {
		t.Errorf("the drill timeline has %d step bars and %d lines; want a bar for each step that started and a tick per event", bars, ticks)
	}
}
