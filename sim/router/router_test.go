package router_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"paydrill/sim/dyno"
	"paydrill/sim/roles"
	"paydrill/sim/router"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

var _ roles.Config = (*router.Config)(nil)

func TestRoundRobinVisitsDynosInTurn(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	_, srv := startRouter(t, "round-robin", 0, startDynos(t, b, 3, nil)...)
	got := visits(t, srv.URL(), "rr", 7)
	want := []string{"d0", "d1", "d2", "d0", "d1", "d2", "d0"}
	if !slices.Equal(got, want) {
		t.Errorf("visited %v, want %v", got, want)
	}
}

// With d0 working on a long order, least-conn and p2c send new orders
// elsewhere; round-robin, blind, still sends d0 its share.
func TestBusyDynoIsAvoided(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		avoids   bool
	}{
		{"least-conn", true},
		{"p2c", true},
		{"round-robin", false},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			b := simtest.StartBackend(t, 0)
			dynos := startDynos(t, b, 3, func(i int, c *dyno.Config) {
				c.Workers = 4
				if i == 0 {
					c.ServiceTime = simtest.ConstSecs(time.Second)
				}
			})
			rt, srv := startRouter(t, tc.strategy, 5, dynos[0])
			slow := make(chan simtest.Answer, 1)
			go func() { slow <- simtest.PostOrder(srv.URL(), "slow", simtest.Order("slow", 100)) }()
			simtest.Eventually(t, 5*time.Second, "the slow order in flight at d0", func() bool { return rt.InFlight()[0] == 1 })
			if err := rt.SetDynos(dynos); err != nil {
				t.Fatal(err)
			}
			if got := rt.InFlight(); !slices.Equal(got, []int64{1, 0, 0}) {
				t.Fatalf("in flight after the pool grew: %v, want [1 0 0]", got)
			}
			got := visits(t, srv.URL(), "busy", 6)
			if sent := slices.Contains(got, "d0"); sent == tc.avoids {
				t.Errorf("visited %v while d0 was busy; want d0 avoided: %v", got, tc.avoids)
			}
			if a := <-slow; a.Status != http.StatusCreated {
				t.Errorf("slow order: %d %s", a.Status, a.Body)
			}
		})
	}
}

func TestRandomFollowsTheSeed(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	dynos := startDynos(t, b, 3, nil)
	run := func(seed int64, prefix string) []string {
		_, srv := startRouter(t, "random", seed, dynos...)
		return visits(t, srv.URL(), prefix, 20)
	}
	first, again, other := run(42, "a"), run(42, "b"), run(43, "c")
	if !slices.Equal(first, again) {
		t.Errorf("seed 42 twice gave\n%v\n%v", first, again)
	}
	if slices.Equal(first, other) {
		t.Errorf("seeds 42 and 43 gave the same %v", first)
	}
	seen := map[string]bool{}
	for _, d := range first {
		seen[d] = true
	}
	if len(seen) != 3 {
		t.Errorf("20 random picks over 3 dynos visited only %v", first)
	}
}

func TestP2CPicksTheLessBusyOfTwo(t *testing.T) {
	s := router.NewP2C(1)
	for range 200 {
		if i := s.Pick([]int64{4, 0}); i != 1 {
			t.Fatalf("of two dynos with 4 and 0 in flight, p2c picked %d", i)
		}
		if i := s.Pick([]int64{0, 9, 0}); i == 1 {
			t.Fatal("p2c picked the busiest of three: it always has a less busy one to compare with")
		}
	}
	if i := s.Pick([]int64{3}); i != 0 {
		t.Errorf("a pool of one: picked %d", i)
	}
}

func TestPutDynosReplacesThePool(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	dynos := startDynos(t, b, 2, nil)
	_, srv := startRouter(t, "random", 1, dynos[0])
	if got := visits(t, srv.URL(), "before", 3); !slices.Equal(got, []string{"d0", "d0", "d0"}) {
		t.Fatalf("visited %v before the change", got)
	}

	if status, body := put(t, srv.URL()+wire.PathDynos, []string{dynos[1]}); status != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", wire.PathDynos, status, body)
	}
	if got := visits(t, srv.URL(), "after", 3); !slices.Equal(got, []string{"d1", "d1", "d1"}) {
		t.Errorf("visited %v after the pool became [d1]", got)
	}
	var pool []string
	simtest.GetJSON(t, srv.URL()+wire.PathDynos, &pool)
	if !slices.Equal(pool, []string{dynos[1]}) {
		t.Errorf("GET %s: %v", wire.PathDynos, pool)
	}

	if status, _ := put(t, srv.URL()+wire.PathDynos, []string{"not a url"}); status != http.StatusBadRequest {
		t.Errorf("PUT of a bad URL: %d, want 400", status)
	}
	if got := visits(t, srv.URL(), "kept", 1); got[0] != "d1" {
		t.Errorf("a rejected PUT changed the pool: visited %v", got)
	}

	put(t, srv.URL()+wire.PathDynos, []string{})
	if got := simtest.GetJSON(t, srv.URL()+wire.PathReadyz, nil); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with no dyno: %d, want 503", got)
	}
	if a := simtest.PostOrder(srv.URL(), "none", simtest.Order("none", 1)); a.Status != http.StatusServiceUnavailable || a.ErrorText() != wire.ErrNoDyno {
		t.Errorf("order with no dyno: %d %s, want 503 no dyno", a.Status, a.Body)
	}
}

