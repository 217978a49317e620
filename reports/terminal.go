// Package reports renders a finished run: terminal tables, JSON, and files
// in the run's directory. It knows the harness only through harness.Result.
package reports

import (
	"fmt"
	"io"
	"math"
	"paydrill/harness/result"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// NewTable is a table with the header written as given (no auto title case).
func NewTable(w io.Writer, header ...string) *tablewriter.Table {
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(header)
	return t
}

// Dollars renders cents as $1,234.56.
func Dollars(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), cents%100)
}

func pct(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) }

// expectationCells are an expectation's ✓ or ✗ and its value, printed with
// format ("null" when it has none).
func expectationCells(e result.Verdict, format string) (mark, value string) {
	mark, value = "✓", "null"
	if !e.OK {
		mark = "✗"
	}
	if e.Value != nil {
		value = fmt.Sprintf(format, *e.Value)
	}
	return mark, value
}

// Summary writes what a person reads at a glance after a run: orders and
// failovers, each anomaly with the money at stake, recovery, latency and
// queue time, and every expectation with its verdict.
func Summary(w io.Writer, r *result.Result) error {
	auto := ""
	if r.Harness.SpeedAuto != nil {
		auto = " (auto)"
	}
	model := r.Runtime == result.RuntimeModel
	if model {
		fmt.Fprintf(w, "paydrill · %s · model runtime · seed %d · virtual time · %s model time in %.3fs wall\n\n",
			r.Scenario, r.Seed, seconds(r.ModelDurationS), r.Harness.WallS)
	} else {
		fmt.Fprintf(w, "paydrill · %s · %s runtime · seed %d · speed %gx%s · %s model time in %.1fs wall\n\n",
			r.Scenario, r.Runtime, r.Seed, r.Speed, auto, seconds(r.ModelDurationS), r.Harness.WallS)
	}

	t := NewTable(w, "orders", "count", "share")
	o := r.Orders
	share := func(n int) string {
		if o.Sent == 0 {
			return "-"
		}
		return pct(float64(n) / float64(o.Sent))
	}
	t.Append([]string{"sent", fmt.Sprint(o.Sent), ""})
	t.Append([]string{"succeeded", fmt.Sprint(o.Succeeded), share(o.Succeeded)})
	t.Append([]string{"rejected (card failed)", fmt.Sprint(o.Rejected), share(o.Rejected)})
	t.Append([]string{"errored (no answer, 5xx)", fmt.Sprint(o.Errored), share(o.Errored)})
	t.Append([]string{"failed over to capture", fmt.Sprint(r.Failovers), pct(r.FailoverRate)})
	if err := t.Render(); err != nil {
		return err
	}

	if model {
		fmt.Fprintln(w, "money: not computed by the model runtime (it keeps no stores); run on embedded or docker for charges, double charges and lost orders")
	} else if err := money(w, r); err != nil {
		return err
	}
	if err := regions(w, r); err != nil {
		return err
	}

	t = NewTable(w, "recovery and time (model)", "value")
	t.Append([]string{"RTO", rto(r.RTOS)})
	if !model {
		t.Append([]string{"RPO", rpo(r)})
	}
	for _, out := range r.Outages {
		name := out.Name
		if name == "" {
			name = out.Toxic + " on " + out.Link
		}
		t.Append([]string{fmt.Sprintf("  fault %d: %s (%s–%s)", out.Fault, name, seconds(out.StartS), seconds(out.EndS)), rto(out.RTOS)})
	}
	l := r.LatencyMS
	t.Append([]string{"latency p50 / p95 / p99 / max", fmt.Sprintf("%s / %s / %s / %s", ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max))})
	mean := ms(r.QueueMS.Mean)
	if r.QueueMS.MeanCI95 > 0 {
		// The interval chance alone leaves around the mean (95%).
		mean += " ± " + ms(r.QueueMS.MeanCI95)
	}
	t.Append([]string{"dyno queue mean / p99", fmt.Sprintf("%s / %s", mean, ms(r.QueueMS.P99))})
	t.Append([]string{"replayed / still to replay", fmt.Sprintf("%d / %d", r.Replays.Done, r.Replays.Pending)})
	if !model {
		t.Append([]string{"reconciled / still to reconcile", fmt.Sprintf("%d / %d", r.Reconcile.Done, r.Reconcile.Pending)})
	}
	if err := t.Render(); err != nil {
		return err
	}
	return summaryTail(w, r)
}

