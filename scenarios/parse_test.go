package scenarios

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fixtures = "../fixtures/scenarios/"

// TestBadFixtures checks every malformed fixture reports exactly these
// errors: file, line, column, key path and message, in file order.
func TestBadFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		// The example of the brief: a misspelt key, with a suggestion.
		{"misspelt-key.yaml", []string{
			`misspelt-key.yaml:7:5: system.dynos.wokers: unknown key (did you mean "workers"?)`,
		}},
		// An INI file: not YAML, with the line where it stops being YAML.
		{"not-yaml.yaml", []string{
			`not-yaml.yaml:2: not valid YAML: did not find expected <document start>`,
		}},
		// A toxic toxiproxy does not have.
		{"unknown-toxic.yaml", []string{
			`unknown-toxic.yaml:7:12: faults[0].toxic: unknown toxic "blackhole" (one of latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down, kill, stop, restart, pause, pod-kill, node-drain, zone-outage, scale)`,
		}},
		// A negative rate parses but does not validate.
		{"negative-rate.yaml", []string{
			`negative-rate.yaml:4:9: load.rate: must not be negative, got -5/s`,
		}},
		// A misspelt link inside a flow mapping, with a suggestion.
		{"unknown-link.yaml", []string{
			`unknown-link.yaml:4:29: faults[0].link: unknown link "dyno->gatway" (did you mean "dyno->gateway"?)`,
		}},
		// Three decimals, and a negative amount (reported once, not again by Validate).
		{"bad-money.yaml", []string{
			`bad-money.yaml:5:17: system.app.risk_limit: want an amount of dollars like "35.00", got "100.005": at most 2 decimals (cents)`,
			`bad-money.yaml:7:37: load.amount.median: want an amount of dollars like "35.00", got "-35.00": amounts cannot be negative`,
		}},
		// Every problem at once, parse and validation errors mixed, in file order.
		{"many-errors.yaml", []string{
			`many-errors.yaml:3:8: speed: must be greater than 0, or auto, got 0`,
			`many-errors.yaml:4:11: duration: must be greater than 0, got 0s`,
			`many-errors.yaml:6:22: system.router.strategy: unknown strategy "leastconn" (did you mean "least-conn"?)`,
			`many-errors.yaml:9:14: system.dynos.workers: want an integer, got "two"`,
			`many-errors.yaml:10:57: system.dynos.service_time.p99: must be greater than median`,
			`many-errors.yaml:11:17: system.app.dedupe: unknown dedupe "maybe" (one of off, check, claim)`,
			`many-errors.yaml:12:23: system.reconciler.match: unknown match "fuzzy" (one of similar, reference)`,
			`many-errors.yaml:13:13: system.replayer.at: required with mode: at (when to replay, e.g. at: 4m)`,
			`many-errors.yaml:15:9: load.rate: must be greater than 0, got 0/s`,
			`many-errors.yaml:16:14: load.customers: must be at least 1, got 0`,
			`many-errors.yaml:18:20: faults[0].link: dyno index 4 out of range: system.dynos.count is 3 (dynos are numbered from 1)`,
			`many-errors.yaml:18:81: faults[0].attributes.jiter: unknown attribute for toxic latency (did you mean "jitter"?)`,
			`many-errors.yaml:19:60: faults[1].attributes.latency: toxic down takes no attributes`,
			`many-errors.yaml:21:17: expect[0]: use == to compare, not =`,
			`many-errors.yaml:22:5: expect[1]: unknown result key "double_charge" (did you mean "double_charges"?)`,
		}},
		// Wrong YAML types for every kind of value.
		{"wrong-types.yaml", []string{
			`wrong-types.yaml:1:7: name: want a string, got a list`,
			`wrong-types.yaml:2:7: seed: want an integer, got "forty-two"`,
			`wrong-types.yaml:3:8: speed: want a number or auto, got "fast"`,
			`wrong-types.yaml:4:11: duration: want a duration like 150ms, 15s or 2m, got "5"`,
			`wrong-types.yaml:6:10: system.dynos: want a mapping of keys, got a list`,
			`wrong-types.yaml:7:26: system.gateway.idempotency: want true or false, got "yes"`,
			`wrong-types.yaml:9:14: load.customers: want an integer, got the number 20.5`,
			`wrong-types.yaml:10:12: load.timeout: want a duration like 150ms, 15s or 2m, got "1 minute"`,
			`wrong-types.yaml:11:9: faults: want a list, got a mapping`,
			`wrong-types.yaml:12:9: expect: want a list, got "lost_orders == 0"`,
		}},
		// Dyno indexes are 1-based and at most dynos.count, for links and targets.
		{"dyno-index.yaml", []string{
			`dyno-index.yaml:7:11: faults[0].link: dyno index 4 out of range: system.dynos.count is 3 (dynos are numbered from 1)`,
			`dyno-index.yaml:10:11: faults[1].link: bad dyno index in "router->dyno[0]": want router->dyno[i] with i from 1 to 3`,
			`dyno-index.yaml:13:13: faults[2].target: dyno index 7 out of range: system.dynos.count is 3 (dynos are numbered from 1)`,
		}},
		// A fault may run past the end, but not start at or after it; for must be positive.
		{"fault-after-end.yaml", []string{
			`fault-after-end.yaml:5:10: faults[1].at: the fault starts at 5m, after the end of the run (duration 5m)`,
			`fault-after-end.yaml:6:10: faults[2].at: the fault starts at 7m, after the end of the run (duration 5m)`,
			`fault-after-end.yaml:6:19: faults[2].for: must be greater than 0, got 0s (leave it out for until the end of the run)`,
		}},
		// Expectation errors point at the column inside the expression (quoted or not).
		{"bad-expectation.yaml", []string{
			`bad-expectation.yaml:5:5: expect[1]: unknown result key "lost_order" (did you mean "lost_orders"?)`,
			`bad-expectation.yaml:6:17: expect[2]: unexpected "parsecs" after the value: one comparison per expectation`,
			`bad-expectation.yaml:7:17: expect[3]: failovers is a count (a plain number); 5s is a duration`,
			`bad-expectation.yaml:8:5: expect[4]: latency_ms is an object, not a number: name one of its fields, e.g. latency_ms.p99`,
			`bad-expectation.yaml:9:23: expect[5]: exposure_cents is in cents (a number, or an amount like $100.00); 1% is a percentage`,
			`bad-expectation.yaml:10:5: expect[6]: want an expectation like "lost_orders == 0", got a mapping`,
		}},
		// router->dyno[2] unquoted inside {...} is a YAML syntax error: say how to fix it.
		{"flow-brackets.yaml", []string{
			`flow-brackets.yaml:4: not valid YAML: did not find expected ',' or '}' (inside {...}, brackets are YAML syntax: quote names like "router->dyno[2]")`,
		}},
		// A key given twice.
		{"duplicate-key.yaml", []string{
			`duplicate-key.yaml:6:3: load.rate: duplicate key (first at line 4)`,
		}},
		// Missing, unknown and foreign distribution parameters.
		{"bad-dist.yaml", []string{
			`bad-dist.yaml:5:19: system.dynos.service_time.p99: required by a lognormal distribution (lognormal takes median, p99)`,
			`bad-dist.yaml:7:21: system.gateway.latency.dist: unknown distribution "normal" (did you mean "lognormal"?)`,
			`bad-dist.yaml:9:46: load.amount.p99: p99 does not apply to a const distribution (const takes value)`,
		}},
		// One scenario a file.
		{"two-documents.yaml", []string{
			`two-documents.yaml:4: a second YAML document: a scenario file holds exactly one (remove the ---)`,
		}},
		// Nothing at all.
		{"empty.yaml", []string{
			`empty.yaml: empty file: a scenario needs at least a duration and a load`,
		}},
		// Container faults name a target, link toxics a link; no stream for containers.
		{"container-link.yaml", []string{
			`container-link.yaml:4:20: faults[0].link: kill is a container fault: name the container with target, not link`,
			`container-link.yaml:5:22: faults[1].target: only container faults (kill, stop, restart, pause) and Kubernetes faults (pod-kill, node-drain, scale) name a target; toxic latency names a link`,
			`container-link.yaml:6:53: faults[2].stream: does not apply to container fault pause`,
			`container-link.yaml:7:22: faults[3].target: unknown target "scheduler" (one of edge, router, dyno, gateway, db, capture, replayer, reconciler, dyno[i])`,
		}},
		// The redundancy settings and the Kubernetes faults, each wrong
		// one way: every key named where it was written.
		{"kubernetes.yaml", []string{
			`kubernetes.yaml:6:12: system.dynos.zones: must be from 1 to 3 (the local cluster's zones a, b, c), got 4`,
			`kubernetes.yaml:7:13: system.dynos.spread: unknown spread "zones" (did you mean "zone"?)`,
			`kubernetes.yaml:8:19: system.dynos.limits.cpu: 0.0001 is not a whole number of millicores (Kubernetes' smallest CPU unit, 1m = 0.001)`,
			`kubernetes.yaml:8:35: system.dynos.limits.memory: 256m is 256 millibytes to Kubernetes (m is milli): did you mean 256Mi?`,
			`kubernetes.yaml:10:18: system.dynos.probes.readiness.failures: required by a probe: the failures in a row that fail it (e.g. failures: 3)`,
			`kubernetes.yaml:11:26: system.dynos.probes.liveness.period: must be greater than 0, got 0s`,
			`kubernetes.yaml:11:40: system.dynos.probes.liveness.failures: must be at least 1, got 0`,
			`kubernetes.yaml:12:40: system.dynos.disruption_budget.min_available: 5 is more dynos than there are (system.dynos.count is 4): at most 4, or a percentage like 50%`,
			`kubernetes.yaml:14:19: faults[0].for: pod-kill takes no for: there is nothing to lift when it ends (the pods' controller replaces them at once); leave it out`,
			`kubernetes.yaml:15:34: faults[1].zone: give target or zone, not both: node-drain acts on a role (one of edge, router, dyno, gateway, db, capture, replayer, reconciler) as target, or a zone (one of a, b, c)`,
			`kubernetes.yaml:16:29: faults[2].zone: unknown zone "d" (one of a, b, c: the local cluster's zones)`,
			`kubernetes.yaml:17:5: faults[3].replicas: required by Kubernetes fault scale: the replica count to set (0 or more)`,
			`kubernetes.yaml:17:22: faults[3].target: scale acts on a whole role's replica count: name the role (dyno), not one instance (pod-kill kills one pod)`,
			`kubernetes.yaml:18:36: faults[4].replicas: db keeps a store of its own: a second replica would keep a second one, which the checker never reads; scale it to 0 or 1, got 2`,
			`kubernetes.yaml:19:40: faults[5].zone: only Kubernetes faults node-drain and zone-outage name a zone; toxic down does not`,
			`kubernetes.yaml:19:53: faults[5].replicas: only the Kubernetes fault scale takes replicas; toxic down does not`,
			`kubernetes.yaml:20:22: faults[6].target: zone-outage acts on a zone: name it with zone (one of a, b, c), not target`,
			`kubernetes.yaml:20:59: faults[6].stream: does not apply to Kubernetes fault zone-outage`,
			`kubernetes.yaml:21:5: faults[7].target: required by Kubernetes fault node-drain: a role (one of edge, router, dyno, gateway, db, capture, replayer, reconciler) as target, or a zone (one of a, b, c)`,
			`kubernetes.yaml:21:46: faults[7].attributes.latency: node-drain is a Kubernetes fault and takes no attributes`,
		}},
		// An empirical sample file that is not there, relative to the scenario.
		{"missing-samples.yaml", []string{
			`missing-samples.yaml:5:43: system.dynos.service_time.file: cannot read samples: open ` + fixtures + `bad/no-such-file.txt: no such file or directory`,
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			_, errs := CheckFile(fixtures + "bad/" + tt.file)
			var got []string
			for _, e := range errs {
				got = append(got, strings.TrimPrefix(e.Error(), fixtures+"bad/"))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
	files, _ := filepath.Glob(fixtures + "bad/*.yaml")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no test row", f)
		}
	}
}

