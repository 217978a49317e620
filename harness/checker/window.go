package checker

import (
	"fmt"
	"math"
	"slices"
	"time"

	"paydrill/harness/result"
	"paydrill/scenarios"
)

// Window returns the evidence of the orders sent in [from, to), wall
// offsets from the load's start: their outcomes and their dyno records.
// The stores (ledger, order store, capture, edge, replays, reconciliation)
// stay whole, so what became of each of those orders later (a replay, a
// second charge, a reconciliation) still counts, and so do the faults.
func (ev Evidence) Window(from, to time.Duration) Evidence {
	w := ev
	in := map[string]bool{}
	w.Outcomes = nil
	for _, o := range ev.Outcomes {
		if o.Sent >= from && o.Sent < to {
			w.Outcomes = append(w.Outcomes, o)
			in[o.RequestID] = true
		}
	}
	w.Orders = nil
	for _, o := range ev.Orders {
		if in[o.RequestID] {
			w.Orders = append(w.Orders, o)
		}
	}
	w.Dynos = nil
	for _, d := range ev.Dynos {
		if in[d.RequestID] {
			w.Dynos = append(w.Dynos, d)
		}
	}
	return w
}

// CheckWindow is Check over the orders sent in [from, to) (wall offsets):
// every figure counts only those orders, charges included.
func CheckWindow(ev Evidence, from, to time.Duration) result.Result {
	w := ev.Window(from, to)
	r := Check(w)
	refs := map[string]bool{}
	for _, o := range w.Orders {
		refs[o.Reference] = true
	}
	r.Charges = 0
	for _, c := range ev.Ledger {
		if refs[c.Reference] {
			r.Charges++
		}
	}
	return r
}

// Judge judges every expectation and sets the verdict. A whole-run
// expectation reads the result; a windowed one re-runs the checker on the
// orders sent within its window (see scenarios.Window), which needs the
// run's evidence ev: without it (nil) windowed expectations fail, saying
// so. A run a stop condition ended early fails whatever its expectations
// say.
func Judge(r *result.Result, ev *Evidence, exps []scenarios.Expectation) {
	r.Expectations = []result.Verdict{}
	r.Verdict = "pass"
	exps = append(slices.Clip(exps), objectives(r)...)
	windows := map[string]windowed{}
	for _, e := range exps {
		if e.Key == "" && e.Expr != "" {
			if p, err := scenarios.ParseExpectation(e.Expr); err == nil {
				e = p
			}
		}
		v := result.Verdict{Expr: e.String()}
		src := r
		if e.Window.Kind != scenarios.WholeRun {
			name := e.Window.String()
			w, ok := windows[name]
			if !ok {
				w = judgeWindow(r, ev, e.Window)
				windows[name] = w
			}
			src, v.Window, v.Note = w.result, w.span, w.note
		}
		if src != nil {
			if x, present := src.Lookup(e.Key); present {
				v.Value = &x
			}
		}
		v.OK = v.Value != nil && e.Eval(*v.Value, true)
		r.Expectations = append(r.Expectations, v)
		if !v.OK {
			r.Verdict = "fail"
		}
	}
	if r.Harness.Aborted {
		r.Verdict = "fail"
	}
}

// objectives are a drill's RTO and RPO objectives as expectations
// (rto_s <= RTO, rpo_s <= RPO): a missed objective fails the run as a
// failed expectation does.
func objectives(r *result.Result) []scenarios.Expectation {
	if r.Drill == nil {
		return nil
	}
	var out []scenarios.Expectation
	for _, o := range []struct {
		key string
		v   *float64
	}{{"rto_s", r.Drill.Objectives.RTOS}, {"rpo_s", r.Drill.Objectives.RPOS}} {
		if o.v != nil {
			e := scenarios.Expectation{Key: o.key, Op: "<=", Value: *o.v}
			e.Expr = "objective: " + e.String()
			out = append(out, e)
		}
	}
	return out
}

