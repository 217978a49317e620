package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseWindowedExpectation(t *testing.T) {
	tests := []struct {
		expr   string
		window Window
		key    string
		value  float64
		canon  string // Window.String()
	}{
		// While fault 1 was in force.
		{"during fault 1: success_rate > 0.99", Window{Kind: DuringFault, Fault: 1}, "success_rate", 0.99, "during fault 1"},
		// Extra spaces anywhere; the comparison keeps its units.
		{"  during   fault 2 :  latency_ms.p99 < 2s", Window{Kind: DuringFault, Fault: 2}, "latency_ms.p99", 2000, "during fault 2"},
		// After a fault, until the load ends.
		{"after fault 1: failovers == 0", Window{Kind: AfterFault, Fault: 1}, "failovers", 0, "after fault 1"},
		// After a fault for a while, with and without "for".
		{"after fault 1 30s: failover_rate < 1%", Window{Kind: AfterFault, Fault: 1, For: 30 * time.Second}, "failover_rate", 0.01, "after fault 1 for 30s"},
		{"after fault 3 for 2m: lost_orders == 0", Window{Kind: AfterFault, Fault: 3, For: 2 * time.Minute}, "lost_orders", 0, "after fault 3 for 2m"},
		// After every fault has recovered.
		{"after recovery: latency_ms.p99 < 500ms", Window{Kind: AfterRecovery}, "latency_ms.p99", 500, "after recovery"},
		{"after recovery 30s: latency_ms.p99 < 500ms", Window{Kind: AfterRecovery, For: 30 * time.Second}, "latency_ms.p99", 500, "after recovery for 30s"},
		// After one fault's recovery.
		{"after recovery from fault 2 for 1m: success_rate >= 99.5%", Window{Kind: AfterRecovery, Fault: 2, For: time.Minute}, "success_rate", 0.995, "after recovery from fault 2 for 1m"},
		// No space before the comparison.
		{"during fault 1:exposure_cents < $100", Window{Kind: DuringFault, Fault: 1}, "exposure_cents", 10000, "during fault 1"},
	}
	for _, tt := range tests {
		e, err := ParseExpectation(tt.expr)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		e.Window.faultCol = 0
		if e.Window != tt.window || e.Key != tt.key || !nearlyEqual(e.Value, tt.value) {
			t.Errorf("%q = %+v window %+v, want %s %v over %+v", tt.expr, e, e.Window, tt.key, tt.value, tt.window)
		}
		if s := e.Window.String(); s != tt.canon {
			t.Errorf("%q: window reads %q, want %q", tt.expr, s, tt.canon)
		}
		// Built in code, the expression is written back in canonical form and parses the same.
		back, err := ParseExpectation(Expectation{Key: e.Key, Op: e.Op, Value: e.Value, Window: e.Window}.String())
		if err != nil || back.Window.Kind != e.Window.Kind || back.Window.Fault != e.Window.Fault || back.Window.For != e.Window.For {
			t.Errorf("%q: String round trip gave %+v, %v", tt.expr, back, err)
		}
	}
}

func TestParseWindowErrors(t *testing.T) {
	tests := []struct {
		expr string
		col  int
		msg  string
	}{
		// A misspelt window word, with a suggestion.
		{"durng fault 1: failovers > 0", 1, `unknown window "durng" (did you mean "during"?): want ` + windowForms},
		// No fault after during.
		{"during recovery: failovers > 0", 8, `want fault N after "during", got "recovery"`},
		// No number after fault.
		{"during fault: failovers > 0", 13, `want a fault number after "fault" (faults are numbered from 1 in file order)`},
		// Faults are numbered from 1.
		{"during fault 0: failovers > 0", 14, `want a fault number after "fault" (faults are numbered from 1 in file order), got "0"`},
		// A fault's own window has no length of its own.
		{"during fault 1 for 30s: failovers > 0", 16, `unexpected "for": a window during a fault lasts as long as the fault`},
		// after what?
		{"after outage: failovers > 0", 7, `want "fault N" or "recovery" after "after", got "outage"`},
		// A bad duration.
		{"after fault 1 for soon: failovers > 0", 19, `want a duration such as 30s or 2m (how long the window lasts), got "soon"`},
		// for without a duration.
		{"after recovery for: failovers > 0", 19, `want a duration after "for" (e.g. for 30s)`},
		// Trailing words.
		{"after recovery 30s please: failovers > 0", 20, `unexpected "please": want ` + windowForms},
		// Nothing after the colon.
		{"during fault 1:", 16, "want KEY OP VALUE after the window's ':', e.g. success_rate > 99%"},
		// Nothing before it.
		{": failovers > 0", 1, "want a window before ':': " + windowForms},
		// The colon forgotten.
		{"during fault 1 failovers > 0", 1, `a window ends with ':' before the comparison, e.g. "during fault 1: success_rate > 99%"`},
		// A figure of the whole run cannot be windowed.
		{"during fault 1: rto < 60s", 17, "rto is a figure of the whole run; a window judges the orders sent within it (e.g. success_rate, failovers, failover_rate, lost_orders, latency_ms.p99)"},
		{"after fault 1: harness.saturated == false", 16, "harness.saturated is a figure of the whole run; a window judges the orders sent within it (e.g. success_rate, failovers, failover_rate, lost_orders, latency_ms.p99)"},
		// The comparison's own errors keep their column within the whole expression.
		{"during fault 1: failovers < 5s", 29, "failovers is a count (a plain number); 5s is a duration"},
	}
	for _, tt := range tests {
		_, err := ParseExpectation(tt.expr)
		var xe *ExprError
		if !errors.As(err, &xe) {
			t.Errorf("%q: got %v, want an *ExprError", tt.expr, err)
			continue
		}
		if xe.Col != tt.col || xe.Msg != tt.msg {
			t.Errorf("%q: got column %d %q\nwant column %d %q", tt.expr, xe.Col, xe.Msg, tt.col, tt.msg)
		}
	}
}