// TestErrorFields checks the Error fields behind the text, for one error
// of each kind (position from a key, from a value, from inside an expression).
func TestErrorFields(t *testing.T) {
	_, errs := CheckFile(fixtures + "bad/misspelt-key.yaml")
	want := &Error{File: fixtures + "bad/misspelt-key.yaml", Line: 7, Col: 5, Key: "system.dynos.wokers", Msg: `unknown key (did you mean "workers"?)`}
	if len(errs) != 1 || !reflect.DeepEqual(errs[0], want) {
		t.Fatalf("got %#v, want %#v", errs, want)
	}
	_, err := Load(fixtures + "bad/not-yaml.yaml")
	list, ok := err.(ErrorList)
	if !ok || len(list) != 1 || list[0].Line != 2 || list[0].Col != 0 {
		t.Fatalf("not YAML: got %#v", err)
	}
}

// TestParseStopsAtFormOnly checks Parse reports form errors and leaves
// sense to Validate.
func TestParseStopsAtFormOnly(t *testing.T) {
	s, err := Load(fixtures + "bad/negative-rate.yaml")
	if err != nil {
		t.Fatalf("a negative rate is well-formed: %v", err)
	}
	if s.Load.Rate != -5 {
		t.Fatalf("rate = %v", s.Load.Rate)
	}
	if errs := s.Validate(); len(errs) != 1 {
		t.Fatalf("Validate: %v", errs)
	}
	if _, err := Load(fixtures + "bad/misspelt-key.yaml"); err == nil {
		t.Fatal("misspelt key parsed")
	}
	if _, err := Load(fixtures + "bad/no-such-file.yaml"); err == nil || !strings.Contains(err.Error(), "no-such-file.yaml: cannot read") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestGoodFixtures checks every good fixture parses and validates cleanly.
func TestGoodFixtures(t *testing.T) {
	files, _ := filepath.Glob(fixtures + "good/*.yaml")
	if len(files) < 5 {
		t.Fatalf("only %d good fixtures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, errs := CheckFile(f); len(errs) > 0 {
				t.Fatal(errs)
			}
		})
	}
}

