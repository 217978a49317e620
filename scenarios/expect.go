package scenarios

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Expectation is one parsed expectation, KEY OP VALUE, e.g.
// "double_charges == 0" or "rto < 60s".
//
// KEY is a numeric key of the JSON result (snake_case, dotted for nested
// objects: latency_ms.p99, harness.achieved_rate, orders.sent); rto is an
// alias of rto_s. OP is one of == != < <= > >=. VALUE is a number in the
// key's unit, or a number with a unit that converts to it:
//
//   - keys ending _s (rto_s, model_duration_s): a duration, 60s, 2m → seconds;
//   - keys under latency_ms and queue_ms: a duration, 500ms, 2s → milliseconds;
//   - keys ending _cents (exposure_cents, rpo_cents): an amount, $100.00 → cents;
//   - success_rate, failover_rate (fractions): a percentage, 1% → 0.01;
//   - harness.achieved_rate, harness.asked_rate (per second): a rate, 5/s, 300/m;
//   - harness.saturated: true or false (1 or 0).
//
// A unit that does not fit the key is an error.
//
// A window before a colon judges only the orders sent within it (see
// Window): "during fault 1: success_rate > 99%",
// "after recovery for 30s: latency_ms.p99 < 500ms".
type Expectation struct {
	// Expr is the expression as written.
	Expr string
	// Key is the canonical result key (aliases resolved): "rto_s".
	Key string
	// Op is the comparison: ==, !=, <, <=, >, >=.
	Op string
	// Value is the right-hand side in the key's unit.
	Value float64
	// Pos is where the expression was written in the scenario file.
	Pos Pos
	// Window is the stretch of the run the comparison judges; the zero
	// Window is the whole run.
	Window Window

	err    *Error // why Expr did not parse, reported by Validate
	quoted bool   // Pos is the opening quote of Expr
	keyCol int    // 1-based column of KEY in Expr
}

// ExprError is an expression that does not parse; Col is the 1-based
// column (byte offset + 1) within the expression.
type ExprError struct {
	Expr string // the expression
	Col  int    // 1-based column of the problem within Expr
	Msg  string // what is wrong
}

