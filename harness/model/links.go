package model

import (
	"math/rand"
	"time"

	"paydrill/scenarios"
)

// The link toxics the model applies exactly, per request: a request that
// crosses a link while a toxic acts on it (upstream: the request, when it
// is sent; downstream: the answer, when it comes back) meets it.
const (
	toxicDown    = "down"
	toxicLatency = "latency"
	toxicTimeout = "timeout"
)

// linkFault is one toxic on one link, in model seconds.
type linkFault struct {
	start, end float64
	toxic      string
	upstream   bool    // latency and timeout act on one direction
	delay      float64 // latency: the delay
	jitter     float64 // latency: ± this, uniformly
	closeAfter float64 // timeout: the connection closes after this; 0: held open
}

// effect is what a request (or answer) crossing a link meets.
type effect struct {
	down       bool    // refused, or cut: the caller gets an error at once
	blackhole  bool    // held: nothing arrives
	closeAfter float64 // blackhole: the caller gets an error after this; 0: only its own timeout ends it
	delay      float64 // latency added
}

// links holds the toxics by link name.
type links struct {
	by  map[string][]linkFault
	rng *rand.Rand // latency jitter
}

func newLinks(seed int64) *links {
	return &links{by: map[string][]linkFault{}, rng: rand.New(rand.NewSource(seed ^ 0x11a4))}
}

func (l *links) add(name string, f linkFault) { l.by[name] = append(l.by[name], f) }

// cross is what crossing the links named (a link and its group) at t in
// one direction meets; toxics on both add up.
func (l *links) cross(t float64, upstream bool, names ...string) effect {
	var e effect
	for _, n := range names {
		for _, f := range l.by[n] {
			if t < f.start || t >= f.end {
				continue
			}
			switch f.toxic {
			case toxicDown:
				e.down = true
			case toxicLatency:
				if f.upstream == upstream {
					d := f.delay
					if f.jitter > 0 {
						d += (2*l.rng.Float64() - 1) * f.jitter
					}
					e.delay += max(d, 0)
				}
			case toxicTimeout:
				if f.upstream == upstream {
					e.blackhole = true
					if f.closeAfter > 0 && (e.closeAfter == 0 || f.closeAfter < e.closeAfter) {
						e.closeAfter = f.closeAfter
					}
				}
			}
		}
	}
	return e
}

// millis reads a toxic's attribute in milliseconds as model seconds.
func millis(f scenarios.Fault, name string) float64 {
	return (time.Duration(f.Attributes[name]) * time.Millisecond).Seconds()
}
