package scenarios

import (
	"errors"
	"math"
	"testing"
)

func TestParseExpectation(t *testing.T) {
	tests := []struct {
		expr  string
		key   string
		op    string
		value float64
	}{
		{"double_charges == 0", "double_charges", "==", 0},                     // a count
		{"lost_orders==0", "lost_orders", "==", 0},                             // no spaces
		{"  failovers  >  0  ", "failovers", ">", 0},                           // extra spaces
		{"rto < 60s", "rto_s", "<", 60},                                        // alias, duration in seconds
		{"rto_s < 120", "rto_s", "<", 120},                                     // plain seconds
		{"rto_s <= 2m", "rto_s", "<=", 120},                                    // minutes to seconds
		{"model_duration_s >= 1m30s", "model_duration_s", ">=", 90},            // compound duration
		{"latency_ms.p99 < 500ms", "latency_ms.p99", "<", 500},                 // duration in milliseconds
		{"latency_ms.max < 2s", "latency_ms.max", "<", 2000},                   // seconds to milliseconds
		{"queue_ms.mean < 1.5", "queue_ms.mean", "<", 1.5},                     // plain milliseconds
		{"exposure_cents < $100.00", "exposure_cents", "<", 10000},             // money to cents
		{"rpo_cents == 0", "rpo_cents", "==", 0},                               // plain cents
		{"failover_rate <= 1%", "failover_rate", "<=", 0.01},                   // percentage to fraction
		{"success_rate >= 0.995", "success_rate", ">=", 0.995},                 // plain fraction
		{"harness.achieved_rate >= 4.5/s", "harness.achieved_rate", ">=", 4.5}, // rate
		{"harness.asked_rate == 300/m", "harness.asked_rate", "==", 5},         // per minute
		{"harness.saturated == false", "harness.saturated", "==", 0},           // boolean
		{"harness.saturated != 1", "harness.saturated", "!=", 1},               // boolean as number
		{"orders.sent > 100", "orders.sent", ">", 100},                         // nested count
		{"wrong_matches >= 1", "wrong_matches", ">=", 1},                       // >=
		{"speed == 20", "speed", "==", 20},                                     // unitless
		{"rpo_orders != -1", "rpo_orders", "!=", -1},                           // negative number
	}
	for _, tt := range tests {
		e, err := ParseExpectation(tt.expr)
		if err != nil {
			t.Errorf("%q: %v", tt.expr, err)
			continue
		}
		if e.Key != tt.key || e.Op != tt.op || !nearlyEqual(e.Value, tt.value) || e.Expr != tt.expr {
			t.Errorf("%q = %+v, want %s %s %v", tt.expr, e, tt.key, tt.op, tt.value)
		}
	}
}