// Error renders the error with its column.
func (e *ExprError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// keyKind is the unit of a result key.
type keyKind int

const (
	kindCount    keyKind = iota // a number of orders, charges, …
	kindNumber                  // unitless (seed, speed)
	kindSeconds                 // model seconds
	kindMillis                  // milliseconds
	kindCents                   // cents
	kindFraction                // 0..1
	kindRate                    // per second
	kindBool                    // false = 0, true = 1
)

// String describes the unit for error messages.
func (k keyKind) String() string {
	switch k {
	case kindCount:
		return "a count (a plain number)"
	case kindNumber:
		return "a plain number"
	case kindSeconds:
		return "in seconds (a number, or a duration like 60s)"
	case kindMillis:
		return "in milliseconds (a number, or a duration like 500ms)"
	case kindCents:
		return "in cents (a number, or an amount like $100.00)"
	case kindFraction:
		return "a fraction (a number like 0.01, or a percentage like 1%)"
	case kindRate:
		return "a rate per second (a number, or a rate like 5/s)"
	case kindBool:
		return "true or false"
	}
	return "a number"
}

// resultKeys are the numeric keys of the JSON result (DESIGN.md).
var resultKeys = map[string]keyKind{
	"seed":                  kindNumber,
	"speed":                 kindNumber,
	"model_duration_s":      kindSeconds,
	"harness.saturated":     kindBool,
	"harness.aborted":       kindBool,
	"harness.settled":       kindBool,
	"harness.achieved_rate": kindRate,
	"harness.asked_rate":    kindRate,
	"orders.sent":           kindCount,
	"orders.succeeded":      kindCount,
	"orders.rejected":       kindCount,
	"orders.errored":        kindCount,
	"success_rate":          kindFraction,
	"failovers":             kindCount,
	"failover_rate":         kindFraction,
	"charges":               kindCount,
	"double_charges":        kindCount,
	"phantom_charges":       kindCount,
	"lost_orders":           kindCount,
	"unreconciled":          kindCount,
	"exposure_cents":        kindCents,
	"wrong_matches":         kindCount,
	"rto_s":                 kindSeconds,
	"rpo_orders":            kindCount,
	"rpo_cents":             kindCents,
	"rpo_s":                 kindSeconds,
	"orphan_charges":        kindCount,
	"split_brain_orders":    kindCount,
	"fault_errors":          kindCount,

	"regions.switched_at_s":              kindSeconds,
	"regions.promoted_at_s":              kindSeconds,
	"regions.lag_at_promotion_s":         kindSeconds,
	"regions.standby_monthly_cost_cents": kindCents,
	"drill.rto_breakdown_s.detect":       kindSeconds,
	"drill.rto_breakdown_s.provision":    kindSeconds,
	"drill.rto_breakdown_s.promote":      kindSeconds,
	"drill.rto_breakdown_s.reroute":      kindSeconds,
	"drill.rto_breakdown_s.dns_drain":    kindSeconds,
	"drill.objectives_met":               kindBool,
	"latency_ms.p50":                     kindMillis,
	"latency_ms.p95":                     kindMillis,
	"latency_ms.p99":                     kindMillis,
	"latency_ms.max":                     kindMillis,
	"queue_ms.mean":                      kindMillis,
	"queue_ms.mean_ci95":                 kindMillis,
	"queue_ms.p99":                       kindMillis,
	"replays.done":                       kindCount,
	"replays.pending":                    kindCount,
	"reconcile.done":                     kindCount,
	"reconcile.pending":                  kindCount,
}

// keyAliases are other names of result keys.
var keyAliases = map[string]string{"rto": "rto_s"}

// nonNumeric are the result keys an expectation cannot compare.
var nonNumeric = map[string]string{
	"scenario": "a string", "runtime": "a string", "verdict": "a string", "expectations": "a list",
	"harness": "an object", "orders": "an object", "latency_ms": "an object", "queue_ms": "an object",
	"replays": "an object", "reconcile": "an object", "anomalies": "a list", "outages": "a list",
	"regions": "an object", "drill": "an object", "drill.steps": "a list", "drill.events": "a list",
	"drill.rto_breakdown_s": "an object", "drill.objectives": "the drill's own targets, not a result",
}

// ResultKeys returns every result key an expectation may name, sorted
// (aliases not included).
func ResultKeys() []string {
	out := make([]string, 0, len(resultKeys))
	for k := range resultKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var ops = []string{"==", "!=", "<=", ">=", "<", ">"}

// ParseExpectation parses [WINDOW:] KEY OP VALUE (see Expectation and
// Window). The error is an *ExprError giving the column of the problem.
func ParseExpectation(expr string) (Expectation, error) {
	e := Expectation{Expr: expr}
	from := 0
	if colon := strings.IndexByte(expr, ':'); colon >= 0 {
		w, err := parseWindow(expr, colon)
		if err != nil {
			return e, err
		}
		e.Window, from = w, colon+1
	} else if ws := wordsOf(expr, 0, len(expr)); len(ws) > 1 && (ws[0].s == "during" || ws[0].s == "after") {
		return e, &ExprError{Expr: expr, Col: ws[0].at + 1,
			Msg: fmt.Sprintf("a window ends with ':' before the comparison, e.g. %q", "during fault 1: success_rate > 99%")}
	}
	return parseComparison(expr, from, e)
}

// parseComparison parses KEY OP VALUE from expr[from:] into e.
func parseComparison(expr string, from int, e Expectation) (Expectation, error) {
	fail := func(i int, format string, args ...any) (Expectation, error) {
		return e, &ExprError{Expr: expr, Col: i + 1, Msg: fmt.Sprintf(format, args...)}
	}
	i := skipSpace(expr, from)
	if i == len(expr) {
		if from > 0 {
			return fail(i, "want KEY OP VALUE after the window's ':', e.g. success_rate > 99%%")
		}
		return fail(0, "empty expectation: want KEY OP VALUE, e.g. lost_orders == 0")
	}
	start := i
	e.keyCol = start + 1
	for i < len(expr) && isKeyChar(expr[i]) {
		i++
	}
	key := expr[start:i]
	if key == "" {
		return fail(start, "want a result key (e.g. lost_orders) first, got %q", rest(expr[start:]))
	}
	name := key
	if a, ok := keyAliases[key]; ok {
		name = a
	}
	kind, ok := resultKeys[name]
	if !ok {
		if what, ok := nonNumeric[key]; ok {
			hint := ""
			if what == "an object" {
				hint = fmt.Sprintf(": name one of its fields, e.g. %s", firstField(key))
			}
			return fail(start, "%s is %s, not a number%s", key, what, hint)
		}
		cands := ResultKeys()
		for a := range keyAliases {
			cands = append(cands, a)
		}
		sort.Strings(cands)
		s := suggest(key, cands)
		if strings.HasPrefix(s, " (one of") || s == "" {
			s = " (see the result keys in DESIGN.md, e.g. double_charges, lost_orders, rto_s, latency_ms.p99)"
		}
		return fail(start, "unknown result key %q%s", key, s)
	}
	if e.Window.Kind != WholeRun && wholeRunOnly(name) {
		return fail(start, "%s is a figure of the whole run; a window judges the orders sent within it "+
			"(e.g. success_rate, failovers, failover_rate, lost_orders, latency_ms.p99)", key)
	}
	e.Key = name
	i = skipSpace(expr, i)
	opAt := i
	for _, op := range ops {
		if strings.HasPrefix(expr[i:], op) {
			e.Op = op
			i += len(op)
			break
		}
	}
	if e.Op == "" {
		if strings.HasPrefix(expr[i:], "=") {
			return fail(opAt, "use == to compare, not =")
		}
		if i == len(expr) {
			return fail(opAt, "want an operator (== != < <= > >=) after %s", key)
		}
		return fail(opAt, "want an operator (== != < <= > >=) after %s, got %q", key, rest(expr[i:]))
	}
	i = skipSpace(expr, i)
	vs := i
	for i < len(expr) && expr[i] != ' ' && expr[i] != '\t' {
		i++
	}
	tok := expr[vs:i]
	if tok == "" {
		return fail(vs, "want a value after %s", e.Op)
	}
	if j := skipSpace(expr, i); j < len(expr) {
		return fail(j, "unexpected %q after the value: one comparison per expectation", expr[j:])
	}
	v, err := exprValue(tok, name, kind)
	if err != nil {
		return fail(vs, "%v", err)
	}
	e.Value = v
	return e, nil
}

// exprValue reads the right-hand side tok for the key name of kind kind.
func exprValue(tok, name string, kind keyKind) (float64, error) {
	mismatch := func(what string) error {
		return fmt.Errorf("%s is %s; %s is %s", name, kind, tok, what)
	}
	switch {
	case tok == "true" || tok == "false":
		if kind != kindBool {
			return 0, mismatch("a boolean")
		}
		if tok == "true" {
			return 1, nil
		}
		return 0, nil
	case strings.HasPrefix(tok, "$"):
		if kind != kindCents {
			return 0, mismatch("an amount of money")
		}
		c, err := ParseMoney(tok)
		if err != nil {
			return 0, err
		}
		return float64(c), nil
	case strings.HasSuffix(tok, "%"):
		x, ok := number(strings.TrimSuffix(tok, "%"))
		if !ok {
			return 0, fmt.Errorf("cannot read %q as a percentage", tok)
		}
		if kind != kindFraction {
			return 0, mismatch("a percentage")
		}
		return x / 100, nil
	case strings.Contains(tok, "/"):
		r, err := ParseRate(tok)
		if err != nil {
			return 0, err
		}
		if kind != kindRate {
			return 0, mismatch("a rate")
		}
		return r, nil
	}
	if x, ok := number(tok); ok {
		if kind == kindBool && x != 0 && x != 1 {
			return 0, mismatch("neither 0 nor 1")
		}
		return x, nil
	}
	if d, err := ParseDuration(tok); err == nil {
		switch kind {
		case kindSeconds:
			return d.Seconds(), nil
		case kindMillis:
			return float64(d) / 1e6, nil
		}
		return 0, mismatch("a duration")
	}
	return 0, fmt.Errorf("cannot read value %q: want a number, a duration (60s), an amount ($100.00), a percentage (1%%) or a rate (5/s)", tok)
}

// number reads a plain decimal number (no hex, no inf/nan, no underscores).
func number(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "xXpP_iInN") {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	return x, err == nil && !math.IsInf(x, 0)
}

func firstField(obj string) string {
	if _, ok := resultKeys[obj+".p99"]; ok {
		return obj + ".p99"
	}
	for _, k := range ResultKeys() {
		if strings.HasPrefix(k, obj+".") {
			return k
		}
	}
	return obj
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

func rest(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// Eval reports whether the result value satisfies e. present is false when
// the result holds null for the key (rto_s when nothing went down): a null
// value satisfies no comparison at all, not even !=, so an expectation on a
// figure that was never measured fails rather than passes silently. NaN is
// treated as null. == and != compare with a relative tolerance of 1e-9 (so
// failover_rate == 1% holds for 1/100 computed in floating point), and < and
// > are false for values within that tolerance.
func (e Expectation) Eval(value float64, present bool) bool {
	if !present || math.IsNaN(value) {
		return false
	}
	eq := nearlyEqual(value, e.Value)
	switch e.Op {
	case "==":
		return eq
	case "!=":
		return !eq
	case "<":
		return value < e.Value && !eq
	case "<=":
		return value <= e.Value || eq
	case ">":
		return value > e.Value && !eq
	case ">=":
		return value >= e.Value || eq
	}
	return false
}

func nearlyEqual(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// String returns the expression as written (or, when built in code,
// KEY OP VALUE).
func (e Expectation) String() string {
	if e.Expr != "" {
		return e.Expr
	}
	cmp := e.Key + " " + e.Op + " " + strconv.FormatFloat(e.Value, 'g', -1, 64)
	if e.Window.Kind != WholeRun {
		return e.Window.String() + ": " + cmp
	}
	return cmp
}

// WindowKind says what a Window hangs on.
type WindowKind string

// The kinds of Window.
const (
	// WholeRun is every order of the run: an expectation without a window.
	WholeRun WindowKind = ""
	// DuringFault is the orders sent while fault N was in force, from
	// when the harness applied it to when it lifted it.
	DuringFault WindowKind = "during"
	// AfterFault is the orders sent from the end of fault N, for For (or
	// until the load ends).
	AfterFault WindowKind = "after"
	// AfterRecovery is the orders sent once fault N (or, with Fault 0,
	// every fault) has both ended and recovered (production answering
	// again, as RTO measures it), for For (or until the load ends).
	AfterRecovery WindowKind = "recovery"
)

// windowForms is the grammar of windows, for error messages.
const windowForms = `"during fault N:", "after fault N [for DURATION]:" or "after recovery [from fault N] [for DURATION]:"`

// Window is the stretch of a run a windowed expectation judges: only the
// orders sent within it count (their charges, failovers, latency, what
// became of them), measured in model time from the load's start. It is
// written before the comparison and a colon:
//
//	during fault N:                          while fault N was in force
//	after fault N [for DURATION]:            from fault N's end
//	after recovery [from fault N] [for DURATION]:
//	                                         from when fault N (no N: every
//	                                         fault) had ended and production
//	                                         recovered
//
// Faults are numbered from 1 in file order. Without a DURATION a window
// after something lasts until the load ends. Figures of the whole run
// (rto_s, fault_errors, harness.*, seed, speed, model_duration_s) cannot
// be windowed.
type Window struct {
	Kind WindowKind
	// Fault is the 1-based fault the window hangs on; 0 with AfterRecovery
	// means every fault.
	Fault int
	// For is the window's length in model time; 0 means until the load
	// ends. DuringFault windows last as long as their fault.
	For time.Duration

	faultCol int // 1-based column of the fault number in the expression
}

// String writes the window as it is written before the colon, in its
// canonical form ("after recovery from fault 2 for 30s").
func (w Window) String() string {
	var b strings.Builder
	switch w.Kind {
	case WholeRun:
		return "the whole run"
	case DuringFault:
		fmt.Fprintf(&b, "during fault %d", w.Fault)
	case AfterFault:
		fmt.Fprintf(&b, "after fault %d", w.Fault)
	case AfterRecovery:
		b.WriteString("after recovery")
		if w.Fault > 0 {
			fmt.Fprintf(&b, " from fault %d", w.Fault)
		}
	}
	if w.For > 0 && w.Kind != DuringFault {
		b.WriteString(" for " + FormatDuration(w.For))
	}
	return b.String()
}

// wholeRunOnly reports whether the result key is a figure of the whole run
// that a window cannot judge.
func wholeRunOnly(key string) bool {
	switch key {
	case "seed", "speed", "model_duration_s", "rto_s", "fault_errors":
		return true
	}
	return strings.HasPrefix(key, "harness.")
}

// word is a space-separated word of an expression and its byte offset.
type word struct {
	s  string
	at int
}

// wordsOf splits s[from:to] at spaces and tabs.
func wordsOf(s string, from, to int) []word {
	var out []word
	for i := from; i < to; {
		i = skipSpace(s[:to], i)
		j := i
		for j < to && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		if j > i {
			out = append(out, word{s[i:j], i})
		}
		i = j
	}
	return out
}

// parseWindow parses the window written in expr before the colon at
// offset colon.
func parseWindow(expr string, colon int) (Window, error) {
	var w Window
	fail := func(at int, format string, args ...any) (Window, error) {
		return w, &ExprError{Expr: expr, Col: at + 1, Msg: fmt.Sprintf(format, args...)}
	}
	ws := wordsOf(expr, 0, colon)
	if len(ws) == 0 {
		return fail(colon, "want a window before ':': %s", windowForms)
	}
	// next returns the i-th word, or a word at the colon when there is none.
	next := func(i int) word {
		if i < len(ws) {
			return ws[i]
		}
		return word{"", colon}
	}
	// fault reads "fault N" at word i.
	fault := func(i int, after string) (int, error) {
		kw, num := next(i), next(i+1)
		if kw.s != "fault" {
			_, err := fail(kw.at, "want fault N after %q%s", after, got(kw.s))
			return 0, err
		}
		n, err := strconv.Atoi(num.s)
		if err != nil || n < 1 {
			_, err := fail(num.at, "want a fault number after \"fault\" (faults are numbered from 1 in file order)%s", got(num.s))
			return 0, err
		}
		w.faultCol = num.at + 1
		return n, nil
	}
	i := 2
	switch first := ws[0].s; first {
	case "during":
		w.Kind = DuringFault
		n, err := fault(1, "during")
		if err != nil {
			return w, err
		}
		w.Fault, i = n, 3
		if i < len(ws) {
			return fail(ws[i].at, "unexpected %q: a window during a fault lasts as long as the fault", ws[i].s)
		}
		return w, nil
	case "after":
		switch what := next(1); what.s {
		case "fault":
			w.Kind = AfterFault
			n, err := fault(1, "after")
			if err != nil {
				return w, err
			}
			w.Fault, i = n, 3
		case "recovery":
			w.Kind = AfterRecovery
			if next(2).s == "from" {
				n, err := fault(3, "from")
				if err != nil {
					return w, err
				}
				w.Fault, i = n, 5
			}
		default:
			return fail(what.at, "want \"fault N\" or \"recovery\" after \"after\"%s", got(what.s))
		}
	default:
		return fail(ws[0].at, "unknown window %q%s: want %s", first, suggest(first, []string{"during", "after"}), windowForms)
	}
	// [for] [DURATION]
	if next(i).s == "for" {
		i++
		if i >= len(ws) {
			return fail(colon, "want a duration after \"for\" (e.g. for 30s)")
		}
	}
	if i < len(ws) {
		d, err := ParseDuration(ws[i].s)
		if err != nil || d <= 0 {
			return fail(ws[i].at, "want a duration such as 30s or 2m (how long the window lasts), got %q", ws[i].s)
		}
		w.For = d
		i++
	}
	if i < len(ws) {
		return fail(ws[i].at, "unexpected %q: want %s", ws[i].s, windowForms)
	}
	return w, nil
}

// got is `, got "x"` for error messages, or nothing for nothing.
func got(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(", got %q", s)
}

// at returns where column col (1-based, within Expr) was written: in the
// file when the expression came from one, else the expression's position.
func (e Expectation) at(col int) Pos {
	p := e.Pos
	if p.Line > 0 && col > 0 {
		p.Col += col - 1
		if e.quoted {
			p.Col++
		}
	}
	return p
}

// parsed returns e parsed from its expression when it was built in code
// from Expr alone.
func (e Expectation) parsed() (Expectation, error) {
	if e.Key != "" || e.err != nil {
		return e, nil
	}
	p, err := ParseExpectation(e.Expr)
	p.Pos = e.Pos
	return p, err
}

// windows checks that what each windowed expectation hangs on exists: the
// fault it names, some fault at all, and something after the fault before
// the load ends.
func (v *validator) windows() {
	s := v.s
	end := func(f Fault) time.Duration {
		if f.For <= 0 {
			return s.Duration
		}
		return f.At + f.For
	}
	for i, e := range s.Expect {
		e, err := e.parsed()
		if err != nil || e.err != nil || e.Window.Kind == WholeRun {
			continue
		}
		key := fmt.Sprintf("expect[%d]", i)
		w := e.Window
		errorAt := func(col int, format string, args ...any) { v.exprErrorf(e, key, col, format, args...) }
		switch {
		case w.Fault > len(s.Faults):
			errorAt(w.faultCol, "%s: there is no fault %d (the scenario has %d; faults are numbered from 1 in file order)",
				w, w.Fault, len(s.Faults))
		case w.Kind == AfterRecovery && w.Fault == 0 && len(s.Faults) == 0:
			errorAt(1, "after recovery: the scenario has no faults to recover from")
		case w.Kind == AfterFault || w.Kind == AfterRecovery:
			last, which := time.Duration(0), 0
			for j, f := range s.Faults {
				if (w.Fault == 0 || w.Fault == j+1) && end(f) >= last {
					last, which = end(f), j+1
				}
			}
			if last >= s.Duration {
				errorAt(w.faultCol, "%s: fault %d lasts until the load ends (%s), so nothing comes after it",
					w, which, FormatDuration(s.Duration))
			}
		}
	}
}

// abortIf checks the stop conditions: whole-run expressions on figures
// known while the load runs.
func (v *validator) abortIf() {
	for i, e := range v.s.AbortIf {
		key := fmt.Sprintf("abort_if[%d]", i)
		if e.err != nil {
			v.errs = append(v.errs, e.err)
			continue
		}
		if e.Key == "" {
			pe := expectationAt(e.Expr, v.s.near(key), key, false)
			if pe.err != nil {
				v.errs = append(v.errs, pe.err)
				continue
			}
			e = pe
		}
		switch {
		case e.Window.Kind != WholeRun:
			v.exprErrorf(e, key, 1,
				"abort_if is checked on the orders so far while the load runs, not over a window (%s): put windows in expect", e.Window)
		case strings.HasPrefix(e.Key, "harness."):
			v.exprErrorf(e, key, e.keyCol,
				"%s is known only once the run is over; abort_if tests the orders so far (e.g. lost_orders > 100, failover_rate > 50%%)", e.Key)
		}
	}
}

// exprErrorf reports a problem at column col of the expectation at key.
func (v *validator) exprErrorf(e Expectation, key string, col int, format string, args ...any) {
	p := e.at(col)
	if p == (Pos{}) {
		p = v.s.near(key)
	}
	v.errs = append(v.errs, newError(p, key, format, args...))
}

// windowPair recognises a windowed expectation written unquoted in YAML:
// "- during fault 1: success_rate > 99%" is, to YAML, a mapping of the
// window to the comparison. It returns the two scalars.
func windowPair(n *yaml.Node) (window, comparison *yaml.Node, ok bool) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return nil, nil, false
	}
	w, c := n.Content[0], n.Content[1]
	if w.Kind != yaml.ScalarNode || c.Kind != yaml.ScalarNode {
		return nil, nil, false
	}
	first, _, _ := strings.Cut(strings.TrimSpace(w.Value), " ")
	return w, c, first == "during" || first == "after"
}

// windowedAt parses the expression a windowPair reads as, "WINDOW: COMPARISON",
// with errors placed in whichever of the two scalars they fall in (wp, cp:
// where each was written).
func windowedAt(w, c *yaml.Node, wp, cp Pos, path string) Expectation {
	quoted := func(n *yaml.Node) bool { return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 }
	expr := w.Value + ": " + c.Value
	e, err := ParseExpectation(expr)
	e.Expr, e.Pos, e.quoted = expr, wp, quoted(w)
	if err == nil {
		return e
	}
	msg, ep := err.Error(), wp
	var xe *ExprError
	if errors.As(err, &xe) {
		msg = xe.Msg
		off, q := xe.Col-1, quoted(w)
		if off >= len(w.Value)+2 {
			ep, off, q = cp, off-len(w.Value)-2, quoted(c)
		}
		if ep.Line > 0 {
			ep.Col += min(off, len(expr))
			if q {
				ep.Col++
			}
		}
	}
	e.err = newError(ep, path, "%s", msg)
	return e
}
