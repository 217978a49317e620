package router

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
)

// Strategy picks the dyno for one request, the way a routing layer does.
// Implementations must be safe for concurrent use.
type Strategy interface {
	// Pick returns the index of the chosen dyno. inflight holds, for each
	// dyno of the pool, the requests this router has sent it that have
	// not been answered yet; it is never empty.
	Pick(inflight []int64) int
}

// NewStrategy makes a Strategy; seed is the only source of its randomness.
type NewStrategy func(seed int64) Strategy

var strategies = map[string]NewStrategy{}

// register adds a strategy by name; each strategy's file calls it in init.
func register(name string, f NewStrategy) { strategies[name] = f }

// NewNamed makes the strategy registered under name, seeded with seed: the
// one constructor of the router and of anything that routes as it does
// (the model runtime's discrete-event router).
func NewNamed(name string, seed int64) (Strategy, error) {
	f, ok := strategies[name]
	if !ok {
		return nil, fmt.Errorf("unknown routing strategy %q (one of %s)", name, strings.Join(Strategies(), ", "))
	}
	return f(seed), nil
}

// Strategies lists the registered strategy names, sorted.
func Strategies() []string {
	names := make([]string, 0, len(strategies))
	for n := range strategies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lockedRand is a seeded source safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed int64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewSource(seed))}
}

// Intn returns a number in [0, n).
func (l *lockedRand) Intn(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Intn(n)
}

// pair returns two distinct numbers in [0, n), n >= 2.
func (l *lockedRand) pair(n int) (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.r.Intn(n)
	b := l.r.Intn(n - 1)
	if b >= a {
		b++
	}
	return a, b
}
