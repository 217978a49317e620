package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// links are the links a toxic may name (besides router->dyno[i], one dyno,
// 1-based). Every one passes through a toxiproxy proxy.
var links = []string{
	"edge->router", "router->dyno", "dyno->gateway", "dyno->db", "edge->capture",
	"replayer->router", "reconciler->gateway",
}

// targets are the container roles a container fault may name (besides
// dyno[i]); dyno alone means every dyno. A Kubernetes fault names the
// same roles (their Deployments' pods).
var targets = []string{"edge", "router", "dyno", "gateway", "db", "capture", "replayer", "reconciler"}

// statefulRoles are the roles with a store of their own: a scale fault
// takes them to 0 or 1 replica only, as a second replica would keep a
// second store (a second ledger, a second order db) the checker never
// reads.
var statefulRoles = []string{"gateway", "db", "capture", "replayer", "reconciler"}

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

// IsContainer reports whether f is a container fault (kill, stop, restart,
// pause: a FaultKind with Container set), which names a Target instead of a
// Link.
func (f Fault) IsContainer() bool {
	k, ok := lookupKind(f.Toxic)
	return ok && k.Container
}

// IsKubernetes reports whether f is a Kubernetes fault (pod-kill,
// node-drain, zone-outage, scale: a FaultKind with Kubernetes set), which
// names a Target or a Zone instead of a Link.
func (f Fault) IsKubernetes() bool {
	k, ok := lookupKind(f.Toxic)
	return ok && k.Kubernetes
}

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
	switch {
	case f.IsContainer():
		where = f.Target
	case f.IsKubernetes():
		where = f.Target
		if where == "" && f.Zone != "" {
			where = "zone " + f.Zone
		}
		if k, _ := lookupKind(f.Toxic); k.Replicas {
			where += fmt.Sprintf(" to %d replicas", f.Replicas)
		}
	}
	return fmt.Sprintf("%s on %s at %s", f.Toxic, where, FormatDuration(f.At))
}

// Units of fault attributes (FaultAttr.Unit): how a value is written in a
// scenario file and held in Fault.Attributes, which are toxiproxy's units.
const (
	UnitMillis = "ms"    // a Go duration (500ms), held in milliseconds
	UnitMicros = "us"    // a Go duration, held in microseconds
	UnitBytes  = "bytes" // an integer number of bytes
	UnitKBps   = "KB/s"  // an integer, kilobytes per second
)

// FaultKind is one kind of fault a scenario may schedule: the value of a
// fault's toxic key. FaultKinds lists them all, and the package reads
// everything it knows about a kind from that one table (decoding,
// validation, formatting, the JSON Schema and its descriptions), but for
// three rules of single kinds: down takes no stream, a slicer's
// size_variation must be below its average_size, and a scale fault takes
// a role with a store of its own to 0 or 1 replica only.
type FaultKind struct {
	Name       string      // the toxic key's value: "latency", "down", "kill", "pod-kill"...
	Container  bool        // acts on a container (names a target; docker runtime only), not on a link
	Kubernetes bool        // acts on the cluster through its API: pods, nodes, zones, replicas (names a target or a zone; kubernetes runtime only), not on a link
	Slows      bool        // delays or throttles the data (latency, bandwidth, slicer, slow_close): a link with it no longer answers in a known time
	Doc        string      // what the fault does, in a few words (down's is quoted by the JSON Schema)
	Attrs      []FaultAttr // its attributes, with toxiproxy's names and units; none for down, container and Kubernetes faults

	// What a Kubernetes fault names (Kubernetes kinds only).
	Target   string // TargetInstance (a role, or one instance: dyno[2]), TargetRole (a role only), or "" (no target)
	Zone     bool   // it may name a zone (a, b, c): instead of a target when it has one, else it must
	Replicas bool   // it takes replicas (required)
	NoLift   bool   // nothing is undone when it ends (a killed pod is replaced at once), so it takes no for
}

// What a Kubernetes fault's target may name (FaultKind.Target).
const (
	TargetRole     = "role"     // a role: every instance of it (dyno, gateway...)
	TargetInstance = "instance" // a role, or one instance of it (dyno[2])
)

// FaultAttr is one attribute of a FaultKind.
type FaultAttr struct {
	Name     string // toxiproxy's name of the attribute: "latency", "rate"...
	Unit     string // UnitMillis, UnitMicros, UnitBytes or UnitKBps
	Required bool   // a fault of the kind must give it
	Doc      string // what it means, in a few words
}

// IsDuration reports whether a is a duration (UnitMillis or UnitMicros):
// model time, which a run divides by its speed (and UnitKBps rates it
// multiplies by it).
func (a FaultAttr) IsDuration() bool { return a.Unit == UnitMillis || a.Unit == UnitMicros }

// Attr returns k's attribute called name.
func (k FaultKind) Attr(name string) (FaultAttr, bool) {
	for _, a := range k.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return FaultAttr{}, false
}

// faultDown is the link fault that is not a toxiproxy toxic: the link
// refuses connections, both ways, and takes no stream.
const faultDown = "down"