// money writes the money table: each anomaly with the money at stake.
func money(w io.Writer, r *result.Result) error {
	t := NewTable(w, "money", "orders", "at stake")
	t.Append([]string{"charges in the ledger", fmt.Sprint(r.Charges), ""})
	t.Append([]string{"double charges", fmt.Sprint(r.DoubleCharges), kindCents(r, result.KindDoubleCharge)})
	t.Append([]string{"phantom charges (told failed)", fmt.Sprint(r.PhantomCharges), kindCents(r, result.KindPhantomCharge)})
	t.Append([]string{"lost orders", fmt.Sprint(r.LostOrders), kindCents(r, result.KindLostOrder)})
	t.Append([]string{"unreconciled (never charged)", fmt.Sprint(r.Unreconciled), Dollars(r.ExposureCents)})
	t.Append([]string{"wrong matches", fmt.Sprint(r.WrongMatches), kindCents(r, result.KindWrongMatch)})
	if r.OrphanCharges != nil {
		t.Append([]string{"orphan charges (no order kept)", fmt.Sprint(*r.OrphanCharges), kindCents(r, result.KindOrphanCharge)})
	}
	if r.SplitBrainOrders != nil {
		t.Append([]string{"split-brain orders (old region)", fmt.Sprint(*r.SplitBrainOrders), kindCents(r, result.KindSplitBrain)})
	}
	return t.Render()
}

// rpo says what a failover lost: orders, cents, the span of time.
func rpo(r *result.Result) string {
	s := fmt.Sprintf("%d orders, %s", r.RPOOrders, Dollars(r.RPOCents))
	if r.RPOS != nil {
		s += fmt.Sprintf(", spanning %s", seconds(*r.RPOS))
		if r.Regions != nil && r.Regions.LagAtPromotionS != nil {
			s += fmt.Sprintf(" (standby %s behind at promotion)", seconds(*r.Regions.LagAtPromotionS))
		}
	}
	return s
}

