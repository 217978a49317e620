package gslb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"paydrill/sim/dyno"
	"paydrill/sim/router"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

// region starts a region: a router over one dyno named name, over b.
func region(t *testing.T, b simtest.Backend, name string) (*router.Router, string) {
	t.Helper()
	_, d := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Name = name })
	c := router.DefaultConfig()
	c.Dynos = []string{d.URL()}
	rt := simtest.Must[*router.Router](t)(router.New(c))
	return rt, simtest.Serve(t, rt).URL()
}

func start(t *testing.T, change func(*Config)) (*GSLB, *service.Server) {
	t.Helper()
	c := DefaultConfig()
	c.Active = "primary"
	change(&c)
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return g, simtest.Serve(t, g)
}

// send posts n orders through the gslb and counts the regions that
// answered them, by X-Paydrill-Region and status.
func send(t *testing.T, base, prefix string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		a := simtest.PostOrder(base, id, simtest.Order(id, 100))
		if a.Err != nil {
			t.Fatalf("order %s: %v", id, a.Err)
		}
		seen[fmt.Sprintf("%s %d", a.Header.Get(wire.HeaderRegion), a.Status)]++
	}
	return seen
}

func put(t *testing.T, url string, v any) int {
	t.Helper()
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestOrdersGoToTheActiveRegionAndFollowAManualSwitch(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	_, p := region(t, b, "p")
	_, s := region(t, b, "s")
	g, srv := start(t, func(c *Config) {
		c.Regions = map[string]string{"primary": p, "standby": s}
		c.TTL = 0
	})
	if got := send(t, srv.URL(), "a", 5); got["primary 201"] != 5 {
		t.Fatalf("before the switch: %v, want 5 orders created by primary", got)
	}
	if code := put(t, srv.URL()+wire.PathGSLBActive, wire.GSLBSwitch{Region: "nowhere"}); code != http.StatusNotFound {
		t.Fatalf("switch to an unknown region: %d, want 404", code)
	}
	if code := put(t, srv.URL()+wire.PathGSLBActive, wire.GSLBSwitch{Region: "standby", Reason: "drill"}); code != http.StatusOK {
		t.Fatalf("switch: %d", code)
	}
	if got := send(t, srv.URL(), "b", 5); got["standby 201"] != 5 {
		t.Fatalf("after the switch: %v, want 5 orders created by standby", got)
	}
	ev := g.Events()
	if len(ev) != 1 || ev[0].What != wire.GSLBSwitched || ev[0].From != "primary" || ev[0].Region != "standby" || ev[0].Reason != "drill" {
		t.Fatalf("events %+v, want one switch primary→standby for the drill", ev)
	}
	var exported []wire.GSLBEvent = simtest.Fetch[wire.GSLBEvent](t, srv.URL()+wire.PathExport)
	if len(exported) != 1 {
		t.Fatalf("export %+v, want the switch", exported)
	}
}

func TestTheOldRegionsShareFallsLinearlyOverTheTTL(t *testing.T) {
	g := &GSLB{cfg: Config{TTL: wire.Duration(time.Minute)}, active: "standby", previous: "primary"}
	g.rng = newRand(7)
	t0 := time.Now()
	g.switchedAt = t0
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{0, 1}, {15 * time.Second, 0.75}, {30 * time.Second, 0.5}, {45 * time.Second, 0.25}} {
		old := 0
		const n = 4000
		for range n {
			if g.pick(t0.Add(tc.at)) == "primary" {
				old++
			}
		}
		if got := float64(old) / n; got < tc.want-0.04 || got > tc.want+0.04 {
			t.Errorf("%s after the switch: %.3f of orders to the old region, want %.2f", tc.at, got, tc.want)
		}
	}
	if r := g.pick(t0.Add(time.Minute)); r != "standby" || g.previous != "" {
		t.Errorf("after the ttl: %s (previous %q), want every order to standby", r, g.previous)
	}
}