// TestMinimal checks the four-line file gets every default.
func TestMinimal(t *testing.T) {
	data, err := os.ReadFile(fixtures + "good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 4 {
		t.Fatalf("minimal.yaml has %d lines", n)
	}
	s, err := Parse("minimal.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Name, want.Duration, want.File = "minimal", 2*time.Minute, "minimal.yaml"
	want.Expect = s.Expect
	got := *s
	got.pos, got.dir = nil, ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got.YAML(), want.YAML())
	}
	if len(s.Expect) != 1 || s.Expect[0].Key != "lost_orders" || s.Expect[0].Op != "==" || s.Expect[0].Value != 0 {
		t.Fatalf("expect: %+v", s.Expect)
	}
	if p := s.Expect[0].Pos; p != (Pos{"minimal.yaml", 4, 10}) {
		t.Fatalf("expect pos %v", p)
	}
}

// TestDesignExample checks DESIGN.md's example reads as it says.
func TestDesignExample(t *testing.T) {
	s, err := Load(fixtures + "good/design-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"seed", s.Seed, int64(42)},
		{"speed", s.Speed, 20.0},
		{"duration", s.Duration, 6 * time.Minute},
		{"failover_timeout", s.System.Edge.FailoverTimeout, 15 * time.Second},
		{"strategy", s.System.Router.Strategy, "random"},
		{"service_time", s.System.Dynos.ServiceTime.Spec().P99, 0.9},
		{"risk_limit cents", s.System.App.RiskLimit, int64(10000)},
		{"replayer rate", s.System.Replayer.Rate, 20.0},
		{"amount median cents", s.Load.Amount.Spec().Median, 3500.0},
		{"fault link", s.Faults[0].Link, "dyno->gateway"},
		{"fault for", s.Faults[0].For, 2 * time.Minute},
		{"fault stream", s.Faults[0].Stream, "downstream"},
		{"fault pos", s.Faults[0].Pos, Pos{fixtures + "good/design-example.yaml", 19, 5}},
		{"rto alias", s.Expect[2].Key, "rto_s"},
		{"rto seconds", s.Expect[2].Value, 60.0},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestEmpirical checks sample files are read relative to the scenario, in
// the distribution's unit.
func TestEmpirical(t *testing.T) {
	s, err := Load(fixtures + "good/empirical.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := s.System.Dynos.ServiceTime
	wantT := []time.Duration{35 * time.Millisecond, 48 * time.Millisecond, 52 * time.Millisecond, 1200 * time.Millisecond, 250 * time.Millisecond}
	if !reflect.DeepEqual(st.Samples, wantT) {
		t.Errorf("service time samples %v", st.Samples)
	}
	if sp := st.Spec(); sp.Kind != "empirical" || sp.Samples[3] != 1.2 {
		t.Errorf("spec %+v", sp)
	}
	if a := s.Load.Amount.Samples; !reflect.DeepEqual(a, []int64{1250, 3500, 3500, 9999, 40000}) {
		t.Errorf("amount samples %v", a)
	}
	if l := s.System.Gateway.Latency; l.Dist != "const" || l.Value != 120*time.Millisecond {
		t.Errorf("bare duration: %+v", l)
	}
}

// TestAnchors checks aliases and merge keys (explicit keys win).
func TestAnchors(t *testing.T) {
	s, err := Load(fixtures + "good/anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.System.Gateway.Latency.P99 != 3*time.Second {
		t.Errorf("alias: %+v", s.System.Gateway.Latency)
	}
	f := s.Faults
	if len(f) != 3 || f[1].At != 3*time.Minute || f[1].Link != "dyno->db" || f[1].Attributes["latency"] != 2000 ||
		f[2].At != 5*time.Minute || f[2].For != 10*time.Second || f[2].Link != "dyno->gateway" || f[2].Attributes["jitter"] != 500 {
		t.Errorf("merged faults: %+v", f)
	}
}

// TestEveryFault checks each toxic's attributes land in toxiproxy's units.
func TestEveryFault(t *testing.T) {
	s, err := Load(fixtures + "good/every-fault.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]int64{
		{"latency": 500, "jitter": 100}, // milliseconds
		{"rate": 64},                    // KB/s
		{"delay": 2000},                 // milliseconds
		{"timeout": 0},                  // 0: hold until the fault ends
		{"timeout": 100},                // milliseconds
		{"average_size": 64, "size_variation": 32, "delay": 10000}, // slicer delay in microseconds
		{"bytes": 1024},              // bytes
		nil, nil, nil, nil, nil, nil, // down and container faults
	}
	if len(s.Faults) != len(want) {
		t.Fatalf("%d faults", len(s.Faults))
	}
	for i, f := range s.Faults {
		if !reflect.DeepEqual(f.Attributes, want[i]) {
			t.Errorf("faults[%d] (%s) attributes %v, want %v", i, f.Toxic, f.Attributes, want[i])
		}
	}
	if f := s.Faults[1]; f.Stream != "upstream" {
		t.Errorf("stream %q", f.Stream)
	}
	if f := s.Faults[8]; f.Link != "router->dyno[3]" {
		t.Errorf("block-style indexed link %q", f.Link)
	}
	if f := s.Faults[9]; !f.IsContainer() || f.Target != "capture" || f.End(s.Duration) != s.Duration {
		t.Errorf("container fault %+v", f)
	}
}

// TestParseInline covers forms not worth a fixture file each.
func TestParseInline(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // the first error, "" for none
	}{
		// Plain prose is a YAML string, not a scenario.
		{"prose", "this is not a scenario", `x.yaml:1:1: not a scenario: want a mapping of keys (name:, duration:, load:, ...), got "this is not a scenario"`},
		// A list at the top.
		{"list", "- a\n- b\n", `x.yaml:1:1: not a scenario: want a mapping of keys (name:, duration:, load:, ...), got a list`},
		// Only comments.
		{"comments only", "# nothing\n", `x.yaml: empty file: a scenario needs at least a duration and a load`},
		// A tab where indentation belongs: yaml.v3 names no line, we find it.
		{"tab", "name: x\nload:\n\trate: 5/s\n", `x.yaml:3: not valid YAML: found character that cannot start any token`},
		// An unterminated quote: the line it opens on.
		{"open quote", "name: x\ndescription: \"oops\nduration: 2m\n", `x.yaml:2: not valid YAML: found unexpected end of stream`},
		// Control characters.
		{"binary", "name: x\nduration: \x01\n", `x.yaml:2: not valid YAML: control characters are not allowed`},
		// Null sections are empty sections.
		{"null section", "system:\nload:\n", ""},
		// Null scalars are missing values.
		{"null scalar", "speed:\n", `x.yaml:1:7: speed: missing value: want a number or auto`},
		// Ints are numbers.
		{"int speed", "speed: 50\n", ""},
		// The speed is a number greater than 0, or auto; never a quoted number.
		{"auto speed", "speed: auto\n", ""},
		{"negative speed", "speed: -1\n", `x.yaml:1:8: speed: must be greater than 0, or auto, got -1`},
		{"other word speed", "speed: fastest\n", `x.yaml:1:8: speed: want a number or auto, got "fastest"`},
		// Unquoted money is read from its text, exactly.
		{"unquoted money", "system: {app: {risk_limit: 99.99}}\n", ""},
		// A $ prefix is allowed on money.
		{"dollar money", "system: {app: {risk_limit: $50}}\n", ""},
		// A rate needs its unit.
		{"rate without unit", "load: {rate: 5}\n", `x.yaml:1:14: load.rate: want a rate like 5/s or 300/m, got "5"`},
		// Rates per hour are not a thing.
		{"rate per hour", "load: {rate: 5/h}\n", `x.yaml:1:14: load.rate: want a rate like 5/s or 300/m, got "5/h"`},
		// Unknown top-level key, far from any real one: the keys are listed.
		{"unknown top", "zzz: 1\n", `x.yaml:1:1: zzz: unknown key (one of name, description, seed, speed, duration, system, load, faults, expect, abort_if, settle, drill, rto_window)`},
		// A key that is not a word.
		{"list key", "[a]: 1\n", `x.yaml:1:1: want a key name, got a list`},
		// Merge of a scalar.
		{"bad merge", "load:\n  <<: 5\n", `x.yaml:2:7: load: merge (<<) wants a mapping or a list of mappings, got the number 5`},
		// Attributes must be a mapping.
		{"attributes list", "faults: [{at: 1m, link: edge->router, toxic: latency, attributes: [1]}]\n", `x.yaml:1:67: faults[0].attributes: want a mapping of attributes like {latency: 500ms}, got a list`},
		// A millisecond attribute needs a duration, not a bare number.
		{"attribute number", "faults: [{at: 1m, link: edge->router, toxic: latency, attributes: {latency: 500}}]\n", `x.yaml:1:77: faults[0].attributes.latency: want a duration like 150ms, 15s or 2m, got "500"`},
		// Byte attributes are integers.
		{"attribute bytes", "faults: [{at: 1m, link: edge->router, toxic: limit_data, attributes: {bytes: 1kb}}]\n", `x.yaml:1:78: faults[0].attributes.bytes: want an integer number of bytes, got "1kb"`},
		// Container faults take no attributes.
		{"container attributes", "faults: [{at: 1m, target: db, toxic: kill, attributes: {latency: 1s}}]\n", `x.yaml:1:57: faults[0].attributes.latency: kill is a container fault and takes no attributes`},
		// A fault must be a mapping.
		{"fault scalar", "faults: [down]\n", `x.yaml:1:10: faults[0]: want a fault like {at: 1m, for: 2m, link: dyno->gateway, toxic: timeout}, got "down"`},
		// A distribution must be a mapping or a bare value.
		{"dist list", "system: {dynos: {service_time: [1, 2]}}\n", `x.yaml:1:32: system.dynos.service_time: want a distribution like {dist: lognormal, median: 50ms, p99: 900ms}, got a list`},
		// A distribution's unknown key.
		{"dist key", "system: {dynos: {service_time: {dist: const, valeu: 1s}}}\n", `x.yaml:1:46: system.dynos.service_time.valeu: unknown key (did you mean "value"?)`},
		// The capture's ack and flush: a misspelt value or key, a flush the
		// harness would check before, and a good pair.
		{"capture ack", "system: {capture: {ack: erly}}\n", `x.yaml:1:25: system.capture.ack: unknown ack "erly" (did you mean "early"?)`},
		{"capture key", "system:\n  capture:\n    flsh: 2s\n", `x.yaml:3:5: system.capture.flsh: unknown key (did you mean "flush"?)`},
		{"capture flush", "system: {capture: {ack: early, flush: 6s}}\n", `x.yaml:1:39: system.capture.flush: must be at most half of settle.quiet (10s) with ack: early, so capture has written the last orders it acknowledged before the harness checks them, got 6s`},
		{"capture zero flush", "system: {capture: {flush: 0s}}\n", `x.yaml:1:27: system.capture.flush: must be greater than 0, got 0s`},
		{"capture early", "system: {capture: {ack: early, flush: 5s}}\n", ""},
		{"capture long flush durable", "system: {capture: {ack: durable, flush: 1m}}\n", ""},
		// Integers must fit.
		{"overflow", "seed: 99999999999999999999\n", `x.yaml:1:7: seed: want an integer, got the number 99999999999999999999`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := Check("x.yaml", []byte(tt.yaml))
			got := ""
			if len(errs) > 0 {
				got = errs[0].Error()
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s\n(all: %v)", got, tt.want, errs)
			}
		})
	}
}

// TestCaptureSettings reads system.capture from a file and from Set.
func TestCaptureSettings(t *testing.T) {
	s, errs := Check("x.yaml", []byte("duration: 1m\nsystem:\n  capture: {ack: early, flush: 3s}\nsettle: {quiet: 6s}\n"))
	if errs != nil {
		t.Fatal(errs)
	}
	if s.System.Capture != (Capture{Ack: "early", Flush: 3 * time.Second}) {
		t.Fatalf("capture %+v", s.System.Capture)
	}
	if d := Default().System.Capture; d != (Capture{Ack: "durable", Flush: time.Second}) {
		t.Fatalf("default capture %+v", d)
	}
	if err := s.Set("capture.ack", "durable"); err != nil || s.System.Capture.Ack != "durable" {
		t.Fatalf("Set capture.ack: %v, %+v", err, s.System.Capture)
	}
	if err := s.Set("system.capture.flush", "500ms"); err != nil || s.System.Capture.Flush != 500*time.Millisecond {
		t.Fatalf("Set system.capture.flush: %v, %+v", err, s.System.Capture)
	}
	if err := s.Set("capture.ack", "eventually"); err != nil {
		t.Fatal(err) // the form is fine; Validate says what is wrong
	}
	if errs := s.Validate(); len(errs) != 1 || errs[0].Error() != `--set: system.capture.ack: unknown ack "eventually" (one of durable, early)` {
		t.Fatalf("Validate = %v", errs)
	}
}

// TestNameFromFile checks a scenario without a name is named after its file.
func TestNameFromFile(t *testing.T) {
	s, err := Parse("dir/my-drill.yaml", []byte("duration: 1m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "my-drill" {
		t.Fatalf("name %q", s.Name)
	}
}

// TestYAMLRoundTrip checks YAML() of every built-in and good fixture
// parses back to the same scenario.
func TestYAMLRoundTrip(t *testing.T) {
	var all []*Scenario
	for _, n := range BuiltinNames() {
		s, err := Builtin(n)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	files, _ := filepath.Glob(fixtures + "good/*.yaml")
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			out := s.YAML()
			back, err := Parse(s.File, out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if errs := back.Validate(); errs != nil {
				t.Fatalf("%v\n%s", errs, out)
			}
			if !sameScenario(s, back) {
				t.Fatalf("round trip changed the scenario:\n%s\n---\n%s", out, back.YAML())
			}
		})
	}
}

// sameScenario compares two scenarios, ignoring positions and the
// expressions' spelling (YAML() writes them as they were written).
func sameScenario(a, b *Scenario) bool {
	x, y := *a.Clone(), *b.Clone()
	x.pos, y.pos = nil, nil
	for _, s := range []*Scenario{&x, &y} {
		for i := range s.Expect {
			s.Expect[i].Pos = Pos{}
		}
		for i := range s.Faults {
			s.Faults[i].Pos = Pos{}
		}
	}
	return reflect.DeepEqual(x, y)
}
