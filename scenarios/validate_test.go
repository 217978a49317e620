package scenarios

import (
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	s := Default()
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	// Default describes a healthy system: utilisation well under 1.
	st, _ := s.System.Dynos.ServiceTime.Spec().Dist()
	gw, _ := s.System.Gateway.Latency.Spec().Dist()
	rho := s.Load.Rate * (st.Mean() + gw.Mean()) / float64(s.System.Dynos.Count*s.System.Dynos.Workers)
	if rho > 0.3 {
		t.Errorf("default utilisation %.2f", rho)
	}
}

// TestValidate changes one thing of Default per row and checks the one
// error Validate reports (built in code: no file positions).
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Scenario)
		want   string // the whole error text
	}{
		{"empty name", func(s *Scenario) { s.Name = " " }, "name: must not be empty"},
		{"zero speed", func(s *Scenario) { s.Speed = 0 }, "speed: must be greater than 0, or auto, got 0"},
		{"zero duration", func(s *Scenario) { s.Duration = 0 }, "duration: must be greater than 0, got 0s"},
		{"negative failover timeout", func(s *Scenario) { s.System.Edge.FailoverTimeout = -time.Second }, "system.edge.failover_timeout: must be greater than 0, got -1s"},
		{"unknown ack", func(s *Scenario) { s.System.Capture.Ack = "eager" }, `system.capture.ack: unknown ack "eager" (one of durable, early)`},
		{"zero flush", func(s *Scenario) { s.System.Capture.Flush = 0 }, "system.capture.flush: must be greater than 0, got 0s"},
		{"ack early", func(s *Scenario) { s.System.Capture.Ack = "early" }, ""},
		{"flush over half the quiet", func(s *Scenario) { s.System.Capture.Ack, s.System.Capture.Flush = "early", 5*time.Second+1 }, "system.capture.flush: must be at most half of settle.quiet (10s) with ack: early, so capture has written the last orders it acknowledged before the harness checks them, got 5.000000001s"},
		{"long flush unused", func(s *Scenario) { s.System.Capture.Flush = time.Hour }, ""},
		{"unknown strategy", func(s *Scenario) { s.System.Router.Strategy = "roundrobin" }, `system.router.strategy: unknown strategy "roundrobin" (did you mean "round-robin"?)`},
		{"empty strategy", func(s *Scenario) { s.System.Router.Strategy = "" }, "system.router.strategy: must not be empty (one of random, round-robin, least-conn, p2c)"},
		{"no dynos", func(s *Scenario) { s.System.Dynos.Count = 0 }, "system.dynos.count: must be at least 1, got 0"},
		{"no workers", func(s *Scenario) { s.System.Dynos.Workers = 0 }, "system.dynos.workers: must be at least 1, got 0"},
		{"negative backlog", func(s *Scenario) { s.System.Dynos.Backlog = -1 }, "system.dynos.backlog: must be at least 0, got -1"},
		{"bad lognormal", func(s *Scenario) { s.System.Dynos.ServiceTime.P99 = time.Millisecond }, "system.dynos.service_time.p99: must be greater than median"},
		{"negative const", func(s *Scenario) {
			s.System.Gateway.Latency = TimeDist{Dist: "const", Value: -time.Second}
		}, "system.gateway.latency.value: must be 0 or more"},
		{"uniform max below min", func(s *Scenario) {
			s.System.Gateway.Latency = TimeDist{Dist: "uniform", Min: 2 * time.Second, Max: time.Second}
		}, "system.gateway.latency.max: must be at least min"},
		{"weibull without shape", func(s *Scenario) {
			s.System.Gateway.Latency = TimeDist{Dist: "weibull", Scale: time.Second}
		}, "system.gateway.latency.shape: required by a weibull distribution (weibull takes shape, scale)"},
		{"foreign parameter", func(s *Scenario) { s.System.Gateway.Latency.Mean = time.Second }, "system.gateway.latency.mean: mean does not apply to a lognormal distribution (lognormal takes median, p99)"},
		{"no kind", func(s *Scenario) { s.Load.Amount = MoneyDist{Value: 5} }, "load.amount.dist: required (one of const, uniform, exponential, lognormal, weibull, empirical)"},
		{"empirical in code", func(s *Scenario) {
			s.Load.Amount = MoneyDist{Dist: "empirical", Samples: []int64{100, 200}}
		}, ""},
		{"negative risk limit", func(s *Scenario) { s.System.App.RiskLimit = -1 }, "system.app.risk_limit: must be 0 or more, got -0.01"},
		{"unknown dedupe", func(s *Scenario) { s.System.App.Dedupe = "claims" }, `system.app.dedupe: unknown dedupe "claims" (did you mean "claim"?)`},
		{"unknown match", func(s *Scenario) { s.System.Reconciler.Match = "exact" }, `system.reconciler.match: unknown match "exact" (one of similar, reference)`},
		{"zero interval", func(s *Scenario) { s.System.Reconciler.Interval = 0 }, "system.reconciler.interval: must be greater than 0, got 0s"},
		{"unknown mode", func(s *Scenario) { s.System.Replayer.Mode = "manaul" }, `system.replayer.mode: unknown replay mode "manaul" (did you mean "manual"?)`},
		{"at without mode at", func(s *Scenario) { s.System.Replayer.At = time.Minute }, "system.replayer.at: only applies to mode: at (mode is auto)"},
		{"mode at", func(s *Scenario) { s.System.Replayer.Mode, s.System.Replayer.At = "at", time.Minute }, ""},
		{"zero replay rate", func(s *Scenario) { s.System.Replayer.Rate = 0 }, "system.replayer.rate: must be greater than 0, got 0/s"},
		{"negative load rate", func(s *Scenario) { s.Load.Rate = -1 }, "load.rate: must not be negative, got -1/s"},
		{"stages too long", func(s *Scenario) {
			s.Load.Stages = []Stage{{Duration: time.Minute, Rate: 10}, {Duration: 2 * time.Minute, Rate: 0}}
		}, "load.stages: the stages last 3m, longer than the run (duration 2m)"},
		{"zero stage", func(s *Scenario) { s.Load.Stages = []Stage{{Duration: 0, Rate: 10}} }, "load.stages[0].duration: must be greater than 0, got 0s"},
		{"stage down to zero", func(s *Scenario) { s.Load.Stages = []Stage{{Duration: time.Minute, Rate: 0}} }, ""},
		{"no customers", func(s *Scenario) { s.Load.Customers = 0 }, "load.customers: must be at least 1, got 0"},
		{"zero client timeout", func(s *Scenario) { s.Load.Timeout = 0 }, "load.timeout: must be greater than 0, got 0s"},
		{"zero settle", func(s *Scenario) { s.Settle.Quiet = 0 }, "settle.quiet: must be greater than 0, got 0s"},
		{"zero rto window", func(s *Scenario) { s.RTOWindow = 0 }, "rto_window: must be greater than 0, got 0s"},
		{"fault without toxic", func(s *Scenario) { s.Faults = []Fault{{Link: "edge->router"}} }, "faults[0].toxic: required: what the fault does (one of latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down, kill, stop, restart, pause, pod-kill, node-drain, zone-outage, scale)"},
		{"fault without link", func(s *Scenario) { s.Faults = []Fault{{Toxic: "down"}} }, "faults[0].link: required by toxic down: the link it breaks (one of edge->router, router->dyno, dyno->gateway, dyno->db, edge->capture, replayer->router, reconciler->gateway, router->dyno[i])"},
		{"container without target", func(s *Scenario) { s.Faults = []Fault{{Toxic: "kill"}} }, "faults[0].target: required by container fault kill: the container (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i])"},
		{"fault after end", func(s *Scenario) { s.Faults = []Fault{{At: 3 * time.Minute, Link: "edge->router", Toxic: "down"}} }, "faults[0].at: the fault starts at 3m, after the end of the run (duration 2m)"},
		{"negative at", func(s *Scenario) { s.Faults = []Fault{{At: -time.Second, Link: "edge->router", Toxic: "down"}} }, "faults[0].at: must be 0 or more, got -1s"},
		{"negative for", func(s *Scenario) { s.Faults = []Fault{{For: -time.Second, Link: "edge->router", Toxic: "down"}} }, "faults[0].for: must be greater than 0, got -1s (leave it out for until the end of the run)"},
		{"unknown stream", func(s *Scenario) {
			s.Faults = []Fault{{Link: "edge->router", Toxic: "latency", Stream: "sideways", Attributes: map[string]int64{"latency": 5}}}
		}, `faults[0].stream: unknown stream "sideways" (one of downstream, upstream)`},
		{"missing required attribute", func(s *Scenario) {
			s.Faults = []Fault{{Link: "edge->router", Toxic: "latency", Stream: "downstream"}}
		}, "faults[0].attributes.latency: required by toxic latency: delay added to the data"},
		{"unknown attribute in code", func(s *Scenario) {
			s.Faults = []Fault{{Link: "edge->router", Toxic: "bandwidth", Stream: "downstream", Attributes: map[string]int64{"rate": 1, "rat": 2}}}
		}, `faults[0].attributes.rat: unknown attribute for toxic bandwidth (did you mean "rate"?)`},
		{"negative attribute", func(s *Scenario) {
			s.Faults = []Fault{{Link: "edge->router", Toxic: "latency", Stream: "downstream", Attributes: map[string]int64{"latency": -5}}}
		}, "faults[0].attributes.latency: must be 0 or more, got -5ms"},
		{"slicer variation", func(s *Scenario) {
			s.Faults = []Fault{{Link: "edge->router", Toxic: "slicer", Stream: "downstream", Attributes: map[string]int64{"average_size": 10, "size_variation": 10}}}
		}, "faults[0].attributes.size_variation: must be smaller than average_size (10)"},
		{"duplicate names", func(s *Scenario) {
			s.Faults = []Fault{{Name: "x", Link: "edge->router", Toxic: "down"}, {Name: "x", Link: "dyno->db", Toxic: "down"}}
		}, `faults[1].name: duplicate fault name "x" (also faults[0])`},
		{"dyno link", func(s *Scenario) { s.Faults = []Fault{{Link: "router->dyno[5]", Toxic: "down"}} }, ""},
		{"dyno link out of range", func(s *Scenario) { s.Faults = []Fault{{Link: "router->dyno[6]", Toxic: "down"}} }, "faults[0].link: dyno index 6 out of range: system.dynos.count is 5 (dynos are numbered from 1)"},
		{"index on another link", func(s *Scenario) { s.Faults = []Fault{{Link: "edge->router[1]", Toxic: "down"}} }, `faults[0].link: unknown link "edge->router[1]": only router->dyno takes an index (router->dyno[1] … router->dyno[5])`},
		{"expectation from Expr", func(s *Scenario) { s.Expect = []Expectation{{Expr: "lost_orders == 0"}} }, ""},
		{"bad expectation from Expr", func(s *Scenario) { s.Expect = []Expectation{{Expr: "lost == 0"}} }, `expect[0]: unknown result key "lost" (see the result keys in DESIGN.md, e.g. double_charges, lost_orders, rto_s, latency_ms.p99)`},
		{"bad operator in code", func(s *Scenario) { s.Expect = []Expectation{{Key: "failovers", Op: "=<"}} }, `expect[0]: unknown operator "=<" (one of == != <= >= < >)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Default()
			tt.change(&s)
			errs := s.Validate()
			if tt.want == "" {
				if errs != nil {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want one error %q, got %v", tt.want, errs)
			}
			if got := errs[0].Error(); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestValidateAll checks every problem is reported, not the first.
func TestValidateAll(t *testing.T) {
	s := Default()
	s.Speed, s.Duration, s.Load.Rate, s.System.Dynos.Count = 0, 0, 0, 0
	if errs := s.Validate(); len(errs) != 4 {
		t.Fatalf("got %d errors: %v", len(errs), errs)
	}
}

func TestErrorAt(t *testing.T) {
	s, err := Load(fixtures + "good/design-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want string
	}{
		{"faults[0]", ":19:5: faults[0]: boom"},           // a fault
		{"faults[0].for", ":19:19: faults[0].for: boom"},  // a fault's key
		{"faults[0].name", ":19:5: faults[0].name: boom"}, // not written: the fault
		{"expect[2]", ":23:5: expect[2]: boom"},           // an expectation
		{"settle.quiet", ": settle.quiet: boom"},          // not written at all: the file
	}
	for _, tt := range tests {
		if got := s.ErrorAt(tt.key, "boom").Error(); got != fixtures+"good/design-example.yaml"+tt.want {
			t.Errorf("ErrorAt(%s) = %s", tt.key, got)
		}
	}
	if p := s.Pos("system.dynos.count"); p.Line != 9 || p.Col != 18 {
		t.Errorf("Pos = %v", p)
	}
}
