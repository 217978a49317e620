package harness

import (
	"slices"
	"testing"

	"paydrill/harness/fault"
	"paydrill/scenarios"
)

// Only the links a fault names get a toxiproxy relay; --proxy-all puts
// every link through one; a container fault needs none.
func TestOnlyFaultedLinksAreProxied(t *testing.T) {
	s := scenarios.Default()
	s.System.Dynos.Count = 3
	s.Faults = []scenarios.Fault{
		{Link: "edge->router", Toxic: "down", At: 1, For: 1},
		{Link: "router->dyno[2]", Toxic: "latency", At: 1, For: 1, Attributes: map[string]int64{"latency": 5}},
		{Target: "capture", Toxic: "kill", At: 1, For: 1},
	}
	p, err := NewPlan(&s, "proxied")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Proxied(), []string{"edge->router", "router->dyno[2]"}; !slices.Equal(got, want) {
		t.Errorf("proxied %v, want %v", got, want)
	}
	if p.Proxies("dyno->db") || p.Proxies("router->dyno[1]") || !p.Proxies("router->dyno[2]") {
		t.Errorf("Proxies disagrees with Proxied %v", p.Proxied())
	}
	p.Faults = append(p.Faults, fault.Plan{Link: "router->dyno", Toxic: "down"})
	if got := ProxiedSummary(p.Proxied(), p.Dynos); !slices.Equal(got, []string{"edge->router", "router->dyno"}) {
		t.Errorf("every dyno's link faulted: summary %v, want edge->router and router->dyno", got)
	}
	p.ProxyEvery = true
	if got := p.Proxied(); !slices.Equal(got, AllLinks(3)) || len(got) != 9 {
		t.Errorf("proxy all: %v, want all 9 links", got)
	}
}
