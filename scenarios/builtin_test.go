package scenarios

import (
	"reflect"
	"strings"
	"testing"
)

// TestBuiltins checks every built-in parses and validates cleanly, says
// what it shows in a comment header, and has expectations.
func TestBuiltins(t *testing.T) {
	names := BuiltinNames()
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	// The built-ins the issues promise; others may join them.
	for _, w := range []string{"baseline", "capture-crash", "gateway-blackhole", "least-conn-backlog", "production-outage",
		"random-routing-backlog", "replay-without-dedupe", "similar-order-finder"} {
		if !have[w] {
			t.Errorf("no built-in %s among %v", w, names)
		}
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			data, err := builtinFS.ReadFile("builtin/" + n + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			s, errs := Check("builtin/"+n+".yaml", data)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if !strings.HasPrefix(string(data), "# "+n+": ") {
				t.Error("no comment header naming the scenario")
			}
			if s.Name != n || s.Description == "" || len(s.Expect) == 0 {
				t.Errorf("name %q, description %q, %d expectations", s.Name, s.Description, len(s.Expect))
			}
			// The speed a built-in can be trusted at depends on the
			// machine it runs on: every one leaves it to the harness.
			if !s.AutoSpeed() {
				t.Errorf("speed %v, want auto", s.Speed)
			}
		})
	}
}

// TestBuiltinContents checks each built-in sets up what it claims to show.
func TestBuiltinContents(t *testing.T) {
	load := func(n string) *Scenario {
		s, err := Builtin(n)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exprs := func(s *Scenario) []string {
		var out []string
		for _, e := range s.Expect {
			out = append(out, e.Expr)
		}
		return out
	}
	b := load("baseline")
	if len(b.Faults) != 0 || !reflect.DeepEqual(exprs(b), []string{"failovers == 0", "double_charges == 0", "lost_orders == 0"}) {
		t.Errorf("baseline: %v", exprs(b))
	}
	g := load("gateway-blackhole")
	if f := g.Faults[0]; f.Link != "dyno->gateway" || f.Toxic != "timeout" || f.Stream != "downstream" ||
		f.Attributes["timeout"] != 0 || f.For.Minutes() != 2 || g.System.Reconciler.Match != "reference" || g.System.App.Dedupe != "claim" {
		t.Errorf("gateway-blackhole: %+v", g)
	}
	p := load("production-outage")
	if f := p.Faults[0]; f.Link != "edge->router" || f.Toxic != "down" || f.For.Minutes() != 2 {
		t.Errorf("production-outage: %+v", f)
	}
	r, l := load("random-routing-backlog"), load("least-conn-backlog")
	if r.System.Router.Strategy != "random" || l.System.Router.Strategy != "least-conn" || r.System.Dynos.Workers != 1 {
		t.Error("backlog pair strategies")
	}
	// The pair differs only in strategy, name, description and expectations.
	l.System.Router.Strategy, l.Name, l.Description, l.Expect = r.System.Router.Strategy, r.Name, r.Description, r.Expect
	l.File = r.File
	if !sameScenario(r, l) {
		t.Errorf("backlog pair differs:\n%s\n%s", r.YAML(), l.YAML())
	}
	// High utilisation: about 0.7 per worker.
	st, _ := r.System.Dynos.ServiceTime.Spec().Dist()
	gw, _ := r.System.Gateway.Latency.Spec().Dist()
	if rho := r.Load.Rate * (st.Mean() + gw.Mean()) / 5; rho < 0.6 || rho > 0.85 {
		t.Errorf("random-routing-backlog utilisation %.2f", rho)
	}
	d := load("replay-without-dedupe")
	if d.System.App.Dedupe != "off" || exprs(d)[0] != "double_charges > 0" {
		t.Errorf("replay-without-dedupe: %v", exprs(d))
	}
	if d.Faults[0].Attributes["latency"] <= d.System.Edge.FailoverTimeout.Milliseconds() {
		t.Error("replay-without-dedupe: production must answer later than the failover timeout")
	}
	// The kill lands while capture holds every order it took since the
	// outage began: before its first write, a flush after the first one.
	e := load("capture-early-ack")
	if out, kill := e.Faults[0], e.Faults[1]; e.System.Capture.Ack != "early" || out.Link != "edge->router" || out.Toxic != "down" ||
		kill.Target != "capture" || kill.Toxic != "kill" || kill.At <= out.At || kill.At >= out.At+e.System.Capture.Flush ||
		exprs(e)[0] != "lost_orders > 0" {
		t.Errorf("capture-early-ack: %+v, %v", e.System.Capture, e.Faults)
	}
	s := load("similar-order-finder")
	if s.System.Reconciler.Match != "similar" || s.Load.Customers > 50 || s.Load.Amount.Dist != "const" || exprs(s)[0] != "wrong_matches > 0" {
		t.Errorf("similar-order-finder: %+v", s)
	}
	if s.Faults[0].Attributes["latency"] <= s.System.App.GatewayTimeout.Milliseconds() {
		t.Error("similar-order-finder: the gateway must answer later than the app's timeout")
	}
}

func TestList(t *testing.T) {
	l := List()
	if len(l) != len(BuiltinNames()) {
		t.Fatalf("%d summaries", len(l))
	}
	for _, s := range l {
		if s.Description == "" || strings.Contains(s.Description, "does not parse") || strings.Contains(s.Description, "\n") {
			t.Errorf("%+v", s)
		}
	}
}

func TestBuiltinUnknown(t *testing.T) {
	if _, err := Builtin("baselin"); err == nil || err.Error() != `unknown built-in scenario "baselin" (did you mean "baseline"?)` {
		t.Fatalf("got %v", err)
	}
	if _, err := Builtin("../decode"); err == nil {
		t.Fatal("path escaped")
	}
}

func TestOpen(t *testing.T) {
	if s, err := Open("baseline"); err != nil || s.Name != "baseline" {
		t.Fatalf("built-in: %v", err)
	}
	if s, err := Open(fixtures + "good/minimal.yaml"); err != nil || s.Name != "minimal" {
		t.Fatalf("file: %v", err)
	}
	if _, err := Open("nope.yaml"); err == nil || !strings.Contains(err.Error(), "nope.yaml: cannot read") {
		t.Fatalf("missing file: %v", err)
	}
}
