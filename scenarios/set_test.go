package scenarios

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		got        func(s *Scenario) any
		want       any
	}{
		// Full paths.
		{"system.dynos.count", "4", func(s *Scenario) any { return s.System.Dynos.Count }, 4},
		{"system.router.strategy", "least-conn", func(s *Scenario) any { return s.System.Router.Strategy }, "least-conn"},
		{"load.rate", "20/s", func(s *Scenario) any { return s.Load.Rate }, 20.0},
		{"speed", "50", func(s *Scenario) any { return s.Speed }, 50.0},
		{"speed", "2.5", func(s *Scenario) any { return s.Speed }, 2.5},
		{"speed", "auto", func(s *Scenario) any { return s.AutoSpeed() }, true},
		{"seed", "7", func(s *Scenario) any { return s.Seed }, int64(7)},
		{"duration", "90s", func(s *Scenario) any { return s.Duration }, 90 * time.Second},
		// Short forms without system.
		{"dynos.count", "8", func(s *Scenario) any { return s.System.Dynos.Count }, 8},
		{"router.strategy", "p2c", func(s *Scenario) any { return s.System.Router.Strategy }, "p2c"},
		{"edge.failover_timeout", "5s", func(s *Scenario) any { return s.System.Edge.FailoverTimeout }, 5 * time.Second},
		{"app.dedupe", "off", func(s *Scenario) any { return s.System.App.Dedupe }, "off"},
		{"gateway.idempotency", "true", func(s *Scenario) any { return s.System.Gateway.Idempotency }, true},
		// Money, quoted or not.
		{"app.risk_limit", `"250.00"`, func(s *Scenario) any { return s.System.App.RiskLimit }, int64(25000)},
		{"app.risk_limit", "250.5", func(s *Scenario) any { return s.System.App.RiskLimit }, int64(25050)},
		// A distribution's parameter, or the whole distribution.
		{"dynos.service_time.p99", "2s", func(s *Scenario) any { return s.System.Dynos.ServiceTime.P99 }, 2 * time.Second},
		{"dynos.service_time", "{dist: exponential, mean: 80ms}", func(s *Scenario) any { return s.System.Dynos.ServiceTime },
			TimeDist{Dist: "exponential", Mean: 80 * time.Millisecond}},
		{"gateway.latency", "200ms", func(s *Scenario) any { return s.System.Gateway.Latency },
			TimeDist{Dist: "const", Value: 200 * time.Millisecond}},
		{"load.amount", `"10.00"`, func(s *Scenario) any { return s.Load.Amount }, MoneyDist{Dist: "const", Value: 1000}},
		// Lists and their entries.
		{"faults[0].for", "1m", func(s *Scenario) any { return s.Faults[0].For }, time.Minute},
		{"faults[0].attributes.timeout", "250ms", func(s *Scenario) any { return s.Faults[0].Attributes }, map[string]int64{"timeout": 250}},
		{"faults[0].attributes", "{timeout: 1s}", func(s *Scenario) any { return s.Faults[0].Attributes }, map[string]int64{"timeout": 1000}},
		{"faults[0]", "{at: 30s, link: edge->router, toxic: down}", func(s *Scenario) any { return s.Faults[0] },
			Fault{At: 30 * time.Second, Link: "edge->router", Toxic: "down", Stream: "downstream", Pos: Pos{File: SetFile}}},
		{"faults", "[]", func(s *Scenario) any { return len(s.Faults) }, 0},
		{"expect[0]", "lost_orders <= 1", func(s *Scenario) any { return s.Expect[0].Value }, 1.0},
		{"expect", "[failovers > 0, rto < 1m]", func(s *Scenario) any { return s.Expect[1].Value }, 60.0},
		{"load.stages", "[{duration: 1m, rate: 10/s}]", func(s *Scenario) any { return s.Load.Stages }, []Stage{{time.Minute, 10}}},
		// A section, merged key by key.
		{"system.dynos", "{workers: 4}", func(s *Scenario) any { return [2]int{s.System.Dynos.Count, s.System.Dynos.Workers} }, [2]int{5, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			s, err := Builtin("gateway-blackhole")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Set(tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			if got := tt.got(s); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
			if errs := s.Validate(); errs != nil {
				t.Fatalf("invalid after Set: %v", errs)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		key, value string
		want       string
	}{
		// Unknown keys, with suggestions, full or short.
		{"system.dynos.wokers", "3", `--set: system.dynos.wokers: unknown key (did you mean "workers"?)`},
		{"dynos.wokers", "3", `--set: system.dynos.wokers: unknown key (did you mean "workers"?)`},
		{"dyno.count", "3", `--set: dyno.count: unknown key (did you mean "dynos"?)`},
		// Values read as YAML would be.
		{"dynos.count", "many", `--set: system.dynos.count: want an integer, got "many"`},
		{"dynos.count", "2.5", `--set: system.dynos.count: want an integer, got the number 2.5`},
		{"load.rate", "5", `--set: load.rate: want a rate like 5/s or 300/m, got "5"`},
		{"app.risk_limit", "1.001", `--set: system.app.risk_limit: want an amount of dollars like "35.00", got "1.001": at most 2 decimals (cents)`},
		{"speed", "", `--set: speed: missing value: want a number or auto`},
		{"duration", "[1", `--set: duration: not a YAML value: line 1: did not find expected ',' or ']'`},
		{"faults[0].attributes.latency", "1s", `--set: faults[0].attributes.latency: unknown attribute for toxic timeout (one of timeout)`},
		{"expect[0]", "lost == 0", `--set: expect[0]: unknown result key "lost" (see the result keys in DESIGN.md, e.g. double_charges, lost_orders, rto_s, latency_ms.p99)`},
		// Paths that do not exist.
		{"faults[3].at", "1m", `--set: faults[3]: out of range: faults has 1 entries`},
		{"load.rate.x", "1", `--set: load.rate.x: load.rate is a single value, not a section`},
		{"seed[0]", "1", `--set: seed: not a list: cannot index it with [0]`},
		{"faults[x].at", "1", `--set: faults[x].at: malformed key: bad index [x] in "faults[x].at": want [0], [1], …`},
		{"", "1", `--set: malformed key: empty key`},
		{"load..rate", "1", `--set: load..rate: malformed key: empty key segment in "load..rate"`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			s, err := Builtin("gateway-blackhole")
			if err != nil {
				t.Fatal(err)
			}
			before := s.YAML()
			err = s.Set(tt.key, tt.value)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			if after := s.YAML(); string(after) != string(before) {
				t.Fatal("a failed Set changed the scenario")
			}
		})
	}
}

// TestSetThenValidate checks values from Set are reported with "--set".
func TestSetThenValidate(t *testing.T) {
	s, err := Load(fixtures + "good/design-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"dynos.count", "0"}, {"router.strategy", "fastest"}} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{ // in the order of the format's keys
		`--set: system.router.strategy: unknown strategy "fastest" (one of random, round-robin, least-conn, p2c)`,
		"--set: system.dynos.count: must be at least 1, got 0",
	}
	var got []string
	for _, e := range s.Validate() {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	// The rest keeps its file positions.
	if p := s.Pos("system.dynos.workers"); p.Line != 9 {
		t.Fatalf("workers pos %v", p)
	}
}

// TestSetCopies checks Set on a shallow copy leaves the original alone.
func TestSetCopies(t *testing.T) {
	orig, err := Builtin("gateway-blackhole")
	if err != nil {
		t.Fatal(err)
	}
	before := orig.Clone()
	c := *orig
	for _, kv := range [][2]string{
		{"faults[0].for", "10s"}, {"faults[0].attributes.timeout", "5s"}, {"expect[0]", "failovers > 1"},
		{"dynos.count", "9"}, {"load.stages", "[{duration: 1m, rate: 1/s}]"},
	} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(orig, before) {
		t.Fatalf("original changed:\n%s", orig.YAML())
	}
	if c.Faults[0].For != 10*time.Second || c.Faults[0].Attributes["timeout"] != 5000 {
		t.Fatalf("copy not changed: %+v", c.Faults[0])
	}
}

// TestSetConcurrent runs sweeps' pattern under -race: copies Set in parallel.
func TestSetConcurrent(t *testing.T) {
	base, err := Builtin("random-routing-backlog")
	if err != nil {
		t.Fatal(err)
	}
	before := base.System.Dynos.Count
	var wg sync.WaitGroup
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *base
			if err := c.Set("dynos.count", fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
			if err := c.Set("router.strategy", []string{"random", "least-conn"}[i%2]); err != nil {
				t.Error(err)
			}
			if errs := c.Validate(); errs != nil || c.System.Dynos.Count != i {
				t.Error(errs, c.System.Dynos.Count)
			}
		}()
	}
	wg.Wait()
	if base.System.Dynos.Count != before {
		t.Fatal("base changed")
	}
}

// TestGetSetRoundTrip checks Set(k, Get(k)) changes nothing, for every key
// of every built-in and good fixture.
func TestGetSetRoundTrip(t *testing.T) {
	var all []*Scenario
	for _, n := range BuiltinNames() {
		s, _ := Builtin(n)
		all = append(all, s)
	}
	for _, f := range []string{"every-fault.yaml", "ramp.yaml", "empirical.yaml", "kubernetes.yaml"} {
		s, err := Load(fixtures + "good/" + f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for _, s := range all {
		for _, k := range s.Keys() {
			v, err := s.Get(k)
			if err != nil {
				t.Fatalf("%s: Get(%s): %v", s.Name, k, err)
			}
			c := s.Clone()
			if err := c.Set(k, v); err != nil {
				t.Fatalf("%s: Set(%s, %q): %v", s.Name, k, v, err)
			}
			if !sameScenario(s, c) {
				t.Fatalf("%s: Set(%s, %q) changed the scenario", s.Name, k, v)
			}
		}
	}
}

func TestGet(t *testing.T) {
	s, err := Builtin("gateway-blackhole")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, want string }{
		{"dynos.count", "5"},                   // short form
		{"system.app.risk_limit", "100.00"},    // money
		{"load.rate", "5/s"},                   // rate
		{"system.reconciler.window", "10m"},    // duration
		{"speed", "auto"},                      // a speed left to the harness
		{"seed", "42"},                         // number
		{"gateway.idempotency", "false"},       // bool
		{"faults[0].attributes.timeout", "0s"}, // attribute, back to a duration
		{"expect[1]", "lost_orders == 0"},      // expression
		{"dynos.service_time", `{"dist":"lognormal","median":"50ms","p99":"900ms"}`}, // flow
		{"faults[0].target", `""`}, // empty string, quoted
	}
	for _, tt := range tests {
		if got, err := s.Get(tt.key); err != nil || got != tt.want {
			t.Errorf("Get(%s) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
}

// TestGetQuotes checks strings YAML would read otherwise come back quoted,
// so Set reads them back unchanged.
func TestGetQuotes(t *testing.T) {
	for _, v := range []string{"", "a: b", "# not a comment", "[x]", "true", "42", "off", "plain words"} {
		s := Default()
		s.Description = v
		got, err := s.Get("description")
		if err != nil {
			t.Fatal(err)
		}
		c := s.Clone()
		if err := c.Set("description", got); err != nil || c.Description != v {
			t.Errorf("%q → Get %q → Set %q, %v", v, got, c.Description, err)
		}
	}
}
