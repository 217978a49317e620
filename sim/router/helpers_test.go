package router_test

import (
	"fmt"
	"net/http"
	"testing"

	"paydrill/sim/dyno"
	"paydrill/sim/router"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

// startRouter starts a router over dynos with the given strategy.
func startRouter(t testing.TB, strategy string, seed int64, dynos ...string) (*router.Router, *service.Server) {
	t.Helper()
	c := router.DefaultConfig()
	c.Strategy, c.Seed, c.Dynos = strategy, seed, dynos
	rt, err := router.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return rt, simtest.Serve(t, rt)
}

// startDynos starts n dynos named d0..d(n-1) on b.
func startDynos(t testing.TB, b simtest.Backend, n int, change func(i int, c *dyno.Config)) []string {
	t.Helper()
	var urls []string
	for i := range n {
		_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) {
			c.Name = fmt.Sprintf("d%d", i)
			if change != nil {
				change(i, c)
			}
		})
		urls = append(urls, srv.URL())
	}
	return urls
}

// visits sends n orders one after the other and returns the dyno that
// answered each.
func visits(t testing.TB, base, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		a := simtest.PostOrder(base, id, simtest.Order(id, 100))
		if a.Err != nil || a.Status != http.StatusCreated {
			t.Fatalf("order %s: %d %s %v", id, a.Status, a.Body, a.Err)
		}
		out = append(out, a.Header.Get(wire.HeaderDyno))
	}
	return out
}