func TestAutoModeSwitchesAwayFromAnUnhealthyRegion(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	prt, p := region(t, b, "p")
	_, s := region(t, b, "s")
	g, srv := start(t, func(c *Config) {
		c.Regions = map[string]string{"primary": p, "standby": s}
		c.Mode, c.Interval, c.Failures, c.TTL = ModeAuto, wire.Duration(20*time.Millisecond), 3, 0
	})
	simtest.Eventually(t, 5*time.Second, "both regions checked ready", func() bool {
		st := g.State()
		return st.Ready["primary"] && st.Ready["standby"]
	})
	if st := g.State(); st.Active != "primary" || st.Unhealthy {
		t.Fatalf("healthy primary: %+v", st)
	}
	// An empty pool makes the primary's router not ready.
	if err := prt.SetDynos(nil); err != nil {
		t.Fatal(err)
	}
	simtest.Eventually(t, 5*time.Second, "the switch to standby", func() bool { return g.State().Active == "standby" })
	var whats []string
	for _, e := range g.Events() {
		whats = append(whats, e.What)
	}
	if strings.Join(whats, ",") != "unhealthy,switched" {
		t.Fatalf("events %v, want unhealthy then switched", whats)
	}
	if got := send(t, srv.URL(), "c", 3); got["standby 201"] != 3 {
		t.Fatalf("after the auto switch: %v", got)
	}
}

func TestManualModeReportsButDoesNotSwitch(t *testing.T) {
	_, s := region(t, simtest.StartBackend(t, 0), "s")
	g, srv := start(t, func(c *Config) {
		c.Regions = map[string]string{"primary": simtest.ClosedURL(t), "standby": s}
		c.Interval, c.Failures, c.CheckTimeout = wire.Duration(20*time.Millisecond), 2, wire.Duration(time.Second)
	})
	simtest.Eventually(t, 5*time.Second, "the primary unhealthy", func() bool { return g.State().Unhealthy })
	if st := g.State(); st.Active != "primary" || !st.Ready["standby"] || st.Ready["primary"] {
		t.Fatalf("manual gslb with a dead primary: %+v, want primary still active", st)
	}
	// Its readiness is the active region's: a replayer waiting for
	// production waits.
	var body map[string]string
	if code := simtest.GetJSON(t, srv.URL()+wire.PathReadyz, &body); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the active region dead: %d, want 503", code)
	}
	g.Switch("standby", "test")
	if code := simtest.GetJSON(t, srv.URL()+wire.PathReadyz, &body); code != http.StatusOK || body["region"] != "standby" {
		t.Fatalf("/readyz with a ready standby active: %d %v, want 200 from standby", code, body)
	}
}

func TestARegionThatDoesNotExistYetRefusesUntilItsURLIsSet(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	_, p := region(t, b, "p")
	_, s := region(t, b, "s")
	g, srv := start(t, func(c *Config) {
		c.Regions = map[string]string{"primary": p, "standby": ""}
		c.TTL = 0
	})
	if code := put(t, srv.URL()+wire.PathGSLBActive, wire.GSLBSwitch{Region: "standby"}); code != http.StatusOK {
		t.Fatalf("switch: %d", code)
	}
	a := simtest.PostOrder(srv.URL(), "x", simtest.Order("x", 100))
	if a.Status != http.StatusServiceUnavailable || a.ErrorText() != ErrNotProvisioned {
		t.Fatalf("order to a standby not provisioned: %d %q, want 503 %q", a.Status, a.ErrorText(), ErrNotProvisioned)
	}
	if code := put(t, srv.URL()+wire.PathGSLBRegions+"standby", wire.GSLBRegion{URL: s}); code != http.StatusOK {
		t.Fatalf("set region: %d", code)
	}
	if st := g.State(); !st.Ready["standby"] {
		t.Fatalf("a region checked when its URL is set: %+v, want ready at once", st)
	}
	if got := send(t, srv.URL(), "y", 2); got["standby 201"] != 2 {
		t.Fatalf("after provisioning: %v", got)
	}
}

func TestValidateNamesEveryBadFlag(t *testing.T) {
	c := Config{Regions: map[string]string{"primary": "nope"}, Active: "east", Mode: "sometimes", Failures: 0, TTL: -1}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, flag := range []string{"--regions", "--active", "--mode", "--interval", "--check-timeout", "--failures", "--ttl"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("error %q does not name %s", err, flag)
		}
	}
}
