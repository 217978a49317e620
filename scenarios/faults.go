package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Links are the links a toxic may name (besides router->dyno[i], one dyno,
// 1-based). Every one passes through a toxiproxy proxy.
var links = []string{
	"edge->router", "router->dyno", "dyno->gateway", "dyno->db", "edge->capture",
	"replayer->router", "reconciler->gateway",
}

// Links returns every link name a fault may break with dynos dynos:
// router->dyno means all of them, router->dyno[1] … router->dyno[dynos] one.
func Links(dynos int) []string {
	out := append([]string(nil), links...)
	for i := 1; i <= dynos; i++ {
		out = append(out, fmt.Sprintf("router->dyno[%d]", i))
	}
	return out
}

// Targets are the container roles a container fault may name (besides
// dyno[i]); dyno alone means every dyno.
var targets = []string{"edge", "router", "dyno", "gateway", "db", "capture", "replayer", "reconciler"}

// Targets returns every container a container fault may name with dynos dynos.
func Targets(dynos int) []string {
	out := append([]string(nil), targets...)
	for i := 1; i <= dynos; i++ {
		out = append(out, fmt.Sprintf("dyno[%d]", i))
	}
	return out
}

// SplitIndex splits "router->dyno[3]" into ("router->dyno", 3) and
// "dyno[2]" into ("dyno", 2); a name without an index comes back with 0.
// A malformed index ("dyno[x]", "dyno[0]") gives index -1.
func SplitIndex(name string) (base string, index int) {
	open := strings.LastIndexByte(name, '[')
	if open < 0 || !strings.HasSuffix(name, "]") {
		return name, 0
	}
	n, err := strconv.Atoi(name[open+1 : len(name)-1])
	if err != nil || n < 1 || strings.HasPrefix(name[open+1:], "+") {
		return name[:open], -1
	}
	return name[:open], n
}

// containerFaults are the toxics that act on a container, not a link.
var containerFaults = map[string]bool{"kill": true, "stop": true, "restart": true, "pause": true}

// IsContainer reports whether f is a container fault (kill, stop, restart,
// pause), which names a Target instead of a Link.
func (f Fault) IsContainer() bool { return containerFaults[f.Toxic] }

// End returns when f stops, given the run's duration: At+For, or the end of
// the run when For is 0 (and never later than the end).
func (f Fault) End(runDuration time.Duration) time.Duration {
	if f.For <= 0 || f.At+f.For > runDuration {
		return runDuration
	}
	return f.At + f.For
}

// Label returns f's name, or a description of it when it has none:
// "timeout on dyno->gateway at 1m".
func (f Fault) Label() string {
	if f.Name != "" {
		return f.Name
	}
	where := f.Link
	if f.IsContainer() {
		where = f.Target
	}
	return fmt.Sprintf("%s on %s at %s", f.Toxic, where, FormatDuration(f.At))
}

// Attribute units.
const (
	unitMillis = "ms"    // a Go duration, held in milliseconds
	unitMicros = "us"    // a Go duration, held in microseconds
	unitBytes  = "bytes" // an integer
	unitKBps   = "KB/s"  // an integer, kilobytes per second
)

// attrSpec is one attribute of a toxic.
type attrSpec struct {
	name     string
	unit     string
	required bool
	doc      string
}

// toxicAttrs lists the attributes of every link toxic (toxiproxy's names and
// units); down and the container faults take none.
var toxicAttrs = map[string][]attrSpec{
	"latency": {
		{"latency", unitMillis, true, "delay added to the data"},
		{"jitter", unitMillis, false, "random variation of the delay, ±"},
	},
	"bandwidth":  {{"rate", unitKBps, true, "bandwidth limit"}},
	"slow_close": {{"delay", unitMillis, true, "delay before the connection is closed"}},
	"timeout": {
		{"timeout", unitMillis, false, "stop all data and close the connection after this long; 0 (the default) holds it open until the fault ends"},
	},
	"reset_peer": {{"timeout", unitMillis, false, "reset the connection (TCP RST) after this long; 0: at once"}},
	"slicer": {
		{"average_size", unitBytes, true, "average size of a slice"},
		{"size_variation", unitBytes, false, "variation of the slice size (less than average_size)"},
		{"delay", unitMicros, false, "delay between slices"},
	},
	"limit_data": {{"bytes", unitBytes, true, "close the connection after this many bytes"}},
	"down":       nil,
}

// toxicNames is the link toxics in a stable order.
var toxicNames = []string{"latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down"}

// ToxicAttributes returns the attribute names a link toxic accepts, or nil.
func ToxicAttributes(toxic string) []string {
	var out []string
	for _, a := range toxicAttrs[toxic] {
		out = append(out, a.name)
	}
	return out
}

func attrOf(toxic, name string) (attrSpec, bool) {
	for _, a := range toxicAttrs[toxic] {
		if a.name == name {
			return a, true
		}
	}
	return attrSpec{}, false
}

// formatAttr writes an attribute held in toxiproxy's units as YAML would.
func formatAttr(a attrSpec, v int64) any {
	switch a.unit {
	case unitMillis:
		return FormatDuration(time.Duration(v) * time.Millisecond)
	case unitMicros:
		return FormatDuration(time.Duration(v) * time.Microsecond)
	}
	return v
}