// Allow names the runs whose figures cannot be trusted that may still
// pass on their expectations, because the user said so.
type Allow struct {
	// Unsettled: a run whose stores were still changing when the
	// settle's timeout ran out (settle.required: false, --allow-unsettled).
	Unsettled bool `json:"unsettled"`
	// Saturated: a run the harness could not keep up with
	// (--allow-saturated).
	Saturated bool `json:"saturated"`
}

// Trust fails a judged run whose figures cannot be trusted, unless allow
// says the user accepts them: one that did not settle, or that the
// harness could not keep up with (harness.saturated). The result says why
// in its notes. A verdict is never "pass" for such a run otherwise.
func Trust(r *result.Result, allow Allow) {
	because := func(why string) {
		r.Verdict = "fail"
		note := "verdict fail: " + why
		if !slices.Contains(r.Harness.Notes, note) {
			r.Harness.Notes = append(r.Harness.Notes, note)
		}
	}
	if !r.Harness.Settled && !allow.Unsettled {
		because("the run did not settle (settle.timeout), so its stores were still changing when checked; " +
			"settle.required: false or --allow-unsettled judges its expectations anyway")
	}
	if r.Harness.Saturated && !allow.Saturated {
		because("the harness could not keep up with the model (harness.saturated), so its figures are not to be trusted; " +
			"--allow-saturated judges its expectations anyway")
	}
}

// windowed is one window checked: its result (nil when it has none), its
// span, and why it has no result.
type windowed struct {
	result *result.Result
	span   *result.Span
	note   string
}

// judgeWindow checks the orders sent within w.
func judgeWindow(r *result.Result, ev *Evidence, w scenarios.Window) windowed {
	from, to, note := windowBounds(r, w)
	if note != "" {
		return windowed{note: note}
	}
	span := &result.Span{FromS: from, ToS: math.Min(to, r.ModelDurationS)}
	if ev == nil {
		return windowed{span: span, note: "the run's evidence is gone: windows are judged when the run ends"}
	}
	wall := func(s float64) time.Duration {
		if math.IsInf(s, 1) {
			return math.MaxInt64
		}
		return time.Duration(s / r.Speed * float64(time.Second))
	}
	wr := CheckWindow(*ev, wall(from), wall(to))
	span.Orders = wr.Orders.Sent
	if wr.Orders.Sent == 0 {
		return windowed{span: span, note: fmt.Sprintf("no orders were sent %s", w)}
	}
	return windowed{result: &wr, span: span}
}

// windowBounds resolves w against the run's faults: model seconds from the
// load's start, to +Inf for "until the load ends", or why there is no such
// window in this run.
func windowBounds(r *result.Result, w scenarios.Window) (from, to float64, note string) {
	var outs []result.Outage
	for _, o := range r.Outages {
		if w.Fault == 0 || o.Fault == w.Fault {
			outs = append(outs, o)
		}
	}
	if len(outs) == 0 {
		if w.Fault == 0 {
			return 0, 0, "the run had no faults"
		}
		return 0, 0, fmt.Sprintf("fault %d never happened (the run ended before it)", w.Fault)
	}
	length := func(from float64) float64 {
		if w.For <= 0 {
			return math.Inf(1)
		}
		return from + w.For.Seconds()
	}
	switch w.Kind {
	case scenarios.DuringFault:
		return outs[0].StartS, outs[0].EndS, ""
	case scenarios.AfterFault:
		return outs[0].EndS, length(outs[0].EndS), ""
	case scenarios.AfterRecovery:
		// Recovered once the fault has ended and production answers again.
		for _, o := range outs {
			if !o.Recovered || o.RTOS == nil {
				return 0, 0, fmt.Sprintf("fault %d never recovered (production did not answer 99%% of orders again)", o.Fault)
			}
			from = math.Max(from, math.Max(o.EndS, o.StartS+*o.RTOS))
		}
		return from, length(from), ""
	}
	return 0, 0, fmt.Sprintf("unknown window %q", w.Kind)
}