func TestParseExpectationErrors(t *testing.T) {
	tests := []struct {
		expr string
		col  int
		msg  string
	}{
		// Unknown key, with a suggestion, at the key's column.
		{"  lost_order == 0", 3, `unknown result key "lost_order" (did you mean "lost_orders"?)`},
		// Unknown key far from any: where to look.
		{"zzz == 0", 1, `unknown result key "zzz" (see the result keys in DESIGN.md, e.g. double_charges, lost_orders, rto_s, latency_ms.p99)`},
		// A string key.
		{"verdict == 1", 1, "verdict is a string, not a number"},
		// An object key.
		{"orders > 1", 1, "orders is an object, not a number: name one of its fields, e.g. orders.errored"},
		// = is not ==.
		{"failovers = 0", 11, "use == to compare, not ="},
		// No operator.
		{"failovers", 10, "want an operator (== != < <= > >=) after failovers"},
		// Something else where the operator belongs.
		{"failovers is 0", 11, `want an operator (== != < <= > >=) after failovers, got "is 0"`},
		// No value.
		{"failovers >", 12, "want a value after >"},
		// Two comparisons.
		{"failovers > 0 and lost_orders == 0", 15, `unexpected "and lost_orders == 0" after the value: one comparison per expectation`},
		// A duration for a count.
		{"failovers < 5s", 13, "failovers is a count (a plain number); 5s is a duration"},
		// Money for seconds.
		{"rto_s < $5", 9, "rto_s is in seconds (a number, or a duration like 60s); $5 is an amount of money"},
		// A percentage for cents.
		{"rpo_cents < 1%", 13, "rpo_cents is in cents (a number, or an amount like $100.00); 1% is a percentage"},
		// A rate for a fraction.
		{"failover_rate < 5/s", 17, "failover_rate is a fraction (a number like 0.01, or a percentage like 1%); 5/s is a rate"},
		// true for a count.
		{"failovers == true", 14, "failovers is a count (a plain number); true is a boolean"},
		// A boolean is 0 or 1.
		{"harness.saturated == 2", 22, "harness.saturated is true or false; 2 is neither 0 nor 1"},
		// Garbage.
		{"rto < soon", 7, `cannot read value "soon": want a number, a duration (60s), an amount ($100.00), a percentage (1%) or a rate (5/s)`},
		// Bad money.
		{"exposure_cents < $1.001", 18, `want an amount of dollars like "35.00", got "$1.001": at most 2 decimals (cents)`},
		// Nothing.
		{"   ", 1, "empty expectation: want KEY OP VALUE, e.g. lost_orders == 0"},
		// No key.
		{"== 0", 1, `want a result key (e.g. lost_orders) first, got "== 0"`},
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

func TestEval(t *testing.T) {
	tests := []struct {
		expr    string
		value   float64
		present bool
		want    bool
	}{
		{"double_charges == 0", 0, true, true},          // holds
		{"double_charges == 0", 1, true, false},         // breaks
		{"failovers != 0", 3, true, true},               // !=
		{"failovers != 0", 0, true, false},              // != equal
		{"rto < 60s", 59.9, true, true},                 // <
		{"rto < 60s", 60, true, false},                  // < at the bound
		{"rto <= 60s", 60, true, true},                  // <= at the bound
		{"failovers > 0", 1, true, true},                // >
		{"failovers > 0", 0, true, false},               // > at the bound
		{"failovers >= 0", 0, true, true},               // >= at the bound
		{"rto < 60s", 0, false, false},                  // null: < false
		{"rto >= 0", 0, false, false},                   // null: >= false
		{"rto != 60", 0, false, false},                  // null: even != is false
		{"rto == 0", 0, false, false},                   // null: == false
		{"rto < 60s", math.NaN(), true, false},          // NaN is null
		{"failover_rate == 1%", 1.0 / 100, true, true},  // within tolerance
		{"failover_rate == 1%", 0.07 / 7, true, true},   // computed in floating point
		{"failover_rate < 1%", 0.07 / 7, true, false},   // equal within tolerance: not less
		{"failover_rate <= 1%", 0.0100001, true, false}, // beyond tolerance
		{"harness.saturated == false", 0, true, true},   // boolean false
		{"harness.saturated == false", 1, true, false},  // boolean true
	}
	for _, tt := range tests {
		e, err := ParseExpectation(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Eval(tt.value, tt.present); got != tt.want {
			t.Errorf("%q.Eval(%v, %v) = %v", tt.expr, tt.value, tt.present, got)
		}
	}
	if got := (Expectation{Key: "failovers", Op: "~", Value: 0}).Eval(0, true); got {
		t.Error("unknown operator held")
	}
}

func TestResultKeys(t *testing.T) {
	keys := ResultKeys()
	if len(keys) != 50 {
		t.Errorf("%d keys: %v", len(keys), keys)
	}
	// Every key parses, with its unit-less form.
	for _, k := range keys {
		if _, err := ParseExpectation(k + " >= 0"); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if s := (Expectation{Key: "failovers", Op: ">", Value: 2}).String(); s != "failovers > 2" {
		t.Errorf("String %q", s)
	}
}
