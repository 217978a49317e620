package model_test

import (
	"context"
	"testing"

	"paydrill/harness"
	"paydrill/harness/model"
	"paydrill/scenarios"
)

// BenchmarkThousandDynosTenMinutes is DESIGN.md's figure for the model
// runtime: a ten-minute scenario of 1,000 dynos at 200 orders a second
// (120,000 orders, random routing, the default service and gateway
// times), which must take well under a second of wall time on one core:
//
//	go test -run - -bench ThousandDynos -cpu 1 ./harness/model
func BenchmarkThousandDynosTenMinutes(b *testing.B) {
	s, err := scenarios.Builtin("baseline")
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range map[string]string{"dynos.count": "1000", "load.rate": "200/s", "duration": "10m", "expect": "[]"} {
		if err := s.Set(k, v); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		r, err := harness.RunScenario(context.Background(), s, "bench", harness.Options{Runtime: model.Runtime{}, Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if r.Orders.Sent != 120000 {
			b.Fatalf("%d orders sent, want 120000", r.Orders.Sent)
		}
	}
}