// TestWindowsInFiles checks windowed expectations and stop conditions as a
// user writes them: unquoted in a YAML list (where YAML reads them as a
// mapping), quoted, and every problem reported with file, line and column.
func TestWindowsInFiles(t *testing.T) {
	const head = "name: w\nduration: 5m\nfaults:\n  - {at: 1m, for: 1m, link: edge->router, toxic: down}\n  - {at: 4m, link: dyno->gateway, toxic: latency, attributes: {latency: 1s}}\n"
	tests := []struct {
		name string
		body string
		want []string // every error, in order; none: valid
	}{
		{
			// Unquoted and quoted forms, both parsed.
			name: "valid",
			body: "expect:\n  - during fault 1: failovers > 0\n  - \"after fault 1 for 30s: success_rate > 99%\"\n  - after recovery from fault 1: latency_ms.p99 < 2s\nabort_if:\n  - lost_orders > 100\n",
		},
		{
			// A fault the scenario does not have, pointed at its number, unquoted and quoted.
			name: "no such fault",
			body: "expect:\n  - during fault 3: failovers > 0\n  - 'after fault 7: failovers == 0'\n",
			want: []string{
				"x.yaml:7:18: expect[0]: during fault 3: there is no fault 3 (the scenario has 2; faults are numbered from 1 in file order)",
				"x.yaml:8:18: expect[1]: after fault 7: there is no fault 7 (the scenario has 2; faults are numbered from 1 in file order)",
			},
		},
		{
			// Fault 2 lasts until the load ends: nothing comes after it, nor after every fault's recovery.
			name: "nothing after",
			body: "expect:\n  - after fault 2 for 10s: failovers == 0\n  - after recovery: failovers == 0\n",
			want: []string{
				"x.yaml:7:17: expect[0]: after fault 2 for 10s: fault 2 lasts until the load ends (5m), so nothing comes after it",
				"x.yaml:8:5: expect[1]: after recovery: fault 2 lasts until the load ends (5m), so nothing comes after it",
			},
		},
		{
			// A parse error in the comparison of an unquoted windowed expectation points into the comparison.
			name: "bad comparison",
			body: "expect:\n  - during fault 1: failovers < 5s\n",
			want: []string{"x.yaml:7:33: expect[0]: failovers is a count (a plain number); 5s is a duration"},
		},
		{
			// A parse error in the window points into the window.
			name: "bad window",
			body: "expect:\n  - during fault x: failovers > 0\n",
			want: []string{`x.yaml:7:18: expect[0]: want a fault number after "fault" (faults are numbered from 1 in file order), got "x"`},
		},
		{
			// Stop conditions: no windows, no figures known only at the end, and parse errors with their column.
			name: "abort_if",
			body: "abort_if:\n  - during fault 1: lost_orders > 0\n  - harness.saturated == true\n  - lost_orders >> 3\n",
			want: []string{
				"x.yaml:7:5: abort_if[0]: abort_if is checked on the orders so far while the load runs, not over a window (during fault 1): put windows in expect",
				"x.yaml:8:5: abort_if[1]: harness.saturated is known only once the run is over; abort_if tests the orders so far (e.g. lost_orders > 100, failover_rate > 50%)",
				`x.yaml:9:20: abort_if[2]: unexpected "3" after the value: one comparison per expectation`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, errs := Check("x.yaml", []byte(head+tt.body))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if len(tt.want) == 0 {
				if len(s.Expect) != 3 || s.Expect[0].Window.Kind != DuringFault || s.Expect[1].Window.For != 30*time.Second ||
					s.Expect[2].Window.Kind != AfterRecovery || s.Expect[2].Window.Fault != 1 || len(s.AbortIf) != 1 || s.AbortIf[0].Key != "lost_orders" {
					t.Fatalf("parsed %+v, abort_if %+v", s.Expect, s.AbortIf)
				}
				if s.Expect[0].Expr != "during fault 1: failovers > 0" {
					t.Fatalf("the unquoted form reads %q", s.Expect[0].Expr)
				}
				// Written back and read again, the scenario is the same.
				again, errs := Check("x.yaml", s.YAML())
				if len(errs) > 0 || again.Expect[0].String() != s.Expect[0].String() || again.AbortIf[0].String() != "lost_orders > 100" {
					t.Fatalf("round trip: %v\n%s", errs, s.YAML())
				}
			}
		})
	}
}