// Replacing the pool while orders flow loses none of them.
func TestPutDynosUnderLoad(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	dynos := startDynos(t, b, 2, nil)
	_, srv := startRouter(t, "least-conn", 1, dynos...)
	stop := make(chan struct{})
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		pools := [][]string{{dynos[0]}, {dynos[1]}, dynos}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			put(t, srv.URL()+wire.PathDynos, pools[i%len(pools)])
		}
	}()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 15 {
				id := fmt.Sprintf("load-%d-%d", g, i)
				if a := simtest.PostOrder(srv.URL(), id, simtest.Order(id, 100)); a.Status != http.StatusCreated {
					t.Errorf("order %s: %d %s %v", id, a.Status, a.Body, a.Err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-swapped
}

func TestDynoTooSlowIsRouterTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	b := simtest.StartBackend(t, 0)
	dynos := startDynos(t, b, 1, func(_ int, c *dyno.Config) { c.ServiceTime = simtest.ConstSecs(time.Second) })
	c := router.DefaultConfig()
	c.Dynos, c.Timeout = dynos, wire.Duration(timeout)
	rt, err := router.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := simtest.Serve(t, rt)
	a := simtest.PostOrder(srv.URL(), "slow", simtest.Order("slow", 100))
	if a.Status != http.StatusServiceUnavailable || a.ErrorText() != wire.ErrTimeout {
		t.Errorf("simtest.Answer %d %s, want 503 %q", a.Status, a.Body, wire.ErrTimeout)
	}
	if a.Elapsed > 700*time.Millisecond {
		t.Errorf("answered after %s, want about the %s router timeout", a.Elapsed, timeout)
	}
}

func TestUnreachableDynoIs503(t *testing.T) {
	_, srv := startRouter(t, "random", 1, simtest.ClosedURL(t))
	a := simtest.PostOrder(srv.URL(), "lost", simtest.Order("lost", 100))
	if a.Status != http.StatusServiceUnavailable || a.ErrorText() != router.ErrUnreachable {
		t.Errorf("simtest.Answer %d %s, want 503 %q", a.Status, a.Body, router.ErrUnreachable)
	}
}

// The request arrives at the dyno as sent, and its simtest.Answer comes back as
// the dyno gave it.
func TestProxyRelaysRequestAndAnswer(t *testing.T) {
	type seen struct {
		method, uri, id, custom string
		body                    []byte
	}
	got := make(chan seen, 1)
	echo := simtest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Header.Get(wire.HeaderRequestID), r.Header.Get("X-Custom"), body}
		w.Header().Set("X-Answer", "yes")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("short and stout"))
	}))
	_, srv := startRouter(t, "round-robin", 0, echo.URL())
	req, _ := http.NewRequest(http.MethodPatch, srv.URL()+"/orders/x?y=1", strings.NewReader(`{"a":1}`))
	req.Header.Set(wire.HeaderRequestID, "rid-1")
	req.Header.Set("X-Custom", "kept")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Answer") != "yes" || string(body) != "short and stout" {
		t.Errorf("simtest.Answer %d %v %q", resp.StatusCode, resp.Header, body)
	}
	s := <-got
	if s.method != http.MethodPatch || s.uri != "/orders/x?y=1" || s.id != "rid-1" || s.custom != "kept" || string(s.body) != `{"a":1}` {
		t.Errorf("the dyno saw %+v", s)
	}
}

