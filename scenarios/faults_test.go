package scenarios

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestFaultKinds checks the table's order and what the harness reads from
// it: which kinds act on containers, which slow a link, and the units.
func TestFaultKinds(t *testing.T) {
	var names, containers, kubernetes, slows []string
	units := map[string]string{}
	for _, k := range FaultKinds() {
		names = append(names, k.Name)
		if k.Container {
			containers = append(containers, k.Name)
		}
		if k.Kubernetes {
			kubernetes = append(kubernetes, k.Name)
		}
		if k.Container && k.Kubernetes {
			t.Errorf("%s: both a container and a Kubernetes fault", k.Name)
		}
		if !k.Kubernetes && (k.Target != "" || k.Zone || k.Replicas || k.NoLift) {
			t.Errorf("%s: Kubernetes fields on a kind that is not one", k.Name)
		}
		if k.Slows {
			slows = append(slows, k.Name)
		}
		if got, ok := LookupFaultKind(k.Name); !ok || !reflect.DeepEqual(got, k) {
			t.Errorf("LookupFaultKind(%q) = %+v, %v", k.Name, got, ok)
		}
		for _, a := range k.Attrs {
			units[k.Name+"."+a.Name] = a.Unit
			if got, ok := k.Attr(a.Name); !ok || got != a {
				t.Errorf("%s.Attr(%q) = %+v, %v", k.Name, a.Name, got, ok)
			}
			if a.IsDuration() != (a.Unit == UnitMillis || a.Unit == UnitMicros) {
				t.Errorf("%s.%s: IsDuration with unit %s", k.Name, a.Name, a.Unit)
			}
		}
		if k.Doc == "" {
			t.Errorf("%s: no Doc", k.Name)
		}
	}
	want := []string{"latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down",
		"kill", "stop", "restart", "pause", "pod-kill", "node-drain", "zone-outage", "scale"}
	if !slices.Equal(names, want) {
		t.Errorf("FaultKinds: %v, want %v", names, want)
	}
	if want := []string{"kill", "stop", "restart", "pause"}; !slices.Equal(containers, want) {
		t.Errorf("container kinds %v, want %v", containers, want)
	}
	if want := []string{"pod-kill", "node-drain", "zone-outage", "scale"}; !slices.Equal(kubernetes, want) {
		t.Errorf("Kubernetes kinds %v, want %v", kubernetes, want)
	}
	if want := []string{"latency", "bandwidth", "slow_close", "slicer"}; !slices.Equal(slows, want) {
		t.Errorf("slowing kinds %v, want %v", slows, want)
	}
	wantUnits := map[string]string{
		"latency.latency": "ms", "latency.jitter": "ms", "bandwidth.rate": "KB/s", "slow_close.delay": "ms",
		"timeout.timeout": "ms", "reset_peer.timeout": "ms", "slicer.average_size": "bytes",
		"slicer.size_variation": "bytes", "slicer.delay": "us", "limit_data.bytes": "bytes",
	}
	if !reflect.DeepEqual(units, wantUnits) {
		t.Errorf("units %v, want %v", units, wantUnits)
	}
	if _, ok := LookupFaultKind("blackhole"); ok {
		t.Error("LookupFaultKind found an unknown kind")
	}
	if _, ok := LookupFaultKind(""); ok {
		t.Error("LookupFaultKind found the empty kind")
	}
}

// TestFaultKindsCopy checks a caller cannot change the table through what
// FaultKinds and LookupFaultKind return.
func TestFaultKindsCopy(t *testing.T) {
	ks := FaultKinds()
	ks[0].Name = "changed"
	ks[0].Attrs[0].Unit = UnitBytes
	k, _ := LookupFaultKind("latency")
	k.Attrs[1].Unit = UnitBytes
	if k := FaultKinds()[0]; k.Name != "latency" || k.Attrs[0].Unit != UnitMillis || k.Attrs[1].Unit != UnitMillis {
		t.Fatalf("the table changed: %+v", k)
	}
}