// summaryTail writes the expectations, the harness's notes and the verdict.
func summaryTail(w io.Writer, r *result.Result) error {
	if len(r.Expectations) > 0 {
		t := NewTable(w, "", "expectation", "value")
		for _, e := range r.Expectations {
			mark, v := expectationCells(e, "%.4g")
			t.Append([]string{mark, e.Expr, v})
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	h := r.Harness
	notes := h.Notes
	if h.SpeedAuto != nil && len(notes) > 0 && notes[0] == h.SpeedAuto.Why {
		// Why this speed: information, not a warning.
		fmt.Fprintf(w, "\n%s\n", h.SpeedAuto.Why)
		notes = notes[1:]
	}
	if h.Saturated {
		fmt.Fprintf(w, "\n! the harness could not keep up at speed %g: %s\n", r.Speed, strings.Join(h.Notes, "; "))
	} else {
		for _, n := range notes {
			fmt.Fprintf(w, "\n! %s\n", n)
		}
	}
	for _, o := range r.Outages {
		if o.Error != "" {
			// The error names the fault: "fault 1 (node-drain on dyno): ...".
			fmt.Fprintf(w, "\n! did not apply as written: %s\n", o.Error)
		}
	}
	fmt.Fprintf(w, "\nverdict: %s", strings.ToUpper(r.Verdict))
	if r.OutDir != "" {
		what := "results and stores"
		if r.Runtime == result.RuntimeModel {
			what = "report"
		}
		fmt.Fprintf(w, "    (%s in %s)", what, r.OutDir)
	}
	fmt.Fprintln(w)
	return nil
}

// regions writes the standby region's summary and the drill's timeline.
func regions(w io.Writer, r *result.Result) error {
	g := r.Regions
	if g == nil {
		return nil
	}
	opt := func(v *float64) string {
		if v == nil {
			return "never"
		}
		return "at " + seconds(*v)
	}
	t := NewTable(w, "regions", "value")
	t.Append([]string{"standby mode", g.StandbyMode})
	t.Append([]string{"standby cost a month", Dollars(g.StandbyMonthlyCostCents)})
	if g.StartupWallS != nil {
		t.Append([]string{"standby start-up (wall, measured)", fmt.Sprintf("%.1fs", *g.StartupWallS)})
	}
	t.Append([]string{"standby db promoted", opt(g.PromotedAtS)})
	t.Append([]string{"gslb switched to the standby", opt(g.SwitchedAtS)})
	t.Append([]string{"active at the end", g.Active})
	if err := t.Render(); err != nil {
		return err
	}
	d := r.Drill
	if d == nil {
		return nil
	}
	t = NewTable(w, "", "drill step", "started", "ended", "waited on", "outcome")
	for _, s := range d.Steps {
		mark := "✓"
		if !s.OK {
			mark = "✗"
		}
		t.Append([]string{mark, s.Name + " (" + s.Do + ")", opt(s.StartedS), opt(s.EndedS), s.WaitedOn, s.Outcome})
	}
	if err := t.Render(); err != nil {
		return err
	}
	t = NewTable(w, "drill timeline (model)", "event")
	for _, e := range d.Events {
		t.Append([]string{seconds(e.AtS), e.What})
	}
	if err := t.Render(); err != nil {
		return err
	}
	b := d.RTOBreakdownS
	part := func(name string, v *float64) string {
		if v == nil {
			return ""
		}
		return fmt.Sprintf("%s %s", name, seconds(*v))
	}
	var parts []string
	for _, p := range []string{part("detect", b.Detect), part("provision", b.Provision), part("promote", b.Promote),
		part("reroute", b.Reroute), part("dns drain", b.DNSDrain)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	met := "met"
	if !d.ObjectivesMet {
		met = "MISSED"
	}
	fmt.Fprintf(w, "RTO %s = %s; objectives %s\n", rto(r.RTOS), strings.Join(parts, " + "), met)
	return nil
}

// kindCents sums the amounts of the listed anomalies of kind; the evidence
// list may be capped, so it is marked as a lower bound when it is.
func kindCents(r *result.Result, kind string) string {
	var cents int64
	n := 0
	for _, a := range r.Anomalies {
		if a.Kind == kind {
			cents += a.AmountCents
			n++
		}
	}
	if n == 0 {
		return ""
	}
	s := Dollars(cents)
	if total := count(r, kind); n < total {
		s = "≥ " + s
	}
	return s
}

func count(r *result.Result, kind string) int {
	switch kind {
	case result.KindDoubleCharge:
		return r.DoubleCharges
	case result.KindPhantomCharge:
		return r.PhantomCharges
	case result.KindLostOrder:
		return r.LostOrders
	case result.KindWrongMatch:
		return r.WrongMatches
	case result.KindOrphanCharge:
		if r.OrphanCharges != nil {
			return *r.OrphanCharges
		}
	case result.KindSplitBrain:
		if r.SplitBrainOrders != nil {
			return *r.SplitBrainOrders
		}
	}
	return r.Unreconciled
}

func rto(v *float64) string {
	if v == nil {
		return "none (no outage, or not recovered)"
	}
	return seconds(*v)
}

// seconds renders model seconds as 45.2s or 2m05s.
func seconds(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.1fs", s)
	}
	whole := int(math.Round(s))
	return fmt.Sprintf("%dm%02ds", whole/60, whole%60)
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2fs", v/1000)
	}
	return fmt.Sprintf("%.0fms", v)
}