func TestValidate(t *testing.T) {
	good := router.DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		change func(*router.Config)
		want   []string
	}{
		{func(c *router.Config) { c.Strategy = "fastest" }, []string{`--strategy: must be one of least-conn, p2c, random, round-robin, got "fastest"`}},
		{func(c *router.Config) { c.Timeout = 0 }, []string{"--timeout:"}},
		{func(c *router.Config) { c.Dynos = []string{"http://ok:1", "nope"} }, []string{`--dynos: "nope"`}},
		{func(c *router.Config) { c.Timeout, c.Strategy = -1, "" }, []string{"--timeout:", "--strategy:"}},
	} {
		c := good
		tc.change(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("want %q, got no error", tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
}

func TestFlags(t *testing.T) {
	c := router.DefaultConfig()
	fs := pflag.NewFlagSet("router", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"--dynos=http://a:1,http://b:2", "--strategy=p2c", "--timeout=3s", "--seed=9"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Dynos, []string{"http://a:1", "http://b:2"}) || c.Strategy != "p2c" || c.Timeout.D() != 3*time.Second || c.Seed != 9 {
		t.Errorf("flags gave %+v", c)
	}
}

func put(t testing.TB, url string, v any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// down is a dyno that can be taken down: while down, it answers every
// request 503 (its /readyz included), as a pod being evicted does.
type down struct {
	h    http.Handler
	down atomic.Bool
}

func (d *down) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	d.h.ServeHTTP(w, r)
}

// failures sends n orders one after the other and counts those not
// answered 201.
func failures(base, prefix string, n int) int {
	bad := 0
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if a := simtest.PostOrder(base, id, simtest.Order(id, 100)); a.Err != nil || a.Status != http.StatusCreated {
			bad++
		}
	}
	return bad
}

// With a readiness check the router stops sending orders to a dyno whose
// /readyz fails and sends them again once it passes; without one it keeps
// sending the dead dyno its share.
func TestReadinessCheckTakesAFailingDynoOutOfRotation(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	dynos := startDynos(t, b, 2, nil)
	d, _ := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Name = "d2" })
	flaky := &down{h: d}
	dynos = append(dynos, simtest.Serve(t, flaky).URL())

	c := router.DefaultConfig()
	c.Strategy, c.Seed, c.Dynos = "round-robin", 1, dynos
	c.ReadyCheck, c.ReadyFailures = wire.Duration(20*time.Millisecond), 2
	rt, err := router.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := simtest.Serve(t, rt)
	blind := startRouterT(t, dynos...)

	flaky.down.Store(true)
	simtest.Eventually(t, 10*time.Second, "d2 out of rotation", func() bool {
		return slices.Equal(rt.Ready(), []bool{true, true, false})
	})
	if n := failures(srv.URL(), "checked", 30); n != 0 {
		t.Errorf("with the readiness check, %d of 30 orders failed while d2 was down, want 0", n)
	}
	if n := failures(blind.URL(), "blind", 30); n != 10 {
		t.Errorf("without a readiness check, %d of 30 orders failed while d2 was down, want its round-robin share of 10", n)
	}

	flaky.down.Store(false)
	simtest.Eventually(t, 10*time.Second, "d2 back in rotation", func() bool {
		return slices.Equal(rt.Ready(), []bool{true, true, true})
	})
	got := visits(t, srv.URL(), "back", 3)
	if !slices.Contains(got, "d2") {
		t.Errorf("once d2 passed its check again, 3 orders in turn visited %v, want d2 among them", got)
	}
}

// With no dyno in rotation the router answers "no dyno" at once, without
// trying one, so the edge fails over.
func TestNoDynoInRotationIsNoDyno(t *testing.T) {
	b := simtest.StartBackend(t, 0)
	d, _ := simtest.StartDyno(t, b, nil)
	flaky := &down{h: d}
	flaky.down.Store(true)
	c := router.DefaultConfig()
	c.Dynos = []string{simtest.Serve(t, flaky).URL()}
	c.ReadyCheck, c.ReadyFailures = wire.Duration(10*time.Millisecond), 1
	rt, err := router.New(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := simtest.Serve(t, rt)
	simtest.Eventually(t, 10*time.Second, "the dyno out of rotation", func() bool { return !rt.Ready()[0] })
	a := simtest.PostOrder(srv.URL(), "o1", simtest.Order("o1", 100))
	if a.Status != http.StatusServiceUnavailable || a.ErrorText() != wire.ErrNoDyno {
		t.Errorf("an order with no dyno in rotation: %d %q, want 503 %q", a.Status, a.ErrorText(), wire.ErrNoDyno)
	}
}

// startRouterT starts a round-robin router without a readiness check.
func startRouterT(t *testing.T, dynos ...string) *service.Server {
	t.Helper()
	_, srv := startRouter(t, "round-robin", 1, dynos...)
	return srv
}
