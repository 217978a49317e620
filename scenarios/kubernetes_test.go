package scenarios

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkLines checks src (a scenario file k.yaml) and returns its errors,
// one a line, or "".
func checkLines(src string) string {
	_, errs := Check("k.yaml", []byte(src))
	return errs.Error()
}

// TestRedundancyKeys checks the dynos' redundancy settings: each key's
// good values, and its bad ones with the whole error (file, line, column,
// key and message).
func TestRedundancyKeys(t *testing.T) {
	const head = "name: k\nsystem:\n  dynos: "
	tests := []struct {
		name  string
		dynos string // the value of system.dynos, on line 3 from column 10
		want  string // every error, one a line; "": valid
	}{
		{"the design's sketch", `{count: 6, zones: 3, spread: zone, limits: {cpu: 500m, memory: 256Mi}, ` +
			`probes: {readiness: {period: 2s, failures: 3}, liveness: {period: 5s, failures: 3}}, disruption_budget: {min_available: 50%}}`, ""},
		{"one zone", "{zones: 1}", ""},
		{"two zones, spread", "{zones: 2, spread: zone}", ""},
		{"anti-affinity, as many dynos as zones", "{count: 3, zones: 3, spread: anti-affinity}", ""},
		{"spread none", "{spread: none}", ""},
		{"cores", "{limits: {cpu: 1}}", ""},
		{"half a core, as a number", "{limits: {cpu: 0.5}}", ""},
		{"a millicore", "{limits: {cpu: 1m}}", ""},
		{"three decimals", "{limits: {cpu: 0.125}}", ""},
		{"bytes", "{limits: {memory: 268435456}}", ""},
		{"decimal megabytes", "{limits: {memory: 300M}}", ""},
		{"a fraction of a gibibyte", "{limits: {memory: 1.5Gi}}", ""},
		{"a budget of every dyno", "{count: 5, disruption_budget: {min_available: 5}}", ""},
		{"a budget of none", "{disruption_budget: {min_available: 0}}", ""},
		{"every dyno, as a percentage", `{disruption_budget: {min_available: "100%"}}`, ""},

		{"zones 0", "{zones: 0}", "k.yaml:3:18: system.dynos.zones: must be from 1 to 3 (the local cluster's zones a, b, c), got 0"},
		{"zones 4", "{zones: 4}", "k.yaml:3:18: system.dynos.zones: must be from 1 to 3 (the local cluster's zones a, b, c), got 4"},
		{"zones not a number", "{zones: three}", `k.yaml:3:18: system.dynos.zones: want an integer, got "three"`},
		{"unknown spread", "{zones: 2, spread: even}", `k.yaml:3:29: system.dynos.spread: unknown spread "even" (one of none, zone, anti-affinity)`},
		{"spread without zones", "{spread: zone}",
			"k.yaml:3:19: system.dynos.spread: zone spreads the dynos over zones: it needs system.dynos.zones of 2 or more (not set)"},
		{"spread over one zone", "{zones: 1, spread: anti-affinity}",
			"k.yaml:3:29: system.dynos.spread: anti-affinity spreads the dynos over zones: it needs system.dynos.zones of 2 or more, got 1"},
		{"anti-affinity, more dynos than zones", "{count: 6, zones: 3, spread: anti-affinity}",
			"k.yaml:3:39: system.dynos.spread: anti-affinity places at most one dyno a zone: 6 dynos (system.dynos.count) do not fit in 3 zones (use spread: zone)"},
		{"zero cpu", "{limits: {cpu: 0m}}", "k.yaml:3:25: system.dynos.limits.cpu: must be greater than 0, got 0m"},
		{"cpu with a space", `{limits: {cpu: "500 m"}}`, `k.yaml:3:25: system.dynos.limits.cpu: want a Kubernetes CPU quantity like 500m (millicores) or 1 (cores), got "500 m"`},
		{"cpu in kilocores", "{limits: {cpu: 1k}}", `k.yaml:3:25: system.dynos.limits.cpu: want a Kubernetes CPU quantity like 500m (millicores) or 1 (cores), got "1k"`},
		{"a fraction of a millicore", "{limits: {cpu: 0.0005}}",
			"k.yaml:3:25: system.dynos.limits.cpu: 0.0005 is not a whole number of millicores (Kubernetes' smallest CPU unit, 1m = 0.001)"},
		{"empty cpu", `{limits: {cpu: ""}}`, "k.yaml:3:25: system.dynos.limits.cpu: must not be empty (leave it out for no limit)"},
		{"cpu as a mapping", "{limits: {cpu: {cores: 1}}}", "k.yaml:3:25: system.dynos.limits.cpu: want a string, got a mapping"},
		{"megabytes", "{limits: {memory: 256MB}}", `k.yaml:3:28: system.dynos.limits.memory: want a Kubernetes memory quantity like 256Mi or 1Gi, got "256MB": did you mean 256Mi?`},
		{"lower-case gibibytes", "{limits: {memory: 1gi}}", `k.yaml:3:28: system.dynos.limits.memory: want a Kubernetes memory quantity like 256Mi or 1Gi, got "1gi": did you mean 1Gi?`},
		{"millibytes", "{limits: {memory: 256m}}", "k.yaml:3:28: system.dynos.limits.memory: 256m is 256 millibytes to Kubernetes (m is milli): did you mean 256Mi?"},
		{"no memory", "{limits: {memory: 0Mi}}", "k.yaml:3:28: system.dynos.limits.memory: must be greater than 0, got 0Mi"},
		{"a fraction of a byte", "{limits: {memory: 1.5}}", "k.yaml:3:28: system.dynos.limits.memory: 1.5 is not a whole number of bytes"},
		{"memory in words", "{limits: {memory: lots}}",
			`k.yaml:3:28: system.dynos.limits.memory: want a Kubernetes memory quantity like 256Mi or 1Gi (bytes, with a suffix Ki, Mi, Gi, Ti, Pi, Ei or k, M, G, T, P, E), got "lots"`},
		{"unknown limit", "{limits: {gpu: 1}}", `k.yaml:3:20: system.dynos.limits.gpu: unknown key (did you mean "cpu"?)`},
		{"a probe without failures", "{probes: {readiness: {period: 2s}}}",
			"k.yaml:3:31: system.dynos.probes.readiness.failures: required by a probe: the failures in a row that fail it (e.g. failures: 3)"},
		{"a probe without period", "{probes: {liveness: {failures: 3}}}",
			"k.yaml:3:30: system.dynos.probes.liveness.period: required by a probe: the time between two probes (e.g. period: 2s)"},
		{"an empty probe", "{probes: {liveness: {}}}",
			"k.yaml:3:30: system.dynos.probes.liveness.period: required by a probe: the time between two probes (e.g. period: 2s)\n" +
				"k.yaml:3:30: system.dynos.probes.liveness.failures: required by a probe: the failures in a row that fail it (e.g. failures: 3)"},
		{"a zero period", "{probes: {liveness: {period: 0s, failures: 1}}}", "k.yaml:3:39: system.dynos.probes.liveness.period: must be greater than 0, got 0s"},
		{"no failures", "{probes: {readiness: {period: 1s, failures: 0}}}", "k.yaml:3:54: system.dynos.probes.readiness.failures: must be at least 1, got 0"},
		{"a malformed period", "{probes: {readiness: {period: often, failures: 1}}}",
			`k.yaml:3:40: system.dynos.probes.readiness.period: want a duration like 150ms, 15s or 2m, got "often"`},
		{"unknown probe", "{probes: {startup: {period: 1s, failures: 1}}}", `k.yaml:3:20: system.dynos.probes.startup: unknown key (one of readiness, liveness)`},
		{"a budget above the count", "{count: 4, disruption_budget: {min_available: 5}}",
			"k.yaml:3:56: system.dynos.disruption_budget.min_available: 5 is more dynos than there are (system.dynos.count is 4): at most 4, or a percentage like 50%"},
		{"over 100%", `{disruption_budget: {min_available: "101%"}}`,
			"k.yaml:3:46: system.dynos.disruption_budget.min_available: a percentage must be from 0% to 100%, got 101%"},
		{"a fraction of a percent", `{disruption_budget: {min_available: "50.5%"}}`,
			`k.yaml:3:46: system.dynos.disruption_budget.min_available: want a number of dynos (at most system.dynos.count, 5) or a percentage of them like 50%, got "50.5%"`},
		{"a negative budget", "{disruption_budget: {min_available: -1}}",
			`k.yaml:3:46: system.dynos.disruption_budget.min_available: want a number of dynos (at most system.dynos.count, 5) or a percentage of them like 50%, got "-1"`},
		{"the budget's other key", "{disruption_budget: {max_unavailable: 1}}", `k.yaml:3:31: system.dynos.disruption_budget.max_unavailable: unknown key (one of min_available)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkLines(head + tt.dynos + "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestKubernetesFaults checks the Kubernetes faults: what each names
// (target, zone, or either), replicas, for, and no key of another kind.
func TestKubernetesFaults(t *testing.T) {
	const head = "name: k\nduration: 10m\nfaults:\n  - "
	tests := []struct {
		name  string
		fault string // faults[0], on line 4 from column 5
		want  string
	}{
		{"pod-kill of a role", "{at: 1m, target: dyno, toxic: pod-kill}", ""},
		{"pod-kill of one dyno", `{at: 1m, target: "dyno[5]", toxic: pod-kill}`, ""},
		{"pod-kill of the gateway", "{at: 0s, target: gateway, toxic: pod-kill}", ""},
		{"node-drain of a role", "{at: 1m, target: dyno, toxic: node-drain}", ""},
		{"node-drain of a zone, for a while", "{at: 1m, for: 2m, zone: c, toxic: node-drain}", ""},
		{"zone-outage", "{at: 2m, for: 3m, zone: b, toxic: zone-outage}", ""},
		{"zone-outage to the end", "{at: 2m, zone: a, toxic: zone-outage}", ""},
		{"scale down for a while", "{at: 1m, for: 1m, target: dyno, replicas: 2, toxic: scale}", ""},
		{"scale to zero for good", "{at: 1m, target: dyno, replicas: 0, toxic: scale}", ""},
		{"scale up", "{at: 1m, target: router, replicas: 3, toxic: scale}", ""},
		{"a store to one replica", "{at: 1m, target: gateway, replicas: 1, toxic: scale}", ""},

		{"pod-kill with for", "{at: 1m, for: 1m, target: dyno, toxic: pod-kill}",
			"k.yaml:4:19: faults[0].for: pod-kill takes no for: there is nothing to lift when it ends (the pods' controller replaces them at once); leave it out"},
		{"pod-kill of nothing", "{at: 1m, toxic: pod-kill}",
			"k.yaml:4:5: faults[0].target: required by Kubernetes fault pod-kill: a role or one instance (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i]) as target"},
		{"pod-kill of a zone", "{at: 1m, zone: a, toxic: pod-kill}",
			"k.yaml:4:20: faults[0].zone: pod-kill takes no zone: it acts on a role or one instance (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i]) as target"},
		{"pod-kill of a dyno out of range", `{at: 1m, target: "dyno[6]", toxic: pod-kill}`,
			"k.yaml:4:22: faults[0].target: dyno index 6 out of range: system.dynos.count is 5 (dynos are numbered from 1)"},
		{"pod-kill of an unknown role", "{at: 1m, target: scheduler, toxic: pod-kill}",
			`k.yaml:4:22: faults[0].target: unknown target "scheduler" (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i])`},
		{"pod-kill of a link", "{at: 1m, link: edge->router, toxic: pod-kill}",
			"k.yaml:4:5: faults[0].target: required by Kubernetes fault pod-kill: a role or one instance (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i]) as target\n" +
				"k.yaml:4:20: faults[0].link: pod-kill is a Kubernetes fault: it acts on a role or one instance (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i]) as target, not on a link"},
		{"node-drain of nothing", "{at: 1m, toxic: node-drain}",
			"k.yaml:4:5: faults[0].target: required by Kubernetes fault node-drain: a role (one of edge, router, dyno, gateway, db, capture, replayer, reconciler) as target, or a zone (one of a, b, c)"},
		{"node-drain of both", "{at: 1m, target: dyno, zone: b, toxic: node-drain}",
			"k.yaml:4:34: faults[0].zone: give target or zone, not both: node-drain acts on a role (one of edge, router, dyno, gateway, db, capture, replayer, reconciler) as target, or a zone (one of a, b, c)"},
		{"node-drain of one dyno", `{at: 1m, target: "dyno[2]", toxic: node-drain}`,
			"k.yaml:4:22: faults[0].target: node-drain acts on a whole role's nodes: name the role (dyno), not one instance (pod-kill kills one pod)"},
		{"zone-outage of nothing", "{at: 1m, for: 1m, toxic: zone-outage}",
			"k.yaml:4:5: faults[0].zone: required by Kubernetes fault zone-outage: the zone (one of a, b, c)"},
		{"zone-outage of a zone that is not there", "{at: 1m, for: 1m, zone: d, toxic: zone-outage}",
			`k.yaml:4:29: faults[0].zone: unknown zone "d" (one of a, b, c: the local cluster's zones)`},
		{"zone-outage of a role", "{at: 1m, for: 1m, target: dyno, toxic: zone-outage}",
			"k.yaml:4:31: faults[0].target: zone-outage acts on a zone: name it with zone (one of a, b, c), not target"},
		{"zone-outage of a region", "{at: 1m, for: 1m, zone: a, region: primary, toxic: zone-outage}",
			"k.yaml:4:40: faults[0].region: does not apply to Kubernetes fault zone-outage"},
		{"zone-outage with a stream", "{at: 1m, zone: a, stream: upstream, toxic: zone-outage}",
			"k.yaml:4:31: faults[0].stream: does not apply to Kubernetes fault zone-outage"},
		{"zone-outage with attributes", "{at: 1m, zone: a, toxic: zone-outage, attributes: {latency: 1s}}",
			"k.yaml:4:56: faults[0].attributes.latency: zone-outage is a Kubernetes fault and takes no attributes"},
		{"scale without replicas", "{at: 1m, target: dyno, toxic: scale}",
			"k.yaml:4:5: faults[0].replicas: required by Kubernetes fault scale: the replica count to set (0 or more)"},
		{"scale to minus one", "{at: 1m, target: dyno, replicas: -1, toxic: scale}", "k.yaml:4:38: faults[0].replicas: must be 0 or more, got -1"},
		{"scale to a word", "{at: 1m, target: dyno, replicas: many, toxic: scale}", `k.yaml:4:38: faults[0].replicas: want an integer, got "many"`},
		{"scale a store up", "{at: 1m, target: capture, replicas: 2, toxic: scale}",
			"k.yaml:4:41: faults[0].replicas: capture keeps a store of its own: a second replica would keep a second one, which the checker never reads; scale it to 0 or 1, got 2"},
		{"scale one dyno", `{at: 1m, target: "dyno[1]", replicas: 0, toxic: scale}`,
			"k.yaml:4:22: faults[0].target: scale acts on a whole role's replica count: name the role (dyno), not one instance (pod-kill kills one pod)"},
		{"scale a zone", "{at: 1m, zone: a, replicas: 1, toxic: scale}",
			"k.yaml:4:20: faults[0].zone: scale takes no zone: it acts on a role (one of edge, router, dyno, gateway, db, capture, replayer, reconciler) as target"},
		{"replicas on pod-kill", "{at: 1m, target: dyno, replicas: 1, toxic: pod-kill}",
			"k.yaml:4:38: faults[0].replicas: only the Kubernetes fault scale takes replicas; pod-kill does not"},
		{"a zone on a link fault", "{at: 1m, link: edge->router, zone: a, toxic: down}",
			"k.yaml:4:40: faults[0].zone: only Kubernetes faults node-drain and zone-outage name a zone; toxic down does not"},
		{"replicas on a container fault", "{at: 1m, target: dyno, replicas: 1, toxic: kill}",
			"k.yaml:4:38: faults[0].replicas: only the Kubernetes fault scale takes replicas; toxic kill does not"},
		{"after the end", "{at: 10m, zone: a, toxic: zone-outage}",
			"k.yaml:4:10: faults[0].at: the fault starts at 10m, after the end of the run (duration 10m)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkLines(head + tt.fault + "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestKubernetesFaultLabels checks the reports' names of Kubernetes faults.
func TestKubernetesFaultLabels(t *testing.T) {
	for _, tt := range []struct {
		f    Fault
		want string
	}{
		{Fault{At: 2 * time.Minute, For: 3 * time.Minute, Zone: "b", Toxic: "zone-outage"}, "zone-outage on zone b at 2m"},
		{Fault{At: time.Minute, Target: "dyno", Toxic: "node-drain"}, "node-drain on dyno at 1m"},
		{Fault{At: time.Minute, Zone: "c", Toxic: "node-drain"}, "node-drain on zone c at 1m"},
		{Fault{At: 90 * time.Second, Target: "dyno[2]", Toxic: "pod-kill"}, "pod-kill on dyno[2] at 1m30s"},
		{Fault{At: time.Minute, Target: "dyno", Replicas: 2, Toxic: "scale"}, "scale on dyno to 2 replicas at 1m"},
		{Fault{Name: "no dynos", Target: "dyno", Toxic: "scale"}, "no dynos"},
	} {
		if got := tt.f.Label(); got != tt.want {
			t.Errorf("Label() = %q, want %q", got, tt.want)
		}
		if !tt.f.IsKubernetes() || tt.f.IsContainer() {
			t.Errorf("%s: IsKubernetes %v, IsContainer %v", tt.want, tt.f.IsKubernetes(), tt.f.IsContainer())
		}
	}
	if (Fault{Toxic: "kill"}).IsKubernetes() || (Fault{Toxic: "down"}).IsKubernetes() {
		t.Error("kill or down is a Kubernetes fault")
	}
}

// TestRedundancyKeysAsked checks which redundancy settings a scenario
// asks for: none by default, spread none included, each key by its path.
func TestRedundancyKeysAsked(t *testing.T) {
	s := Default()
	if s.HasRedundancy() || s.RedundancyKeys() != nil {
		t.Fatalf("the default asks for %v", s.RedundancyKeys())
	}
	s2, err := Parse("k.yaml", []byte("system:\n  dynos: {spread: none}\n"))
	if err != nil || s2.HasRedundancy() {
		t.Fatalf("spread: none asks for %v (%v)", s2.RedundancyKeys(), err)
	}
	s3, err := Load(fixtures + "good/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := "system.dynos.zones system.dynos.spread system.dynos.limits.cpu system.dynos.limits.memory " +
		"system.dynos.probes.readiness system.dynos.probes.liveness system.dynos.disruption_budget.min_available"
	if got := strings.Join(s3.RedundancyKeys(), " "); got != want {
		t.Errorf("RedundancyKeys() = %s\nwant %s", got, want)
	}
	if p := s3.Pos("system.dynos.zones"); p.Line != 7 || p.Col != 28 {
		t.Errorf("zones written at %v", p)
	}
}

// TestSetRedundancy sets every redundancy key and a Kubernetes fault's
// keys the way --set does, and checks a bad value is named with --set.
func TestSetRedundancy(t *testing.T) {
	s := Default()
	s.Faults = []Fault{{At: time.Minute, For: time.Minute, Zone: "a", Toxic: "zone-outage"},
		{At: time.Minute, Target: "dyno", Replicas: 1, Toxic: "scale"}}
	for _, kv := range [][2]string{
		{"dynos.count", "6"}, {"dynos.zones", "2"}, {"dynos.spread", "zone"}, {"dynos.limits.cpu", "500m"},
		{"system.dynos.limits.memory", "256Mi"}, {"dynos.probes.readiness", "{period: 2s, failures: 3}"},
		{"dynos.probes.liveness.period", "5s"}, {"dynos.probes.liveness.failures", "4"},
		{"dynos.disruption_budget.min_available", "50%"}, {"faults[0].zone", "c"}, {"faults[1].replicas", "0"},
	} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%s, %s): %v", kv[0], kv[1], err)
		}
	}
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	d := s.System.Dynos
	want := Dynos{Count: 6, Workers: d.Workers, Backlog: d.Backlog, ServiceTime: d.ServiceTime, Zones: 2, Spread: "zone",
		Limits: Limits{CPU: "500m", Memory: "256Mi"}, Probes: Probes{Readiness: Probe{2 * time.Second, 3}, Liveness: Probe{5 * time.Second, 4}},
		DisruptionBudget: DisruptionBudget{MinAvailable: "50%"}}
	if d.Zones != want.Zones || d.Spread != want.Spread || d.Limits != want.Limits || d.Probes != want.Probes || d.DisruptionBudget != want.DisruptionBudget {
		t.Errorf("dynos %+v\nwant %+v", d, want)
	}
	if s.Faults[0].Zone != "c" || s.Faults[1].Replicas != 0 || !s.given("faults[1].replicas") {
		t.Errorf("faults %+v", s.Faults)
	}
	if got, _ := s.Get("dynos.disruption_budget.min_available"); got != "50%" {
		t.Errorf("Get min_available = %q", got)
	}
	if got, _ := s.Get("dynos.limits"); got != `{"cpu":"500m","memory":"256Mi"}` {
		t.Errorf("Get limits = %q", got)
	}

	for _, tt := range []struct{ key, value, want string }{
		{"dynos.zones", "4", "--set: system.dynos.zones: must be from 1 to 3 (the local cluster's zones a, b, c), got 4"},
		{"dynos.spread", "anti-affinity", "--set: system.dynos.spread: anti-affinity places at most one dyno a zone: 6 dynos (system.dynos.count) do not fit in 2 zones (use spread: zone)"},
		{"dynos.limits.memory", "1GB", `--set: system.dynos.limits.memory: want a Kubernetes memory quantity like 256Mi or 1Gi, got "1GB": did you mean 1Gi?`},
		{"dynos.disruption_budget.min_available", "7", "--set: system.dynos.disruption_budget.min_available: 7 is more dynos than there are (system.dynos.count is 6): at most 6, or a percentage like 50%"},
		{"faults[0].zone", "z", `--set: faults[0].zone: unknown zone "z" (one of a, b, c: the local cluster's zones)`},
		{"faults[1].replicas", "-2", "--set: faults[1].replicas: must be 0 or more, got -2"},
	} {
		c := s.Clone()
		if err := c.Set(tt.key, tt.value); err != nil {
			t.Fatalf("Set(%s, %s): %v", tt.key, tt.value, err)
		}
		errs := c.Validate()
		if len(errs) != 1 || errs[0].Error() != tt.want {
			t.Errorf("--set %s=%s: %v\nwant %s", tt.key, tt.value, errs, tt.want)
		}
	}
	if err := s.Clone().Set("dynos.zones", "two"); err == nil || err.Error() != `--set: system.dynos.zones: want an integer, got "two"` {
		t.Errorf("Set(dynos.zones, two): %v", err)
	}
	if err := s.Clone().Set("dynos.limit.cpu", "1"); err == nil || !strings.Contains(err.Error(), `system.dynos.limit: unknown key (did you mean "limits"?)`) {
		t.Errorf("Set(dynos.limit.cpu, 1): %v", err)
	}
}

// TestQuantityPatterns checks the JSON Schema's patterns of the limits
// accept every quantity the validator accepts.
func TestQuantityPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern string
		check   func(string) error
		samples []string
	}{
		{cpuPattern, checkCPU, []string{"500m", "1", "0.5", ".5", "2.125", "1k", "500 m", "m", "0.0005", "1e3"}},
		{memoryPattern, checkMemory, []string{"256Mi", "1Gi", "1.5Gi", "268435456", "300M", "1k", "256MB", "256m", "1gi", "lots", "1.5", "1e9"}},
	} {
		re := regexp.MustCompile(c.pattern)
		for _, s := range c.samples {
			if err := c.check(s); err == nil && !re.MatchString(s) {
				t.Errorf("%q: valid, but the schema's pattern %s refuses it", s, c.pattern)
			}
		}
	}
}