// faultKinds is the table of fault kinds: the link faults (toxiproxy's
// toxics, then down), then the container faults, then the Kubernetes
// faults.
var faultKinds = []FaultKind{
	{Name: "latency", Slows: true, Doc: "adds a delay to the data", Attrs: []FaultAttr{
		{"latency", UnitMillis, true, "delay added to the data"},
		{"jitter", UnitMillis, false, "random variation of the delay, ±"},
	}},
	{Name: "bandwidth", Slows: true, Doc: "limits the bandwidth", Attrs: []FaultAttr{
		{"rate", UnitKBps, true, "bandwidth limit"},
	}},
	{Name: "slow_close", Slows: true, Doc: "delays closing the connection", Attrs: []FaultAttr{
		{"delay", UnitMillis, true, "delay before the connection is closed"},
	}},
	{Name: "timeout", Doc: "stops all data, and closes the connection after a timeout", Attrs: []FaultAttr{
		{"timeout", UnitMillis, false, "stop all data and close the connection after this long; 0 (the default) holds it open until the fault ends"},
	}},
	{Name: "reset_peer", Doc: "resets the connection (TCP RST)", Attrs: []FaultAttr{
		{"timeout", UnitMillis, false, "reset the connection (TCP RST) after this long; 0: at once"},
	}},
	{Name: "slicer", Slows: true, Doc: "slices the data into small bits, with a delay between them", Attrs: []FaultAttr{
		{"average_size", UnitBytes, true, "average size of a slice"},
		{"size_variation", UnitBytes, false, "variation of the slice size (less than average_size)"},
		{"delay", UnitMicros, false, "delay between slices"},
	}},
	{Name: "limit_data", Doc: "closes the connection after a number of bytes", Attrs: []FaultAttr{
		{"bytes", UnitBytes, true, "close the connection after this many bytes"},
	}},
	{Name: faultDown, Doc: "the link refuses connections"},
	{Name: "kill", Container: true, Doc: "kills the container (SIGKILL); it starts again when the fault ends"},
	{Name: "stop", Container: true, Doc: "stops the container; it starts again when the fault ends"},
	{Name: "restart", Container: true, Doc: "restarts the container"},
	{Name: "pause", Container: true, Doc: "freezes the container until the fault ends"},
	{Name: "pod-kill", Kubernetes: true, Target: TargetInstance, NoLift: true,
		Doc: "deletes the target's pods (a role's every pod, or one instance's); their controller replaces them"},
	{Name: "node-drain", Kubernetes: true, Target: TargetRole, Zone: true,
		Doc: "cordons and drains the nodes running the target role's pods, or every node of a zone, evicting their pods as the disruption budgets allow; uncordoned when the fault ends"},
	{Name: "zone-outage", Kubernetes: true, Zone: true,
		Doc: "makes every node of a zone unavailable, its pods with them; the zone comes back when the fault ends"},
	{Name: "scale", Kubernetes: true, Target: TargetRole, Replicas: true,
		Doc: "sets the target role's replica count; scaled back when the fault ends"},
}

// FaultKinds returns every fault kind, in a stable order: the link toxics,
// then down, then the container faults kill, stop, restart, pause, then
// the Kubernetes faults pod-kill, node-drain, zone-outage, scale. The
// result is a copy: changing it does not change the table.
func FaultKinds() []FaultKind {
	out := slices.Clone(faultKinds)
	for i := range out {
		out[i].Attrs = slices.Clone(out[i].Attrs)
	}
	return out
}

// LookupFaultKind returns the fault kind called name (a fault's toxic).
func LookupFaultKind(name string) (FaultKind, bool) {
	k, ok := lookupKind(name)
	k.Attrs = slices.Clone(k.Attrs)
	return k, ok
}

// lookupKind is LookupFaultKind sharing the table's Attrs, for reading.
func lookupKind(name string) (FaultKind, bool) {
	for _, k := range faultKinds {
		if k.Name == name {
			return k, true
		}
	}
	return FaultKind{}, false
}

// faultKindNames returns, in order, the names of the fault kinds for which
// keep is true (every kind when keep is nil).
func faultKindNames(keep func(FaultKind) bool) []string {
	var out []string
	for _, k := range faultKinds {
		if keep == nil || keep(k) {
			out = append(out, k.Name)
		}
	}
	return out
}

func isContainerKind(k FaultKind) bool { return k.Container }

func isKubernetesKind(k FaultKind) bool { return k.Kubernetes }

func isLinkKind(k FaultKind) bool { return !k.Container && !k.Kubernetes }

// attrNames returns the names of k's attributes, or nil.
func attrNames(k FaultKind) []string {
	var out []string
	for _, a := range k.Attrs {
		out = append(out, a.Name)
	}
	return out
}

// attrOf returns the attribute name of the fault kind toxic.
func attrOf(toxic, name string) (FaultAttr, bool) {
	k, _ := lookupKind(toxic)
	return k.Attr(name)
}

// formatAttr writes an attribute held in toxiproxy's units as YAML would.
func formatAttr(a FaultAttr, v int64) any {
	switch a.Unit {
	case UnitMillis:
		return FormatDuration(time.Duration(v) * time.Millisecond)
	case UnitMicros:
		return FormatDuration(time.Duration(v) * time.Microsecond)
	}
	return v
}