// TestFaultKindTableIsTheSource adds a link kind and a container kind to
// the table and checks that decoding, validation, formatting and the JSON
// Schema all know them with no other change.
func TestFaultKindTableIsTheSource(t *testing.T) {
	saved := faultKinds
	t.Cleanup(func() { faultKinds = saved })
	faultKinds = append(slices.Clone(saved),
		FaultKind{Name: "blackhole", Doc: "drops the data", Attrs: []FaultAttr{
			{Name: "after", Unit: UnitMillis, Required: true, Doc: "drop the data after this long"},
			{Name: "burst", Unit: UnitBytes, Doc: "bytes let through first"},
		}},
		FaultKind{Name: "freeze", Container: true, Doc: "freezes the container's clock"},
	)

	const src = "name: t\nfaults:\n" +
		"  - {at: 1m, link: edge->router, toxic: blackhole, attributes: {after: 2s, burst: 100}}\n" +
		"  - {at: 1m, target: db, toxic: freeze}\n"
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	if got := s.Faults[0].Attributes; !reflect.DeepEqual(got, map[string]int64{"after": 2000, "burst": 100}) {
		t.Errorf("attributes %v (after in milliseconds)", got)
	}
	if s.Faults[0].IsContainer() || !s.Faults[1].IsContainer() {
		t.Errorf("IsContainer: %v %v", s.Faults[0].IsContainer(), s.Faults[1].IsContainer())
	}
	if y := string(s.YAML()); !strings.Contains(y, "after: 2s") || !strings.Contains(y, "toxic: freeze") {
		t.Errorf("YAML does not write the new kinds:\n%s", y)
	}

	for _, c := range []struct{ src, want string }{
		{"faults: [{at: 1m, link: edge->router, toxic: blackhole}]\n",
			"faults[0].attributes.after: required by toxic blackhole: drop the data after this long"},
		{"faults: [{at: 1m, link: edge->router, toxic: blackhole, attributes: {aftr: 1s}}]\n",
			`unknown attribute for toxic blackhole (did you mean "after"?)`},
		{"faults: [{at: 1m, link: edge->router, toxic: freeze}]\n",
			"freeze is a container fault: name the container with target, not link"},
		{"faults: [{at: 1m, target: db, toxic: latency, attributes: {latency: 1s}}]\n",
			"only container faults (kill, stop, restart, pause, freeze) and Kubernetes faults (pod-kill, node-drain, scale) name a target"},
		{"faults: [{at: 1m, link: edge->router, toxic: nope}]\n",
			"(one of latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, down, kill, stop, restart, pause, pod-kill, node-drain, zone-outage, scale, blackhole, freeze)"},
	} {
		_, errs := Check("x.yaml", []byte(c.src))
		if !strings.Contains(errs.Error(), c.want) {
			t.Errorf("%q: errors %q, want one containing %q", c.src, errs, c.want)
		}
	}

	b, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			Fault struct {
				Properties struct {
					Toxic struct {
						Enum        []string `json:"enum"`
						Description string   `json:"description"`
					} `json:"toxic"`
					Target struct {
						Description string `json:"description"`
					} `json:"target"`
					Attributes struct {
						Properties map[string]json.RawMessage `json:"properties"`
					} `json:"attributes"`
				} `json:"properties"`
				AllOf []json.RawMessage `json:"allOf"`
			} `json:"fault"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	f := schema.Defs.Fault
	if !slices.Contains(f.Properties.Toxic.Enum, "blackhole") || !slices.Contains(f.Properties.Toxic.Enum, "freeze") {
		t.Errorf("toxic enum %v", f.Properties.Toxic.Enum)
	}
	if d := f.Properties.Toxic.Description; !strings.Contains(d, "limit_data, blackhole (toxiproxy's toxics)") ||
		!strings.Contains(d, "container fault: kill, stop, restart, pause, freeze (--runtime docker)") {
		t.Errorf("toxic description %q", d)
	}
	if d := f.Properties.Target.Description; !strings.HasPrefix(d, "For container faults (kill, stop, restart, pause, freeze):") {
		t.Errorf("target description %q", d)
	}
	if _, ok := f.Properties.Attributes.Properties["after"]; !ok {
		t.Errorf("attributes %v lack after", f.Properties.Attributes.Properties)
	}
	var rules bytes.Buffer
	for _, r := range f.AllOf {
		if err := json.Compact(&rules, r); err != nil {
			t.Fatal(err)
		}
	}
	if r := rules.String(); !strings.Contains(r, `{"const":"blackhole"}`) || !strings.Contains(r, `"pause","freeze"]`) ||
		!strings.Contains(r, `"propertyNames":{"enum":["after","burst"]},"required":["after"]`) {
		t.Errorf("the fault's rules do not name the new kinds: %s", r)
	}
}
