package simtest

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"paydrill/sim/dyno"
	"paydrill/sim/wire"
)

// benchClient keeps enough connections alive for a parallel benchmark.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
}

// BenchmarkDynoOrder is one dyno's order path, one order at a time: claim
// at the db, charge at the gateway, update at the db, no modelled time.
func BenchmarkDynoOrder(b *testing.B) {
	sys := startSystem(b, settings{
		dynos: 1, workers: 1, backlog: 10, dedupe: dyno.DedupeClaim, strategy: "random", failover: 15 * time.Second,
	})
	client := benchClient()
	base := sys.dynos[0].URL()
	o := wire.Order{Reference: "bench", Customer: "cus", AmountCents: 1234, CardToken: "tok"}
	for i := 0; b.Loop(); i++ {
		a, err := postOrder(client, base, "dyno-bench-"+strconv.Itoa(i), o)
		if err != nil || a.status != http.StatusCreated {
			b.Fatalf("order %d: %d %s %v", i, a.status, a.body, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkChain is the whole production path, in-process, no faults:
// client → edge → router → dyno → gateway + db, many clients at once.
func BenchmarkChain(b *testing.B) {
	sys := startSystem(b, settings{
		dynos: 2, workers: 8, backlog: 1000, dedupe: dyno.DedupeClaim, strategy: "least-conn", failover: 15 * time.Second,
	})
	client := benchClient()
	o := wire.Order{Reference: "bench", Customer: "cus", AmountCents: 1234, CardToken: "tok"}
	var seq, failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "chain-bench-" + strconv.FormatInt(seq.Add(1), 10)
			a, err := postOrder(client, sys.edge.URL(), id, o)
			if err != nil || a.status != http.StatusCreated || a.header.Get(wire.HeaderAnsweredBy) != wire.AnsweredByProduction {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	if n := failed.Load(); n > 0 {
		b.Errorf("%d of %d orders not answered 201 by production", n, b.N)
	}
}
