package load

import (
	"paydrill/sim/dist"
	"testing"
)

func TestOrderSourceIsAFunctionOfSeedAndIndex(t *testing.T) {
	src := OrderSource{Seed: 7, Customers: 100, Amount: dist.Const{Value: 3500}}
	if src.Order(3) != src.Order(3) {
		t.Fatal("the same seed and index gave different orders")
	}
	other := OrderSource{Seed: 8, Customers: 100, Amount: dist.Const{Value: 3500}}
	if src.Order(3).RequestID == other.Order(3).RequestID {
		t.Fatal("different seeds gave the same request id")
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		o := src.Order(i)
		if seen[o.RequestID] || len(o.RequestID) != 32 {
			t.Fatalf("order %d: request id %q repeated or not 32 hex", i, o.RequestID)
		}
		seen[o.RequestID] = true
	}
}
